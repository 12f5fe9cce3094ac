import { parseArgs } from 'node:util';
import { readAwsSnapshot } from '../ops/aws-status.ts';
import { type ClientSettings, isLoopback, type OpsClients, opsClients } from '../ops/clients.ts';
import { OpsError } from '../ops/errors.ts';
import { fetchLocalMetrics, localSnapshot } from '../ops/local-status.ts';
import { type PipelineResources, resourcesByName, resourcesFromStack } from '../ops/resources.ts';
import { formatSnapshot, type PipelineSnapshot } from '../ops/snapshot.ts';
import { UsageError } from './errors.ts';
import { loadDefinition } from './load-definition.ts';

/** Flags every operator command (status, dlq, jobs) takes to find the pipeline and reach AWS. */
export const TARGET_OPTIONS = {
  stack: { type: 'string' },
  'pipeline-name': { type: 'string' },
  pipeline: { type: 'string' },
  endpoint: { type: 'string' },
  'dynamodb-endpoint': { type: 'string' },
  region: { type: 'string' },
  help: { type: 'boolean', default: false },
} as const;

/** Help text of the target flags. */
export const TARGET_HELP = [
  'where the pipeline is (one of):',
  '  --stack NAME           a deployed stack: resources from its outputs (CloudFormation DescribeStacks)',
  '  --endpoint URL         sluice dev / LocalStack: resources by the local runtime’s names (also AWS_ENDPOINT_URL)',
  '  --dynamodb-endpoint URL  DynamoDB’s, when not --endpoint (sluice dev prints it; also AWS_ENDPOINT_URL_DYNAMODB)',
  '  --pipeline MODULE      module exporting `pipeline` (default: the example pipeline), for --endpoint',
  '  --pipeline-name NAME   which pipeline of a stack holding several',
  '  --region REGION        default: the AWS SDK’s region chain (AWS_REGION, profile)',
  'credentials: the AWS SDK default chain (environment, profile, SSO, role); a loopback endpoint without any uses the local engines’ pair',
];

/** Client settings from the flags and the environment. */
export function clientSettings(values: {
  endpoint?: string;
  'dynamodb-endpoint'?: string;
  region?: string;
}): ClientSettings {
  const endpoint = values.endpoint ?? process.env.AWS_ENDPOINT_URL;
  const local = isLoopback(endpoint) && !process.env.AWS_ACCESS_KEY_ID && !process.env.AWS_PROFILE;
  return {
    ...(endpoint ? { endpoint } : {}),
    ...(values['dynamodb-endpoint'] ? { dynamoEndpoint: values['dynamodb-endpoint'] } : {}),
    ...(values.region ? { region: values.region } : local ? { region: 'us-east-1' } : {}),
    ...(local ? { credentials: { accessKeyId: 'local', secretAccessKey: 'local' } } : {}),
  };
}

/** The pipeline's resources from `--stack`, or by name at `--endpoint`; a usage error when neither is given. */
export async function resolveResources(
  clients: OpsClients,
  values: { stack?: string; 'pipeline-name'?: string; pipeline?: string },
): Promise<PipelineResources> {
  if (values.stack) return resourcesFromStack(clients.cloudFormation, values.stack, values['pipeline-name']);
  if (!clients.endpoint) {
    throw new UsageError(
      'say where the pipeline is: --stack <CloudFormation stack> for a deployed pipeline, or --endpoint <SQS endpoint printed by sluice dev>',
    );
  }
  const { pipeline } = await loadDefinition(values.pipeline);
  return resourcesByName(clients.sqs, {
    name: pipeline.name,
    stages: pipeline.stages.map((stage) => ({
      name: stage.name,
      fifo: stage.queue.fifo,
      ageSloSeconds: stage.flow.ageSloSeconds,
    })),
    ...(pipeline.jobs.enabled ? { jobTable: `${pipeline.name}-jobs` } : {}),
  });
}

/** Runs `body`, turning an operator error into its message on stderr and exit code 1. */
export async function reportingOpsErrors(command: string, body: () => Promise<void>): Promise<void> {
  try {
    await body();
  } catch (error) {
    if (error instanceof OpsError) {
      console.error(`sluice ${command}: ${error.message}`);
      process.exitCode = 1;
      return;
    }
    throw error;
  }
}

const STATUS_HELP = [
  'usage: sluice status [--json] [--watch [--interval SECONDS]] (--url DASHBOARD_URL | --stack NAME | --endpoint URL)',
  '',
  'Per stage: depth, in flight, oldest age, in / out per minute, retries, dead letters, downstream error rate, and a',
  'verdict — healthy, recovering or falling_behind — with the estimated time to drain; then the pipeline’s.',
  '',
  '  --url URL              a running `sluice dev`: its dashboard URL (reads GET /dashboard/metrics)',
  '  --json                 JSON instead of a table',
  '  --watch                repeat until Ctrl-C, every --interval seconds (default 5 locally, 60 on AWS)',
  ...TARGET_HELP,
  '',
  'exit codes: 0 ok, 1 the pipeline could not be read, 2 bad usage',
].join('\n');

/** `sluice status`: is each stage recovering or falling behind? */
export async function status(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      ...TARGET_OPTIONS,
      url: { type: 'string' },
      json: { type: 'boolean', default: false },
      watch: { type: 'boolean', default: false },
      interval: { type: 'string' },
    },
    strict: true,
  });
  if (values.help) {
    console.log(STATUS_HELP);
    return;
  }
  const interval = values.interval === undefined ? undefined : Number(values.interval);
  if (interval !== undefined && (!Number.isFinite(interval) || interval < 1 || interval > 3_600)) {
    throw new UsageError(`--interval must be between 1 and 3600 seconds, but '${values.interval}' was provided`);
  }
  if (values.url && values.stack) throw new UsageError('give --url (sluice dev) or --stack (AWS), not both');
  await reportingOpsErrors('status', async () => {
    let read: () => Promise<PipelineSnapshot>;
    let stop = () => {};
    if (values.url) {
      const { pipeline } = await loadDefinition(values.pipeline);
      const stages = pipeline.stages.map((stage) => ({ name: stage.name, ageSloSeconds: stage.flow.ageSloSeconds }));
      const url = values.url;
      read = async () => localSnapshot(pipeline.name, stages, await fetchLocalMetrics(url).catch(toOpsError));
    } else {
      const clients = opsClients(clientSettings(values));
      stop = () => clients.destroy();
      const resources = await resolveResources(clients, values);
      read = () => readAwsSnapshot(clients, resources).catch(toOpsError);
    }
    try {
      const print = (snapshot: PipelineSnapshot) => {
        if (values.json) console.log(JSON.stringify(snapshot, null, values.watch ? undefined : 2));
        else console.log(`${values.watch && process.stdout.isTTY ? '\x1b[2J\x1b[H' : ''}${formatSnapshot(snapshot)}`);
      };
      print(await read());
      if (!values.watch) return;
      const seconds = interval ?? (values.url ? 5 : 60);
      let running = true;
      const end = () => {
        running = false;
      };
      process.once('SIGINT', end);
      process.once('SIGTERM', end);
      while (running) {
        await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
        if (running) print(await read());
      }
    } finally {
      stop();
    }
  });
}

function toOpsError(error: unknown): never {
  if (error instanceof OpsError) throw error;
  throw new OpsError((error as Error).message, { cause: error });
}
