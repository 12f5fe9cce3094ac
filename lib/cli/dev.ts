import { parseArgs } from 'node:util';
import { startLocalPipeline } from '../local/local-pipeline.ts';
import { UsageError } from './errors.ts';
import { loadDefinition } from './load-definition.ts';

/** `sluice dev`: the pipeline on this machine until Ctrl-C. */
export async function dev(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      data: { type: 'string' },
      port: { type: 'string' },
      pipeline: { type: 'string' },
      verbose: { type: 'boolean', default: false },
    },
    strict: true,
  });
  const port = values.port === undefined ? 8080 : Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    throw new UsageError(`--port must be an integer between 0 and 65535, but '${values.port}' was provided`);
  }
  const definition = await loadDefinition(values.pipeline);
  const local = await startLocalPipeline(definition.pipeline, {
    engineOptions: values.data ? { dataDir: values.data } : {},
    ingressPort: port,
    showHandlerOutput: values.verbose,
    dashboard: true,
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
