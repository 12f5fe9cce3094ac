import { readAwsSnapshot } from '../ops/aws-status.ts';
import { type ClientSettings, isLoopback, type OpsClients, opsClients } from '../ops/clients.ts';
import { OpsError } from '../ops/errors.ts';
import { fetchLocalMetrics, localSnapshot } from '../ops/local-status.ts';
import { type PipelineResources, resourcesByName, resourcesFromStack } from '../ops/resources.ts';
import { formatSnapshot, type PipelineSnapshot } from '../ops/snapshot.ts';
import { type CommandOption, defineCommand } from './command.ts';
import { CliError, UsageError } from './errors.ts';
import { loadDefinition } from './load-definition.ts';

/** Flags every operator command (status, dlq, jobs) takes to find the pipeline and reach AWS. */
export const TARGET_OPTIONS = {
  stack: {
    type: 'string',
    value: 'NAME',
    description: 'a deployed stack: the pipeline’s resources from its outputs (CloudFormation DescribeStacks)',
  },
  'pipeline-name': { type: 'string', value: 'NAME', description: 'which pipeline, when the stack holds several' },
  endpoint: {
    type: 'string',
    value: 'URL',
    description:
      'one endpoint for every service, e.g. sluice dev’s SQS or LocalStack; resources by the local runtime’s names',
    default: 'AWS_ENDPOINT_URL, else AWS',
  },
  'dynamodb-endpoint': {
    type: 'string',
    value: 'URL',
    description: 'DynamoDB’s endpoint when it is not --endpoint (sluice dev prints it)',
    default: 'AWS_ENDPOINT_URL_DYNAMODB, else --endpoint',
  },
  pipeline: {
    type: 'string',
    value: 'MODULE',
    description: 'module exporting `pipeline` (with --endpoint or --url: names and age SLOs)',
    default: 'the example pipeline',
  },
  region: {
    type: 'string',
    value: 'REGION',
    description: 'AWS region',
    default: 'the AWS SDK’s (AWS_REGION, profile)',
  },
} as const satisfies Record<string, CommandOption>;

/** What the operator commands' help says about credentials and exit codes. */
export const TARGET_HELP =
  'Credentials: the AWS SDK’s default chain (environment, profile, SSO, role); a loopback endpoint without any uses the local engines’ pair.';

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

/** Runs `body`, turning an operator error into a one-line CLI error (exit code 1). */
export async function reportingOpsErrors(body: () => Promise<void>): Promise<void> {
  try {
    await body();
  } catch (error) {
    if (error instanceof OpsError) throw new CliError(error.message, { cause: error });
    throw error;
  }
}

/** `sluice status`: is each stage recovering or falling behind? */
export const statusCommand = defineCommand({
  name: 'status',
  summary: 'is each stage healthy, recovering or falling behind, and when will it drain',
  description: [
    'Per stage: depth, in flight, oldest age, jobs received and completed per minute, retries per minute, dead letters',
    'and downstream error rate, with a verdict — healthy, recovering or falling_behind — from the trend of the backlog',
    '(its slope over the last samples against the consumer’s pace, and the oldest age against the age SLO) and the',
    'estimated time to drain; then the pipeline’s (its worst stage). Locally from sluice dev’s dashboard samples',
    '(--url); on AWS from GetQueueAttributes and CloudWatch GetMetricData (--stack).',
    TARGET_HELP,
  ].join('\n'),
  options: {
    url: { type: 'string', value: 'URL', description: 'a running sluice dev: the dashboard URL it prints' },
    json: { type: 'boolean', description: 'JSON instead of a table' },
    watch: { type: 'boolean', description: 'repeat until Ctrl-C' },
    interval: {
      type: 'string',
      value: 'SECONDS',
      description: 'seconds between --watch reads',
      default: '5 locally, 60 on AWS',
    },
    ...TARGET_OPTIONS,
  },
  examples: [
    'sluice status --url http://127.0.0.1:41234/dashboard',
    'sluice status --stack Documents --json',
    'sluice status --stack Documents --watch',
  ],
  run: async (values) => {
    const interval = values.interval === undefined ? undefined : Number(values.interval);
    if (interval !== undefined && (!Number.isFinite(interval) || interval < 1 || interval > 3_600)) {
      throw new UsageError(`--interval must be between 1 and 3600 seconds, but '${values.interval}' was provided`);
    }
    if (values.url && values.stack) throw new UsageError('give --url (sluice dev) or --stack (AWS), not both');
    if (!values.url && !values.stack && !values.endpoint && !process.env.AWS_ENDPOINT_URL) {
      throw new UsageError(
        'say where the pipeline is: --url <dashboard URL printed by sluice dev>, or --stack <CloudFormation stack> for a deployed pipeline',
      );
    }
    await reportingOpsErrors(async () => {
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
        read = () =>
          readAwsSnapshot(clients, resources).catch((error: unknown) => {
            if (error instanceof OpsError || !clients.endpoint) toOpsError(error);
            throw new OpsError(
              `reading CloudWatch at ${clients.endpoint} failed (${(error as Error).message}); against sluice dev, use --url with the dashboard URL it prints (the local engines have no CloudWatch)`,
              { cause: error },
            );
          });
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
  },
});

function toOpsError(error: unknown): never {
  if (error instanceof OpsError) throw error;
  throw new OpsError((error as Error).message, { cause: error });
}
