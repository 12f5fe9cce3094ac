import { DeleteItemCommand, type DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { type $ZodType, safeParse } from 'zod/v4/core';
import { encodeJob, type JobEnvelope, type Priority } from '../../lib/definition/envelope.ts';
import { ENV } from '../../lib/definition/environment.ts';
import { DEFAULTS } from '../../lib/definition/limits.ts';
import { PRESSURE_ENV, tenantGroupIdOf } from '../../lib/definition/pressure.ts';
import { JOB_TABLE } from '../../lib/definition/tables.ts';
import { IngressConfigurationError } from '../authorizer/errors.ts';

/**
 * The accept function of the `IngestApi` in function mode: what API Gateway does itself in direct mode, plus the
 * two things it cannot do there: the full zod validation of the body (refinements, formats, transforms: a 400 with
 * every issue as `path: message`) and a job record written *before* the job is enqueued, so the status route knows
 * every id it issued (and answers 404 for any other).
 *
 * The queue comes from the authorizer's decision (`lane`, `target` in the request context).
 */

/** Where the accept function sends and records. */
export interface AcceptTargets {
  readonly queueUrl: string;
  readonly lowLaneQueueUrl?: string;
  readonly overflowQueueUrl?: string;
  readonly jobTableName?: string;
  /** Days a job record is kept (DynamoDB TTL). @default DEFAULTS.jobTtlDays (30) */
  readonly jobTtlDays?: number;
  readonly schemaVersion: number;
  /** The pipeline's tenant key: its value is sent as the message group id (SQS fair queues). @default none */
  readonly tenantKey?: string;
}

/** Options of {@link createAcceptHandler}. */
export interface AcceptOptions {
  /** The stage's job schema: the body must parse with it. */
  readonly schema: $ZodType;
  readonly sqs: SQSClient;
  readonly dynamo?: DynamoDBClient;
  readonly targets: AcceptTargets;
  /** @default Date.now */
  readonly now?: () => number;
}

/** A JSON response with the sluice error shape. */
function json(statusCode: number, body: unknown, headers: Record<string, string> = {}): APIGatewayProxyResult {
  return { statusCode, headers: { 'Content-Type': 'application/json', ...headers }, body: JSON.stringify(body) };
}

/**
 * Builds the accept handler for one schema.
 *
 * @example
 * // functions/examples/accept-document.ts
 * export const handler = createAcceptHandler({ schema: DocumentJob, sqs: new SQSClient({}), dynamo: new DynamoDBClient({}), targets: acceptTargetsFromEnvironment() });
 */
export function createAcceptHandler(
  options: AcceptOptions,
): (event: APIGatewayProxyEvent) => Promise<APIGatewayProxyResult> {
  const { targets } = options;
  const now = options.now ?? Date.now;
  if (targets.jobTableName && !options.dynamo) {
    throw new IngressConfigurationError('a job table is configured, but no DynamoDB client was provided');
  }
  return async (event) => {
    let body: unknown;
    try {
      body = JSON.parse(event.body ?? '');
    } catch (error) {
      return json(400, { error: 'invalid_request', message: `body is not valid JSON: ${(error as Error).message}` });
    }
    const parsed = safeParse(options.schema, body);
    if (!parsed.success) {
      const issues = parsed.error.issues.map((issue) => `${issue.path.join('.') || '(body)'}: ${issue.message}`);
      return json(400, { error: 'invalid_request', message: issues.join('; '), issues });
    }
    const authorizer = (event.requestContext.authorizer ?? {}) as Record<string, unknown>;
    const lane: Priority = authorizer.lane === 'low' ? 'low' : 'high';
    const queueUrl =
      authorizer.target === 'overflow' && targets.overflowQueueUrl
        ? targets.overflowQueueUrl
        : lane === 'low' && targets.lowLaneQueueUrl
          ? targets.lowLaneQueueUrl
          : targets.queueUrl;
    const jobId = event.requestContext.requestId;
    const acceptedAt = now();
    const correlationId = headerOf(event, 'x-correlation-id') ?? jobId;
    const job: JobEnvelope = {
      jobId,
      schemaVersion: targets.schemaVersion,
      data: parsed.data,
      correlationId,
      acceptedAt,
      priority: lane,
    };

    if (targets.jobTableName && options.dynamo) {
      const ttlDays = targets.jobTtlDays ?? DEFAULTS.jobTtlDays;
      await options.dynamo
        .send(
          new PutItemCommand({
            TableName: targets.jobTableName,
            Item: {
              [JOB_TABLE.partitionKey]: { S: jobId },
              state: { S: 'accepted' },
              correlationId: { S: correlationId },
              acceptedAt: { N: String(acceptedAt) },
              updatedAt: { N: String(acceptedAt) },
              attempts: { N: '0' },
              [JOB_TABLE.ttlAttribute]: { N: String(Math.ceil(acceptedAt / 1000) + ttlDays * 86_400) },
            },
            // A retried invocation of the same request must not reset a job that already moved on.
            ConditionExpression: 'attribute_not_exists(#id)',
            ExpressionAttributeNames: { '#id': JOB_TABLE.partitionKey },
          }),
        )
        .catch((error: Error) => {
          if (error.name !== 'ConditionalCheckFailedException') throw error;
        });
    }
    try {
      const tenantGroup = tenantGroupIdOf(job.data, targets.tenantKey);
      await options.sqs.send(
        new SendMessageCommand({
          QueueUrl: queueUrl,
          MessageBody: encodeJob(job),
          ...(tenantGroup === undefined ? {} : { MessageGroupId: tenantGroup }),
        }),
      );
    } catch (error) {
      // Not enqueued: the id must not look issued.
      if (targets.jobTableName && options.dynamo) {
        await options.dynamo
          .send(
            new DeleteItemCommand({
              TableName: targets.jobTableName,
              Key: { [JOB_TABLE.partitionKey]: { S: jobId } },
            }),
          )
          .catch(() => undefined);
      }
      console.error(
        JSON.stringify({ level: 'ERROR', message: 'SendMessage failed', jobId, error: (error as Error).message }),
      );
      return json(503, { error: 'unavailable', retryAfterSeconds: 1 }, { 'Retry-After': '1' });
    }
    const path = `/${event.requestContext.stage}/jobs/${jobId}`;
    const host = event.requestContext.domainName ?? headerOf(event, 'host');
    return json(
      202,
      { jobId, status: 'accepted', statusUrl: host ? `https://${host}${path}` : path },
      { Location: path },
    );
  };
}

function headerOf(event: APIGatewayProxyEvent, name: string): string | undefined {
  for (const [key, value] of Object.entries(event.headers ?? {})) {
    if (key.toLowerCase() === name && value) return value;
  }
  return undefined;
}

/** The accept function's targets from its environment (set by the `IngestApi`). */
export function acceptTargetsFromEnvironment(env: NodeJS.ProcessEnv = process.env): AcceptTargets {
  const queueUrl = env[ENV.queueUrl];
  if (!queueUrl) throw new IngressConfigurationError(`${ENV.queueUrl} is not set`);
  const optional = (name: string, key: keyof AcceptTargets) => (env[name] ? { [key]: env[name] } : {});
  return {
    queueUrl,
    ...optional(ENV.lowLaneQueueUrl, 'lowLaneQueueUrl'),
    ...optional(ENV.overflowQueueUrl, 'overflowQueueUrl'),
    ...optional(ENV.jobTableName, 'jobTableName'),
    ...optional(PRESSURE_ENV.tenantKey, 'tenantKey'),
    schemaVersion: Number(env[ENV.schemaVersion] ?? 1),
  };
}
