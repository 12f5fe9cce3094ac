import type * as z from 'zod';
import type {
  BackpressureSettingsSchema,
  IngressClientSchema,
  IngressSettingsSchema,
  OverflowSettingsSchema,
  PrioritySettingsSchema,
  QuotaSettingsSchema,
  ThrottleSettingsSchema,
} from './ingress-schema.ts';
import type {
  BreakerSettingsSchema,
  ConsumerSettingsSchema,
  DownstreamSettingsSchema,
  FlowSettingsSchema,
  IdempotencySettingsSchema,
  JobStatusSettingsSchema,
  PipelineSchema,
  QueueSettingsSchema,
  StageSchema,
  TenantSettingsSchema,
} from './pipeline-schema.ts';

/**
 * What `definePipeline` takes, written out with a doc comment and `@default` on every field so an editor shows them
 * as it does for construct props (types inferred from zod carry no documentation). The zod schemas stay the source of
 * the ranges and the validation; the checks at the end of this file fail to compile when these interfaces and the
 * schemas' input types disagree on a field's name, optionality or type. A new schema field gets its documented
 * counterpart here.
 */

/** Settings of a stage's source queue and of its dead-letter queue. */
export interface QueueSettingsInput {
  /** A FIFO queue (and FIFO dead-letter queue): records of one message group are processed in order. @default false */
  readonly fifo?: boolean;
  /** FIFO only: deduplicate on a SHA-256 of the body instead of an explicit deduplication id. @default false */
  readonly contentBasedDeduplication?: boolean;
  /** Receives before SQS moves a message to the dead-letter queue, 1 to 1000. @default 5 */
  readonly maxReceiveCount?: number;
  /**
   * Visibility timeout of the queue, 0 to 43200 seconds; raised (with a warning) to 6 × `consumer.timeoutSeconds` +
   * `consumer.maxBatchingWindowSeconds` when lower, as AWS advises.
   * @default - 6 × consumer.timeoutSeconds + consumer.maxBatchingWindowSeconds
   */
  readonly visibilityTimeoutSeconds?: number;
  /** How long SQS keeps an unconsumed message, 60 to 1209600 seconds. @default 345600 (4 days) */
  readonly retentionPeriodSeconds?: number;
  /** Largest message body, 1024 to 1048576 bytes. @default 262144 */
  readonly maxMessageSizeBytes?: number;
  /** Delay before a new message becomes visible, 0 to 900 seconds. @default 0 */
  readonly deliveryDelaySeconds?: number;
}

/** The Lambda function that consumes a stage's queue, and its SQS event source mapping. */
export interface ConsumerSettingsInput {
  /** Path of the handler's source file, relative to the project root (bundled with esbuild). */
  readonly entry: string;
  /** Exported name of the handler in `entry`. @default 'handler' */
  readonly handler?: string;
  /** Function timeout, 1 to 900 seconds. @default 30 */
  readonly timeoutSeconds?: number;
  /** Function memory, 128 to 10240 MiB. @default 512 */
  readonly memorySizeMiB?: number;
  /** Records per invocation, 1 to 10000; above 10 needs a batching window of at least 1 second; at most 10 on FIFO. @default 10 */
  readonly batchSize?: number;
  /** Seconds the event source mapping waits to fill a batch, 0 to 300; must be 0 on FIFO queues. @default 1 (0 on FIFO) */
  readonly maxBatchingWindowSeconds?: number;
  /** `ScalingConfig.MaximumConcurrency`: concurrent invocations the queue may drive, 2 to 1000. @default 5 */
  readonly maxConcurrency?: number;
  /** Reserved concurrency of the function; at least `maxConcurrency`. @default - maxConcurrency */
  readonly reservedConcurrency?: number;
  /** Records of one batch processed at the same time by the runtime, 1 to 100. @default 1 */
  readonly recordConcurrency?: number;
  /** Extra environment variables of the function. @default - none */
  readonly environment?: Readonly<Record<string, string>>;
}

/** Flow-control targets of a stage. */
export interface FlowSettingsInput {
  /** Service level for `ApproximateAgeOfOldestMessage`: no accepted record should wait longer. @default 300 */
  readonly ageSloSeconds?: number;
  /**
   * Queue depth above which producers are pushed back.
   * @default - ageSloSeconds × the stage's drain rate (Little's law)
   */
  readonly depthLimit?: number;
  /** Mean processing time of one record in milliseconds: the basis of the drain-rate estimate. @default 100 */
  readonly recordProcessingMs?: number;
}

/** A downstream service's shared token bucket (`ctx.limiter(name)`). */
export interface DownstreamSettingsInput {
  /** Tokens a minute the downstream allows the whole stage, 1 to 100000000. */
  readonly ratePerMinute: number;
  /** Tokens that may be taken at once after an idle spell. @default - ratePerMinute / 60 × 10, at least 1 */
  readonly burst?: number;
}

/** A stage's circuit breaker (state in the pipeline's control table; the valve pauses the stage while it is open). */
export interface BreakerSettingsInput {
  /** Share of failed calls that opens the breaker, above 0 and at most 1. @default 0.5 */
  readonly failureRatio?: number;
  /** Seconds of calls the ratio is computed over, 1 to 3600. @default 30 */
  readonly windowSeconds?: number;
  /** Calls in the window below which the breaker never opens, 1 to 100000. @default 20 */
  readonly minimumCalls?: number;
  /** Seconds the breaker stays open before it probes, 1 to 3600. @default 30 */
  readonly openSeconds?: number;
  /** Calls let through while half-open, 1 to 1000. @default 3 */
  readonly halfOpenProbes?: number;
}

/** A per-tenant bulkhead in one stage (needs the pipeline's `tenantKey`). */
export interface TenantSettingsInput {
  /** Records of one tenant the stage processes at once across its containers, 1 to 100000. */
  readonly maxInFlight: number;
}

/** One stage: a queue, the function that consumes it, and its flow-control targets. */
export interface StageInput {
  /** 1 to 30 characters of lower-case letters, digits and hyphens, starting with a letter. */
  readonly name: string;
  /** At most 256 characters. @default - none */
  readonly description?: string;
  /** Name of the stage that receives what this stage's handler forwards. @default - none: the last stage */
  readonly next?: string;
  /** @default - the queue defaults above */
  readonly queue?: QueueSettingsInput;
  readonly consumer: ConsumerSettingsInput;
  /** @default - the flow defaults above */
  readonly flow?: FlowSettingsInput;
  /** Downstream services with a shared rate limit, by name (`[a-z][a-z0-9-]*`). @default - none */
  readonly downstream?: Readonly<Record<string, DownstreamSettingsInput>>;
  /** @default - no circuit breaker */
  readonly breaker?: BreakerSettingsInput;
  /** @default - no tenant bulkhead */
  readonly tenants?: TenantSettingsInput;
}

/** Job status tracking in DynamoDB (accepted → processing → completed | failed | dead-lettered). */
export interface JobStatusSettingsInput {
  readonly enabled: boolean;
  /** Days a job's status record is kept (DynamoDB TTL), 1 to 3650. @default 30 */
  readonly ttlDays?: number;
}

/** Idempotency records in DynamoDB, so a redelivered record's side effect runs once. */
export interface IdempotencySettingsInput {
  readonly enabled: boolean;
  /** Seconds a completed key is remembered (DynamoDB TTL), 60 to 31536000. @default 86400 */
  readonly ttlSeconds?: number;
}

/** Steady-state rate and burst of a token bucket, as API Gateway's stage and usage plan throttles take them. */
export interface ThrottleSettingsInput {
  /** Requests per second refilled into the bucket. @default 1000 */
  readonly rateLimitPerSecond?: number;
  /** Size of the bucket: requests that may arrive at once. @default 500 */
  readonly burstLimit?: number;
}

/** Requests a client may make per period (a usage plan quota). */
export interface QuotaSettingsInput {
  readonly limit: number;
  readonly period: 'DAY' | 'WEEK' | 'MONTH';
}

/** One producer: an API key and a usage plan with its own throttle and quota. */
export interface IngressClientInput {
  /** 1 to 64 characters of letters, digits and -_., starting with a letter. */
  readonly name: string;
  readonly rateLimitPerSecond: number;
  readonly burstLimit: number;
  /** @default - no quota */
  readonly quota?: QuotaSettingsInput;
}

/** When the ingress stops saying yes: depth thresholds of the stage's queues and what happens past them. */
export interface BackpressureSettingsInput {
  /** Depth above which low-priority requests are shed (with priority lanes on). @default - 0.8 × the stage's depthLimit */
  readonly softLimit?: number;
  /** Depth above which the overload policy applies to every request. @default - the stage's depthLimit */
  readonly hardLimit?: number;
  /** `reject`: answer 503 with Retry-After. `buffer`: park the request on the overflow queue. @default 'reject' */
  readonly overload?: 'reject' | 'buffer';
  /** How long an authorizer container reuses a queue depth it read, 0.1 to 60 seconds. @default 1 */
  readonly depthCacheTtlSeconds?: number;
  /** How long API Gateway caches an authorizer decision, 0 to 10 seconds. @default 5 */
  readonly authorizerResultTtlSeconds?: number;
  /** Ceiling of the `Retry-After` sluice estimates from depth and drain rate, 1 to 3600 seconds. @default 120 */
  readonly maxRetryAfterSeconds?: number;
}

/** The overflow buffer used by the `buffer` overload policy. */
export interface OverflowSettingsInput {
  /** How long a parked request waits on the overflow queue before SQS deletes it. @default 1209600 (14 days) */
  readonly retentionSeconds?: number;
  /** Messages per second the drainer moves back into the stage's queue. @default - half the stage's drain rate */
  readonly drainRatePerSecond?: number;
  /** The drainer moves messages only while the stage's depth is below this. @default - half the lower of soft and hard limit */
  readonly lowWatermark?: number;
  /** Depth of the overflow queue above which even `buffer` rejects with 503. @default - 10 × the hard limit */
  readonly maxDepth?: number;
}

/** Priority lanes: a header routes each request to a high or a low queue, each with its own consumer. */
export interface PrioritySettingsInput {
  readonly enabled: boolean;
  /** Request header carrying `high` or `low`, lower case. @default 'x-sluice-priority' */
  readonly header?: string;
  /** Lane of a request without the header. @default 'high' */
  readonly defaultLane?: 'high' | 'low';
  /** `ScalingConfig.MaximumConcurrency` of the low lane's consumer. @default - half the stage's maxConcurrency, at least 2 */
  readonly lowLaneMaxConcurrency?: number;
}

/** The HTTP ingress of a pipeline: API Gateway in front of a stage's queue, with backpressure. */
export interface IngressInput {
  /** Name of the stage requests are accepted into. @default - the first stage */
  readonly stage?: string;
  /** `direct`: API Gateway sends to SQS itself. `function`: an accept Lambda validates with zod and records the job. @default 'direct' */
  readonly integration?: 'direct' | 'function';
  /** `schemaVersion` written into the envelope of every accepted job. @default 1 */
  readonly schemaVersion?: number;
  /** Stage-wide throttle (API Gateway answers 429 past it). @default - 1000 requests per second, burst 500 */
  readonly throttle?: ThrottleSettingsInput;
  /** API keys, each with its own usage plan; at most 100. @default - none: no API key is required */
  readonly clients?: readonly IngressClientInput[];
  /** @default - the backpressure defaults above */
  readonly backpressure?: BackpressureSettingsInput;
  /** @default - the overflow defaults above (used with `overload: 'buffer'`) */
  readonly overflow?: OverflowSettingsInput;
  /** @default - no priority lanes */
  readonly priority?: PrioritySettingsInput;
}

/** A pipeline definition as written by a user: named stages, the tables they share, and an optional ingress. */
export interface PipelineInput {
  /** 1 to 40 characters of lower-case letters, digits and hyphens, starting with a letter. */
  readonly name: string;
  /** At most 256 characters. @default - none */
  readonly description?: string;
  /** 1 to 100 stages. */
  readonly stages: readonly StageInput[];
  /** @default - no job status table */
  readonly jobs?: JobStatusSettingsInput;
  /** @default - no idempotency table */
  readonly idempotency?: IdempotencySettingsInput;
  /**
   * Top-level field of a job's data naming its tenant: the message group id on standard queues (SQS fair queues) and
   * the key of the stages' bulkheads. @default - none
   */
  readonly tenantKey?: string;
  /** @default - no ingress */
  readonly ingress?: IngressInput;
}

// ---- Static checks: each interface has exactly the fields of its schema's input type, with the same types. ----

type DeepReadonly<T> = T extends (...args: never[]) => unknown
  ? T
  : T extends readonly (infer Element)[]
    ? readonly DeepReadonly<Element>[]
    : T extends object
      ? { readonly [K in keyof T]: DeepReadonly<T[K]> }
      : T;
type SameKeys<A, B> = [Exclude<keyof A, keyof B>, Exclude<keyof B, keyof A>] extends [never, never] ? true : false;
type Assignable<A, B> = [A] extends [B] ? true : false;
/** `true` when `Ours` documents exactly what `Schema` accepts. */
type Documents<Ours, Schema extends z.ZodType> =
  SameKeys<Ours, z.input<Schema>> extends true
    ? Assignable<Ours, DeepReadonly<z.input<Schema>>> extends true
      ? Assignable<DeepReadonly<z.input<Schema>>, Ours>
      : false
    : false;

/** A compile error here names the interface that no longer matches its schema. */
export type InputInterfacesMatchSchemas = [
  Assert<Documents<QueueSettingsInput, typeof QueueSettingsSchema>>,
  Assert<Documents<ConsumerSettingsInput, typeof ConsumerSettingsSchema>>,
  Assert<Documents<FlowSettingsInput, typeof FlowSettingsSchema>>,
  Assert<Documents<DownstreamSettingsInput, typeof DownstreamSettingsSchema>>,
  Assert<Documents<BreakerSettingsInput, typeof BreakerSettingsSchema>>,
  Assert<Documents<TenantSettingsInput, typeof TenantSettingsSchema>>,
  Assert<Documents<StageInput, typeof StageSchema>>,
  Assert<Documents<JobStatusSettingsInput, typeof JobStatusSettingsSchema>>,
  Assert<Documents<IdempotencySettingsInput, typeof IdempotencySettingsSchema>>,
  Assert<Documents<ThrottleSettingsInput, typeof ThrottleSettingsSchema>>,
  Assert<Documents<QuotaSettingsInput, typeof QuotaSettingsSchema>>,
  Assert<Documents<IngressClientInput, typeof IngressClientSchema>>,
  Assert<Documents<BackpressureSettingsInput, typeof BackpressureSettingsSchema>>,
  Assert<Documents<OverflowSettingsInput, typeof OverflowSettingsSchema>>,
  Assert<Documents<PrioritySettingsInput, typeof PrioritySettingsSchema>>,
  Assert<Documents<IngressInput, typeof IngressSettingsSchema>>,
  Assert<Documents<PipelineInput, typeof PipelineSchema>>,
];
type Assert<T extends true> = T;
