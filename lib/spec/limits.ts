/**
 * AWS service limits and sluice defaults that more than one part of sluice needs.
 *
 * Every number here is either an AWS quota (with the page it comes from) or a default sluice chose; the constructs,
 * the local runtime and the simulator import them from here so that the three agree.
 */

/** An inclusive range of allowed values. */
export interface Range {
  readonly min: number;
  readonly max: number;
}

const MINUTE = 60;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** Amazon SQS quotas (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/quotas-messages.html). */
export const SQS_LIMITS = {
  visibilityTimeoutSeconds: { min: 0, max: 12 * HOUR },
  retentionPeriodSeconds: { min: MINUTE, max: 14 * DAY },
  maxMessageSizeBytes: { min: 1024, max: 1024 * 1024 },
  deliveryDelaySeconds: { min: 0, max: 15 * MINUTE },
  receiveWaitTimeSeconds: { min: 0, max: 20 },
  maxReceiveCount: { min: 1, max: 1000 },
  /** Queue names: alphanumerics, hyphens and underscores, up to 80 characters including `.fifo`. */
  queueNameLength: { min: 1, max: 80 },
  /** Messages a single ReceiveMessage / SendMessageBatch / DeleteMessageBatch call handles. */
  batchEntries: { min: 1, max: 10 },
} as const satisfies Record<string, Range>;

/** AWS Lambda quotas (https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html) and SQS event source mapping rules. */
export const LAMBDA_LIMITS = {
  timeoutSeconds: { min: 1, max: 15 * MINUTE },
  memorySizeMiB: { min: 128, max: 10_240 },
  /** Standard queues (https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-configure.html). */
  batchSize: { min: 1, max: 10_000 },
  /** FIFO queues accept at most 10 records per batch. */
  fifoBatchSize: { min: 1, max: 10 },
  maxBatchingWindowSeconds: { min: 0, max: 5 * MINUTE },
  /** `ScalingConfig.MaximumConcurrency` of an SQS event source mapping. */
  maxConcurrency: { min: 2, max: 1000 },
  reservedConcurrency: { min: 1, max: 10_000 },
  /** A synchronous invocation's request payload. */
  invocationPayloadBytes: { min: 0, max: 6 * 1024 * 1024 },
} as const satisfies Record<string, Range>;

/** Batch sizes above this need a batching window of at least one second. */
export const BATCH_SIZE_WITHOUT_WINDOW = 10;

/** AWS guidance: the queue's visibility timeout is at least six times the function timeout, plus the batching window. */
export const VISIBILITY_TIMEOUT_FACTOR = 6;

/** Defaults sluice applies when a definition leaves a value out. */
export const DEFAULTS = {
  maxReceiveCount: 5,
  retentionPeriodSeconds: 4 * DAY,
  /** Dead-letter queues keep messages for the longest time SQS allows, so an operator has two weeks to look. */
  deadLetterRetentionSeconds: 14 * DAY,
  maxMessageSizeBytes: 256 * 1024,
  deliveryDelaySeconds: 0,
  timeoutSeconds: 30,
  memorySizeMiB: 512,
  batchSize: 10,
  maxBatchingWindowSeconds: 1,
  maxConcurrency: 5,
  /** Records of one batch run one after another unless a stage asks for more. */
  recordConcurrency: 1,
  /** Mean time to process one record; with the concurrency it gives the drain rate a depth limit is derived from. */
  recordProcessingMs: 100,
  ageSloSeconds: 5 * MINUTE,
  /** Days a job's status record is kept before DynamoDB's TTL removes it. */
  jobTtlDays: 30,
  /** Seconds a completed idempotency key is remembered. */
  idempotencyTtlSeconds: DAY,
} as const;
