import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { SQSClient } from '@aws-sdk/client-sqs';
import middy from '@middy/core';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { type $ZodType, compile, type output } from 'zod/v4/core';
import { ENV } from '../../lib/definition/environment.ts';
import { DEFAULTS } from '../../lib/definition/limits.ts';
import { lazyClients } from './aws-clients.ts';
import type { BackoffOptions } from './backoff.ts';
import { runBatch } from './batch.ts';
import type { ConsumerHandler } from './consumer-handler.ts';
import { ConsumerConfigurationError, type FailureKind } from './errors.ts';
import type { JobContext } from './job-context.ts';
import { createLogger, type LogSink } from './log.ts';
import { type MicroBatcherOptions, validateMicroBatcher } from './micro-batcher.ts';
import { dataParser, hasKnownInternals } from './parse-data.ts';
import { type PressureOptions, resolvePressure } from './pressure.ts';

/** Options of {@link consumer}. */
export interface ConsumerOptions<Schema extends $ZodType> {
  /** Schema of the job's `data` (zod 4 or zod/mini); compiled once when the module loads. */
  readonly schema: Schema;
  /** Runs one job. Return to succeed; throw {@link PermanentError} to dead-letter it, anything else to retry it. */
  readonly handler: (job: output<Schema>, ctx: JobContext) => Promise<void> | void;
  /** Version of `schema`. Jobs with a newer version are permanent failures. @default 1 */
  readonly schemaVersion?: number;
  /** Upgrades data written against an older version. Without it, older versions are permanent failures. */
  readonly migrate?: (data: unknown, fromVersion: number) => unknown;
  /** Says whether an error is permanent or transient; `undefined` falls back to sluice's classification. */
  readonly classify?: (error: unknown) => FailureKind | undefined;
  /** Records of one batch run at the same time (FIFO: message groups at the same time). @default 1 */
  readonly recordConcurrency?: number;
  /** No record starts when less than this is left of the invocation; the rest are released. @default 2000 */
  readonly timeoutMarginMs?: number;
  /** Backoff of transient failures. @default { baseSeconds: 2, maxSeconds: 900 } */
  readonly backoff?: BackoffOptions;
  /** Idempotency on DynamoDB; `false` turns it off. @default - on when SLUICE_IDEMPOTENCY_TABLE is set */
  readonly idempotency?: false | IdempotencyOptions<output<Schema>>;
  /** Job status on DynamoDB; `false` turns it off. @default - on when SLUICE_JOB_TABLE is set */
  readonly jobs?: false | { readonly tableName?: string; readonly ttlDays?: number };
  /** @default - SLUICE_STAGE, or 'consumer' */
  readonly stage?: string;
  /** @default - SLUICE_PIPELINE, or the stage */
  readonly pipeline?: string;
  /** URL of the queue the records come from, for visibility changes. @default - SLUICE_QUEUE_URL, or derived from the record's ARN */
  readonly queueUrl?: string;
  /** @default - SLUICE_DLQ_URL; without one, failures are left to the queue's redrive policy */
  readonly deadLetterQueueUrl?: string;
  /** @default - SLUICE_NEXT_QUEUE_URL */
  readonly nextQueueUrl?: string;
  /** @default - SLUICE_MAX_RECEIVE_COUNT, or 5 */
  readonly maxReceiveCount?: number;
  /** AWS clients to use instead of default ones (tests, custom configuration). */
  readonly clients?: { readonly sqs?: SQSClient; readonly dynamo?: DynamoDBClient };
  /** Where log lines and EMF documents go. @default stdout */
  readonly logSink?: LogSink;
  /**
   * Backpressure: how records held back by pressure are deferred (without spending their retry budget), and the
   * pressure the stage watches. @default - deferral defaults; the rest from the SLUICE_* variables the constructs set
   */
  readonly pressure?: PressureOptions;
  /**
   * Micro-batchers, reachable as `ctx.batch(name)`: items from the records of a batch are gathered into downstream
   * calls, and a poison item is isolated by bisection so it fails only its own record.
   * @example { embeddings: { maxItems: 96, maxWaitMs: 20, call: (texts) => embed(texts) } }
   */
  // biome-ignore lint/suspicious/noExplicitAny: each batcher has its own item and result types
  readonly batchers?: Readonly<Record<string, MicroBatcherOptions<any, any>>>;
}

/** Options of idempotency. */
export interface IdempotencyOptions<Data> {
  /** @default - SLUICE_IDEMPOTENCY_TABLE */
  readonly tableName?: string;
  /** Seconds a completed key is remembered. @default 86400 */
  readonly ttlSeconds?: number;
  /** The key of a job. @default `<stage>#<jobId>` */
  readonly key?: (data: Data, ctx: JobContext) => string;
}

export type { ConsumerHandler, ConsumerMiddleware, ConsumerRequest } from './consumer-handler.ts';

// The runtime imports single lib/definition modules, never lib/definition/index.ts: the index carries the pipeline schema (classic
// zod, built at module load), which a consumer bundle must not pay for.

/**
 * A consumer for an SQS-triggered Lambda function: typed records, per-record outcomes (never a failed batch),
 * backoff by error class, dead-lettering with reasons, FIFO group order, idempotency and job status.
 *
 * @example
 * import { consumer, PermanentError } from 'sluice/runtime';
 * export const handler = consumer({
 *   schema: DocumentJob,
 *   handler: async (job, ctx) => {
 *     if (job.contentType === 'application/pdf') throw new PermanentError('PDF is not supported yet');
 *     ctx.forward({ documentId: job.documentId, chunkIndex: 0, text: await fetchText(job.source) });
 *   },
 * });
 */
export function consumer<Schema extends $ZodType>(options: ConsumerOptions<Schema>): ConsumerHandler {
  const config = resolveConfig(options);
  const base = (event: SQSEvent, context: Context): Promise<SQSBatchResponse> =>
    runBatch(config, event.Records, context);
  // sluice handles the invocation's end itself (timeoutMarginMs); middy's early-timeout race is turned off.
  const handler: ConsumerHandler = middy<SQSEvent, SQSBatchResponse, Error, Context>({
    timeoutEarlyInMillis: 0,
  }).handler(base);
  return handler;
}

/** Everything a batch run needs, resolved once at module load. */
export type ConsumerConfig = ReturnType<typeof resolveConfig>;

function resolveConfig<Schema extends $ZodType>(options: ConsumerOptions<Schema>) {
  const env = process.env;
  const stage = options.stage ?? env[ENV.stageName] ?? 'consumer';
  const recordConcurrency = options.recordConcurrency ?? DEFAULTS.recordConcurrency;
  const maxReceiveCount = options.maxReceiveCount ?? numberFromEnv(ENV.maxReceiveCount) ?? DEFAULTS.maxReceiveCount;
  const timeoutMarginMs = options.timeoutMarginMs ?? 2_000;
  const schemaVersion = options.schemaVersion ?? 1;
  const problems: string[] = [];
  if (!Number.isInteger(recordConcurrency) || recordConcurrency < 1 || recordConcurrency > 1_000) {
    problems.push(`recordConcurrency must be an integer between 1 and 1000, but ${recordConcurrency} was provided`);
  }
  if (!Number.isInteger(maxReceiveCount) || maxReceiveCount < 1 || maxReceiveCount > 1_000) {
    problems.push(`maxReceiveCount must be an integer between 1 and 1000, but ${maxReceiveCount} was provided`);
  }
  if (!Number.isFinite(timeoutMarginMs) || timeoutMarginMs < 0 || timeoutMarginMs > 900_000) {
    problems.push(`timeoutMarginMs must be between 0 and 900000, but ${timeoutMarginMs} was provided`);
  }
  if (!Number.isInteger(schemaVersion) || schemaVersion < 1) {
    problems.push(`schemaVersion must be an integer of at least 1, but ${schemaVersion} was provided`);
  }
  const clients = lazyClients(options.clients);
  const logSink = options.logSink;
  const pipeline = options.pipeline ?? env[ENV.pipelineName] ?? stage;
  const logger = createLogger({ pipeline, stage }, undefined, logSink);
  const nextQueueUrl = options.nextQueueUrl ?? env[ENV.nextQueueUrl];
  const pressure = resolvePressure(options.pressure, { env, pipeline, stage, nextQueueUrl, clients, logger }, problems);
  for (const [name, batcher] of Object.entries(options.batchers ?? {})) {
    validateMicroBatcher(name, batcher, problems);
  }
  const idempotencyTable =
    options.idempotency === false ? undefined : (options.idempotency?.tableName ?? env[ENV.idempotencyTableName]);
  const jobTable = options.jobs === false ? undefined : (options.jobs?.tableName ?? env[ENV.jobTableName]);
  if (options.idempotency && !idempotencyTable) {
    problems.push(`idempotency needs a table: pass idempotency.tableName or set ${ENV.idempotencyTableName}`);
  }
  if (problems.length > 0) {
    throw new ConsumerConfigurationError(
      `The consumer of stage '${stage}' is misconfigured:\n- ${problems.join('\n- ')}`,
    );
  }
  const idempotencyOptions = options.idempotency || undefined;
  return {
    stage,
    pipeline,
    parseData: dataParser(compileSchema(options.schema)),
    handler: options.handler as (job: unknown, ctx: JobContext) => Promise<void> | void,
    schemaVersion,
    migrate: options.migrate,
    classify: options.classify,
    recordConcurrency,
    timeoutMarginMs,
    backoff: options.backoff ?? {},
    maxReceiveCount,
    queueUrl: options.queueUrl ?? env[ENV.queueUrl],
    deadLetterQueueUrl: options.deadLetterQueueUrl ?? env[ENV.deadLetterQueueUrl],
    nextQueueUrl,
    clients,
    logger,
    logSink,
    pressure,
    batchers:
      options.batchers && Object.keys(options.batchers).length > 0
        ? (options.batchers as Readonly<Record<string, MicroBatcherOptions<unknown, unknown>>>)
        : undefined,
    idempotency: idempotencyTable
      ? {
          store: {
            tableName: idempotencyTable,
            ttlSeconds: idempotencyOptions?.ttlSeconds ?? DEFAULTS.idempotencyTtlSeconds,
            clients,
          },
          key: idempotencyOptions?.key as ((data: unknown, ctx: JobContext) => string) | undefined,
        }
      : undefined,
    jobs: jobTable
      ? { tableName: jobTable, ttlDays: (options.jobs || undefined)?.ttlDays ?? DEFAULTS.jobTtlDays, clients }
      : undefined,
  };
}

/**
 * The schema compiled to zod 4's fast path when it can be; otherwise the schema itself (same results, slower). A schema
 * of another zod minor than sluice's is left to its own zod (see `dataParser`).
 */
function compileSchema(schema: $ZodType): $ZodType {
  if (!hasKnownInternals(schema)) return schema;
  try {
    return compile(schema, { strict: true });
  } catch {
    // Async refinements or features the compiler cannot model: the runtime parser gives the same answers.
    return schema;
  }
}

function numberFromEnv(name: string): number | undefined {
  const value = process.env[name];
  return value === undefined || value === '' ? undefined : Number(value);
}
