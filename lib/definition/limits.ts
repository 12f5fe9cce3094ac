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
  /**
   * Payload of one SendMessageBatch call: the sum of its messages' sizes (body plus every attribute's name, data type
   * and value), the same 1 MiB as one message
   * (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SendMessageBatch.html).
   */
  batchPayloadBytes: { min: 0, max: 1024 * 1024 },
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

/**
 * Amazon API Gateway REST API quotas (https://docs.aws.amazon.com/apigateway/latest/developerguide/limits.html).
 * The account-level throttle defaults to 10,000 requests per second with a burst of 5,000 and can be raised on
 * request, so sluice accepts up to ten times that and warns above the default.
 */
export const API_GATEWAY_LIMITS = {
  rateLimitPerSecond: { min: 0.01, max: 100_000 },
  burstLimit: { min: 0, max: 50_000 },
  /** The default account-level throttle (per Region); a stage or usage plan above it is capped by the account. */
  defaultAccountRateLimitPerSecond: { min: 0, max: 10_000 },
  defaultAccountBurstLimit: { min: 0, max: 5_000 },
  quotaLimit: { min: 1, max: 2_147_483_647 },
  /** API Gateway caches a Lambda authorizer's result for up to an hour; sluice allows 10 s (see `ingress-schema.ts`). */
  authorizerResultTtlSeconds: { min: 0, max: 3600 },
  /** Largest request payload a REST API accepts. */
  payloadBytes: { min: 0, max: 10 * 1024 * 1024 },
  /** Longest an integration (the accept Lambda, the SQS call) may take. */
  integrationTimeoutSeconds: { min: 0.05, max: 29 },
} as const satisfies Record<string, Range>;

/** Ranges of a circuit breaker's settings: the definition's schema and the runtime (SLUICE_BREAKER) check the same. */
export const BREAKER_LIMITS = {
  windowSeconds: { min: 1, max: 3_600 },
  minimumCalls: { min: 1, max: 100_000 },
  openSeconds: { min: 1, max: 3_600 },
  halfOpenProbes: { min: 1, max: 1_000 },
} as const satisfies Record<string, Range>;

/**
 * A stage's age SLO: from 1 second (ApproximateAgeOfOldestMessage is reported in seconds) to SQS's longest retention.
 * SQS publishes the metric once a minute, so an alarm notices a breach within a minute or so whatever the SLO.
 */
export const AGE_SLO_SECONDS: Range = { min: 1, max: 14 * DAY };

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

/** Defaults of the `ingress` section of a pipeline definition. */
export const INGRESS_DEFAULTS = {
  rateLimitPerSecond: 1000,
  burstLimit: 500,
  /** Soft limit as a fraction of the stage's depth limit: low-priority requests are shed from here. */
  softLimitFraction: 0.8,
  /** Hard limit as a fraction of the stage's depth limit: the overload policy applies from here. */
  hardLimitFraction: 1,
  depthCacheTtlSeconds: 1,
  authorizerResultTtlSeconds: 5,
  maxRetryAfterSeconds: 120,
  /** Parked requests are kept as long as SQS allows. */
  overflowRetentionSeconds: 14 * DAY,
  /** The drainer refills at this fraction of the stage's drain rate, so the stage's backlog still shrinks. */
  overflowDrainFraction: 0.5,
  /** Low watermark as a fraction of the soft limit: far enough below it that draining does not re-trigger shedding. */
  lowWatermarkFraction: 0.5,
  /** The overflow queue holds at most this many times the hard limit before buffering turns into rejecting. */
  overflowDepthFactor: 10,
  priorityHeader: 'x-sluice-priority',
  defaultLane: 'high',
  /** Schema version written into the envelopes of accepted jobs. */
  schemaVersion: 1,
} as const;

/**
 * The `GetQueueAttributes` attributes summed into a queue's depth wherever sluice compares a depth with a limit
 * (admission, stage-to-stage backpressure, the valve, the overflow drainer): waiting, in flight (being processed or
 * backing off) and delayed (deferred records wait as delayed messages, so leaving them out would let a stage that is
 * deferring look empty). https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_GetQueueAttributes.html
 */
export const DEPTH_ATTRIBUTES = [
  'ApproximateNumberOfMessages',
  'ApproximateNumberOfMessagesNotVisible',
  'ApproximateNumberOfMessagesDelayed',
] as const;
