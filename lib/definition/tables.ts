/**
 * The DynamoDB tables a pipeline may own, described once: the constructs create them from this, the runtime reads and
 * writes them with these attribute names, and the local runtime provisions the same shape on DynamoDB Local.
 */

/** One table's key and time-to-live attribute. Both tables use a single string partition key and no sort key. */
export interface TableShape {
  /** Name of the string partition key attribute. */
  readonly partitionKey: string;
  /** Name of the number attribute holding epoch seconds after which DynamoDB's TTL may delete the item. */
  readonly ttlAttribute: string;
}

/** The job status table: one item per job id, written by every stage the job passes through. */
export const JOB_TABLE: TableShape = { partitionKey: 'jobId', ttlAttribute: 'expiresAt' };

/** The idempotency table: one item per idempotency key (by default the stage name and the job id). */
export const IDEMPOTENCY_TABLE: TableShape = { partitionKey: 'id', ttlAttribute: 'expiresAt' };

/**
 * The control table: one per pipeline, shared by every container of its stages. Items are keyed by kind, pipeline and
 * name: `limiter#<pipeline>#<name>` (token bucket), `breaker#<pipeline>#<stage>` (circuit breaker),
 * `tenant#<pipeline>#<stage>#<tenant>` (in-flight leases). Idle items expire by TTL.
 */
export const CONTROL_TABLE: TableShape = { partitionKey: 'pk', ttlAttribute: 'expiresAt' };

/**
 * A job's states. `accepted` (written by the ingress in function mode) → `processing` ⇄ `failed` (an attempt failed
 * and will be retried) → `completed` or `dead-lettered`. A final state is never left: a late duplicate delivery
 * cannot turn `completed` back into `processing`.
 */
export const JOB_STATES = ['accepted', 'processing', 'completed', 'failed', 'dead-lettered'] as const;
/** One of {@link JOB_STATES}. */
export type JobState = (typeof JOB_STATES)[number];

/** States from which a job never moves again. */
export const FINAL_JOB_STATES: readonly JobState[] = ['completed', 'dead-lettered'];
