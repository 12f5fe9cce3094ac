import * as z from 'zod';
import { IngressSettingsSchema } from './ingress-schema.ts';
import { AGE_SLO_SECONDS, BREAKER_LIMITS, LAMBDA_LIMITS, type Range, SQS_LIMITS } from './limits.ts';

/**
 * The zod schema of a pipeline definition: the shape only, with AWS's ranges on every number.
 *
 * Rules that tie two fields together (FIFO batch sizes, the batching window, reserved vs maximum concurrency, stage
 * references) live in `validate-pipeline.ts`, and values derived from others in `derive-stage.ts`.
 */

/** An integer within an inclusive range, with a message that states the range (the value is added when reported). */
function integerIn(range: Range, unit = ''): z.ZodNumber {
  const suffix = unit ? ` ${unit}` : '';
  const message = `must be an integer between ${range.min} and ${range.max}${suffix}`;
  return z.number({ error: message }).int({ error: message }).min(range.min, { error: message }).max(range.max, {
    error: message,
  });
}

const PIPELINE_NAME = /^[a-z][a-z0-9-]{0,39}$/;
const STAGE_NAME = /^[a-z][a-z0-9-]{0,29}$/;
const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/** Settings of a stage's source queue and its dead-letter queue. */
export const QueueSettingsSchema = z.strictObject({
  /** A FIFO queue (and FIFO dead-letter queue); records of one message group are processed in order. */
  fifo: z.boolean().optional(),
  /** FIFO only: deduplicate on a SHA-256 of the body instead of an explicit deduplication id. */
  contentBasedDeduplication: z.boolean().optional(),
  /** Receives before SQS moves a message to the dead-letter queue. */
  maxReceiveCount: integerIn(SQS_LIMITS.maxReceiveCount).optional(),
  /** Raised to 6 × the function timeout + the batching window when lower (with a warning). */
  visibilityTimeoutSeconds: integerIn(SQS_LIMITS.visibilityTimeoutSeconds, 'seconds').optional(),
  retentionPeriodSeconds: integerIn(SQS_LIMITS.retentionPeriodSeconds, 'seconds').optional(),
  maxMessageSizeBytes: integerIn(SQS_LIMITS.maxMessageSizeBytes, 'bytes').optional(),
  deliveryDelaySeconds: integerIn(SQS_LIMITS.deliveryDelaySeconds, 'seconds').optional(),
});

/** Settings of the Lambda function that consumes a stage's queue and of its SQS event source mapping. */
export const ConsumerSettingsSchema = z.strictObject({
  /** Path of the handler's source file, relative to the project root (bundled with esbuild). */
  entry: z.string({ error: 'must be the path of the handler source file' }).min(1, {
    error: 'must be the path of the handler source file',
  }),
  /** Exported name of the handler in `entry`. */
  handler: z
    .string()
    .regex(IDENTIFIER, { error: 'must be a JavaScript identifier (the exported handler name)' })
    .optional(),
  timeoutSeconds: integerIn(LAMBDA_LIMITS.timeoutSeconds, 'seconds').optional(),
  memorySizeMiB: integerIn(LAMBDA_LIMITS.memorySizeMiB, 'MiB').optional(),
  /** Records per invocation; above 10 needs a batching window of at least 1 second; at most 10 on FIFO. */
  batchSize: integerIn(LAMBDA_LIMITS.batchSize).optional(),
  /** Seconds the event source mapping waits to fill a batch; must be 0 on FIFO queues. */
  maxBatchingWindowSeconds: integerIn(LAMBDA_LIMITS.maxBatchingWindowSeconds, 'seconds').optional(),
  /** `ScalingConfig.MaximumConcurrency`: concurrent invocations the queue may drive. */
  maxConcurrency: integerIn(LAMBDA_LIMITS.maxConcurrency).optional(),
  /** Reserved concurrency of the function; at least `maxConcurrency` (its default). */
  reservedConcurrency: integerIn(LAMBDA_LIMITS.reservedConcurrency).optional(),
  /** Records of one batch processed at the same time by the runtime. */
  recordConcurrency: integerIn({ min: 1, max: 100 }).optional(),
  /** Extra environment variables for the function. */
  environment: z.record(z.string(), z.string()).optional(),
});

/** Flow-control targets of a stage. */
export const FlowSettingsSchema = z.strictObject({
  /** Service level for `ApproximateAgeOfOldestMessage`: no accepted record should wait longer than this. */
  ageSloSeconds: integerIn(AGE_SLO_SECONDS, 'seconds').optional(),
  /** Queue depth above which producers are pushed back; derived from the age SLO and drain rate when left out. */
  depthLimit: integerIn({ min: 1, max: 100_000_000 }).optional(),
  /** Mean processing time of one record, in milliseconds: the basis of the drain-rate estimate. */
  recordProcessingMs: z
    .number({ error: 'must be a number of milliseconds between 0.01 and 900000' })
    .min(0.01, { error: 'must be a number of milliseconds between 0.01 and 900000' })
    .max(900_000, { error: 'must be a number of milliseconds between 0.01 and 900000' })
    .optional(),
});

const DOWNSTREAM_NAME = /^[a-z][a-z0-9-]{0,62}$/;

/**
 * A downstream service the stage calls, with its shared rate: a token bucket in the pipeline's control table that
 * every container of the stage takes from (`await ctx.limiter('<name>').take(n)`).
 */
export const DownstreamSettingsSchema = z.strictObject({
  /** Tokens (calls, texts, …) a minute the downstream allows to the whole stage. */
  ratePerMinute: integerIn({ min: 1, max: 100_000_000 }, 'tokens a minute'),
  /** Tokens that may be taken at once after an idle spell. @default ratePerMinute / 60 × 10, at least 1 */
  burst: integerIn({ min: 1, max: 100_000_000 }, 'tokens').optional(),
});

/**
 * The stage's circuit breaker: when the share of failed downstream calls over a window reaches `failureRatio` (with
 * at least `minimumCalls` calls), the breaker opens, the stage's records are deferred without running and the valve
 * pauses the stage's event source; after `openSeconds` it lets `halfOpenProbes` calls through (half-open) and closes
 * when they succeed.
 */
export const BreakerSettingsSchema = z.strictObject({
  /** Share of failed calls that opens the breaker. @default 0.5 */
  failureRatio: z
    .number({ error: 'must be a number above 0 and at most 1' })
    .gt(0, { error: 'must be a number above 0 and at most 1' })
    .max(1, { error: 'must be a number above 0 and at most 1' })
    .optional(),
  /** Seconds of calls the failure ratio is computed over. @default 30 */
  windowSeconds: integerIn(BREAKER_LIMITS.windowSeconds, 'seconds').optional(),
  /** Calls in the window below which the breaker never opens. @default 20 */
  minimumCalls: integerIn(BREAKER_LIMITS.minimumCalls, 'calls').optional(),
  /** Seconds the breaker stays open before it probes. @default 30 */
  openSeconds: integerIn(BREAKER_LIMITS.openSeconds, 'seconds').optional(),
  /** Calls let through while half-open; all must succeed to close. @default 3 */
  halfOpenProbes: integerIn(BREAKER_LIMITS.halfOpenProbes, 'calls').optional(),
});

/** A per-tenant bulkhead in one stage (needs the pipeline's `tenantKey`). */
export const TenantSettingsSchema = z.strictObject({
  /** Records of one tenant this stage processes at the same time, across all its containers; the excess is deferred. */
  maxInFlight: integerIn({ min: 1, max: 100_000 }, 'records'),
});

/** One stage: a queue, the function that consumes it, and its flow-control targets. */
export const StageSchema = z.strictObject({
  name: z.string().regex(STAGE_NAME, {
    error: 'must be 1 to 30 characters of lower-case letters, digits and hyphens, starting with a letter',
  }),
  description: z.string().max(256).optional(),
  /** Name of the stage that receives what this stage's handler returns. */
  next: z.string().optional(),
  queue: QueueSettingsSchema.optional(),
  consumer: ConsumerSettingsSchema,
  flow: FlowSettingsSchema.optional(),
  /** Downstream services with a shared rate limit, by name (`[a-z][a-z0-9-]*`). */
  downstream: z
    .record(
      z.string().regex(DOWNSTREAM_NAME, {
        error: 'must be 1 to 63 characters of lower-case letters, digits and hyphens, starting with a letter',
      }),
      DownstreamSettingsSchema,
    )
    .optional(),
  /** The stage's circuit breaker, with the valve that pauses its event source while it is open. */
  breaker: BreakerSettingsSchema.optional(),
  /** Per-tenant in-flight cap in this stage. */
  tenants: TenantSettingsSchema.optional(),
});

/** Job status tracking in DynamoDB (processing → completed | failed | dead-lettered). */
export const JobStatusSettingsSchema = z.strictObject({
  enabled: z.boolean(),
  /** Days a job's status record is kept (DynamoDB TTL). */
  ttlDays: integerIn({ min: 1, max: 3650 }, 'days').optional(),
});

/** Idempotency records in DynamoDB, so a redelivered record's side effect runs once. */
export const IdempotencySettingsSchema = z.strictObject({
  enabled: z.boolean(),
  /** Seconds a completed key is remembered (DynamoDB TTL). */
  ttlSeconds: integerIn({ min: 60, max: 365 * 24 * 3600 }, 'seconds').optional(),
});

/** A pipeline: named stages and the tables they share. */
export const PipelineSchema = z.strictObject({
  name: z.string().regex(PIPELINE_NAME, {
    error: 'must be 1 to 40 characters of lower-case letters, digits and hyphens, starting with a letter',
  }),
  description: z.string().max(256).optional(),
  stages: z
    .array(StageSchema, { error: 'must be a list of stages' })
    .min(1, { error: 'must hold between 1 and 100 stages' })
    .max(100, { error: 'must hold between 1 and 100 stages' }),
  jobs: JobStatusSettingsSchema.optional(),
  idempotency: IdempotencySettingsSchema.optional(),
  /**
   * Top-level field of a job's `data` naming its tenant (e.g. `'tenantId'`): sent as the SQS message group id on
   * standard queues (fair queues), and the key of the stages' `tenants` bulkheads.
   */
  tenantKey: z
    .string()
    .regex(IDENTIFIER, { error: 'must be a top-level field name of the job data (a JavaScript identifier)' })
    .optional(),
  /** The HTTP ingress of the pipeline (API Gateway → the first stage's queue), with backpressure. */
  ingress: IngressSettingsSchema.optional(),
});

/** A pipeline definition as written by a user: most fields optional. */
export type PipelineInput = z.input<typeof PipelineSchema>;
/** One stage as written by a user. */
export type StageInput = z.input<typeof StageSchema>;
