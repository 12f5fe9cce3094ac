/**
 * Names of the environment variables that connect a deployed (or locally run) consumer to its pipeline.
 *
 * The constructs set them on every consumer function, the local runtime sets them on the handlers it runs, and the
 * runtime in `functions/runtime` reads them. One list, so the three cannot drift apart.
 */
export const ENV = {
  /** The pipeline's name. */
  pipelineName: 'SLUICE_PIPELINE',
  /** The stage's name within its pipeline. */
  stageName: 'SLUICE_STAGE',
  /** URL of the stage's source queue. */
  queueUrl: 'SLUICE_QUEUE_URL',
  /** URL of the stage's dead-letter queue, where permanent failures are sent at once. */
  deadLetterQueueUrl: 'SLUICE_DLQ_URL',
  /** URL of the next stage's queue, when the stage has one. */
  nextQueueUrl: 'SLUICE_NEXT_QUEUE_URL',
  /** The source queue's `maxReceiveCount`, so the runtime knows which attempt is the last. */
  maxReceiveCount: 'SLUICE_MAX_RECEIVE_COUNT',
  /** The source queue's visibility timeout in seconds, the ceiling for a retry's backoff. */
  visibilityTimeoutSeconds: 'SLUICE_VISIBILITY_TIMEOUT_SECONDS',
  /** Name of the pipeline's job status table, when job status is on. */
  jobTableName: 'SLUICE_JOB_TABLE',
  /** Name of the pipeline's idempotency table, when idempotency is on. */
  idempotencyTableName: 'SLUICE_IDEMPOTENCY_TABLE',
  /** URL of the low-priority lane's queue, when the ingress has priority lanes. */
  lowLaneQueueUrl: 'SLUICE_LOW_QUEUE_URL',
  /** URL of the ingress's overflow queue, when its overload policy is `buffer`. */
  overflowQueueUrl: 'SLUICE_OVERFLOW_QUEUE_URL',
  /** The depth-check authorizer's settings (`AuthorizerSettings` of `resolve-ingress.ts`) as JSON. */
  admission: 'SLUICE_ADMISSION',
  /** `schemaVersion` the accept function writes into envelopes. */
  schemaVersion: 'SLUICE_SCHEMA_VERSION',
  /** The overflow drainer: messages per second it moves, and the depth below which it moves them (JSON). */
  drain: 'SLUICE_DRAIN',
  /** Name of the pipeline's control table (rate limiters, circuit breakers, tenant leases), when it has one. */
  controlTableName: 'SLUICE_CONTROL_TABLE',
  /** The stage's shared rate limiters as JSON: `{ "<name>": { "ratePerMinute": n, "burst": n } }`, burst resolved. */
  downstreams: 'SLUICE_DOWNSTREAMS',
  /** The stage's resolved circuit breaker settings as JSON (failureRatio, windowSeconds, minimumCalls, openSeconds, halfOpenProbes). */
  breaker: 'SLUICE_BREAKER',
  /** The stage's tenant bulkhead as JSON: `{ "key": "<field of data>", "maxInFlight": n }`. */
  tenant: 'SLUICE_TENANT',
  /** The next stage's hard depth limit (visible messages); the consumer defers instead of forwarding at or above it. */
  nextDepthLimit: 'SLUICE_NEXT_DEPTH_LIMIT',
  /** Standard AWS SDK variable: when set, every sluice client (runtime, local runtime, operator commands) uses it. */
  awsEndpointUrl: 'AWS_ENDPOINT_URL',
} as const;

/** One of the names in {@link ENV}. */
export type EnvironmentVariableName = (typeof ENV)[keyof typeof ENV];
