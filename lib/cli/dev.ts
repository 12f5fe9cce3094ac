import { createServer } from 'node:net';
import { startLocalPipeline } from '../local/local-pipeline.ts';
import { defineCommand } from './command.ts';
import { CliError, UsageError } from './errors.ts';
import { loadDefinition } from './load-definition.ts';

/**
 * Worker threads all of the pipeline's functions share in `sluice dev`: one V8 heap for them all keeps a long-running
 * dev server under 300 MB (BENCHMARKS.md, "dev server memory"). Each function keeps its own module instance and
 * `process.env`; its concurrent invocations share its module state, and a timeout ends the worker with every
 * invocation in it (docs/local-fidelity.md).
 */
export const DEV_SHARED_WORKER_THREADS = 1;

/** `sluice dev`: the pipeline on this machine until Ctrl-C. */
export const devCommand = defineCommand({
  name: 'dev',
  summary: 'run the pipeline locally on embedded SQS and DynamoDB until Ctrl-C',
  description: [
    'Starts the SQS and DynamoDB engines (or uses AWS_ENDPOINT_URL, e.g. LocalStack), creates the queues and tables',
    "of the pipeline, serves its ingress and a dashboard, and runs each stage's handler as Lambda would.",
    '`npm start` runs it with heap caps (--max-old-space-size=256 --max-semi-space-size=2) that keep a long run under',
    '300 MB; pass them in NODE_OPTIONS when starting it another way.',
  ].join('\n'),
  options: {
    port: {
      type: 'string',
      short: 'p',
      value: 'N',
      description: 'port of the ingress (0 picks a free one)',
      default: '8080',
    },
    pipeline: {
      type: 'string',
      value: 'MODULE',
      description:
        "a module exporting 'pipeline' (a definePipeline result) and optionally 'acceptSchema' and 'resources'",
      default: 'the example pipeline',
    },
    data: {
      type: 'string',
      value: 'DIR',
      description: 'keep queues, messages and tables in this directory across restarts',
      default: 'in memory',
    },
    verbose: { type: 'boolean', description: "print the handlers' console output" },
    isolates: {
      type: 'string',
      value: 'N',
      description:
        'worker threads all functions share, each function with its own modules and process.env (a worker holds 35–45 MB of handler modules; a timeout ends every invocation in it); 0 gives every execution environment a worker of its own, as on Lambda',
      default: String(DEV_SHARED_WORKER_THREADS),
    },
  },
  examples: ['sluice dev', 'sluice dev --port 3000 --pipeline ./pipeline.ts --data .sluice'],
  run: dev,
});

async function dev(values: {
  isolates: string | undefined;
  port: string | undefined;
  pipeline: string | undefined;
  data: string | undefined;
  verbose: boolean;
}): Promise<void> {
  const port = values.port === undefined ? 8080 : Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    throw new UsageError(`--port must be an integer between 0 and 65535, but '${values.port}' was provided`);
  }
  const isolates = values.isolates === undefined ? DEV_SHARED_WORKER_THREADS : Number(values.isolates);
  if (!Number.isInteger(isolates) || isolates < 0 || isolates > 1_000) {
    throw new UsageError(`--isolates must be an integer between 0 and 1000, but '${values.isolates}' was provided`);
  }
  const definition = await loadDefinition(values.pipeline);
  // Before the engines start (seconds for DynamoDB Local): a busy port is the commonest reason dev cannot run.
  if (port !== 0) await assertPortFree(port);
  const local = await startLocalPipeline(definition.pipeline, {
    engineOptions: values.data ? { dataDir: values.data } : {},
    ingressPort: port,
    showHandlerOutput: values.verbose,
    dashboard: true,
    ...(isolates > 0 ? { sharedWorkerThreads: isolates } : {}),
    ...(definition.acceptSchema ? { acceptSchema: definition.acceptSchema } : {}),
    ...(definition.resources ? { resources: definition.resources } : {}),
  });
  const { engines, provisioned } = local;
  const lines = [
    `sluice dev — pipeline '${definition.pipeline.name}' (${engines.kind === 'embedded' ? `embedded engines${values.data ? `, data in ${values.data}` : ', in memory'}` : `external endpoint ${engines.sqsEndpoint}`})`,
    '',
    `  ingress     POST ${local.ingress.url}/jobs        GET ${local.ingress.url}/jobs/{id}`,
    `  dashboard   ${local.dashboard?.url}/dashboard`,
    `  SQS         ${engines.sqsEndpoint}${local.sqsCliEndpoint ? `   (for any AWS CLI, query protocol too: ${local.sqsCliEndpoint})` : ''}`,
    `  DynamoDB    ${engines.dynamoEndpoint}`,
    ...[...provisioned.stages.values()].map(
      (stage) => `  stage ${stage.stage.name.padEnd(6)} ${stage.queueUrl}  (DLQ ${stage.deadLetterQueueUrl})`,
    ),
    ...(provisioned.ingress?.lowLane ? [`  low lane    ${provisioned.ingress.lowLane.queueUrl}`] : []),
    ...(provisioned.ingress?.overflowQueueUrl ? [`  overflow    ${provisioned.ingress.overflowQueueUrl}`] : []),
    ...(provisioned.jobTableName ? [`  job table   ${provisioned.jobTableName}`] : []),
    ...Object.entries(local.ingress.apiKeys).map(([client, key]) => `  API key     ${client}: x-api-key: ${key}`),
    '',
    `  try: curl -s -X POST ${local.ingress.url}/jobs -H 'content-type: application/json'${Object.values(local.ingress.apiKeys)[0] ? ` -H 'x-api-key: ${Object.values(local.ingress.apiKeys)[0]}'` : ''} \\`,
    `         -d '{"documentId":"doc-1","source":"https://example.com/a.txt","contentType":"text/plain"}'`,
    '',
    'Ctrl-C stops.',
  ];
  console.log(lines.join('\n'));
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  console.log('\nstopping…');
  await local.stop();
}

/** Throws a {@link CliError} saying what to do when something already listens on `port` (on the ingress's address). */
async function assertPortFree(port: number): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const probe = createServer();
    probe.once('error', (error: NodeJS.ErrnoException) => {
      reject(
        error.code === 'EADDRINUSE'
          ? new CliError(
              `port ${port} is already in use: stop what listens there or pass --port with another port (--port 0 picks a free one)`,
              { cause: error },
            )
          : error,
      );
    });
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve()));
  });
}
