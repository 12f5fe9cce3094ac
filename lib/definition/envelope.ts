/**
 * The body of every message sluice puts on a queue: the user's data wrapped with the job id and the version of the
 * data's schema. The ingress writes it, producers can write it with {@link encodeJob}, and the runtime reads it with
 * {@link decodeJob} before the user's schema sees `data`.
 *
 * ```json
 * { "jobId": "01J…", "schemaVersion": 1, "data": { … }, "correlationId": "…", "acceptedAt": 1767225600000 }
 * ```
 */

/** Job ids: 1 to 128 characters of letters, digits and `-_.:` (safe as a DynamoDB key and in a URL path). */
export const JOB_ID_PATTERN = /^[A-Za-z0-9_.:-]{1,128}$/;

/** Lanes a job can be routed to; `low` is shed first under load. */
export const PRIORITIES = ['high', 'low'] as const;
/** A job's priority lane. */
export type Priority = (typeof PRIORITIES)[number];

/** A job as it travels through the queues. */
export interface JobEnvelope<T = unknown> {
  readonly jobId: string;
  /** Version of the schema `data` was written against; the consumer upgrades older versions with its `migrate`. */
  readonly schemaVersion: number;
  readonly data: T;
  /** Carried through every stage and log line of the job. */
  readonly correlationId?: string;
  /** Epoch milliseconds when sluice accepted the job. */
  readonly acceptedAt?: number;
  readonly priority?: Priority;
}

/** What {@link decodeJob} returns: the envelope, or why the body is not one (a permanent failure). */
export type DecodedJob =
  | { readonly ok: true; readonly job: JobEnvelope }
  | { readonly ok: false; readonly reason: string };

/** Serialises a job for `SendMessage`. */
export function encodeJob(job: JobEnvelope): string {
  return JSON.stringify(job);
}

/** Parses and checks a message body. Never throws: a body that is not an envelope comes back with its reason. */
export function decodeJob(body: string): DecodedJob {
  const job = readJob(body);
  return typeof job === 'string' ? { ok: false, reason: job } : { ok: true, job };
}

/**
 * {@link decodeJob} without the result object: the envelope, or the reason (a string) the body is not one. The
 * consumer runtime reads every record's body with it.
 */
export function readJob(body: string): JobEnvelope | string {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch (error) {
    return `body is not valid JSON: ${(error as Error).message}`;
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return `body must be a JSON object with jobId, schemaVersion and data, but ${describe(value)} was provided`;
  }
  const job = value as Record<string, unknown>;
  const { jobId, schemaVersion, correlationId, acceptedAt, priority } = job;
  if (typeof jobId !== 'string' || !JOB_ID_PATTERN.test(jobId)) {
    return `jobId must be 1 to 128 characters of letters, digits and -_.:, but ${describe(jobId)} was provided`;
  }
  if (typeof schemaVersion !== 'number' || !Number.isInteger(schemaVersion) || schemaVersion < 1) {
    return `schemaVersion must be an integer of at least 1, but ${describe(schemaVersion)} was provided`;
  }
  if (!('data' in job)) {
    return 'data is required: the envelope carries the job in its data field';
  }
  if (correlationId !== undefined && typeof correlationId !== 'string') {
    return `correlationId must be a string, but ${describe(correlationId)} was provided`;
  }
  if (acceptedAt !== undefined && (typeof acceptedAt !== 'number' || !Number.isFinite(acceptedAt))) {
    return `acceptedAt must be epoch milliseconds, but ${describe(acceptedAt)} was provided`;
  }
  if (priority !== undefined && !PRIORITIES.includes(priority as Priority)) {
    return `priority must be one of ${PRIORITIES.join(', ')}, but ${describe(priority)} was provided`;
  }
  return job as unknown as JobEnvelope;
}

function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  const text = JSON.stringify(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

/**
 * Message attributes a dead-lettered message carries, so an operator sees why it is there without the logs.
 * The runtime sets them when it dead-letters a permanent failure; `sluice dlq` reads them.
 */
export const DEAD_LETTER_ATTRIBUTES = {
  errorClass: 'sluice-error-class',
  errorMessage: 'sluice-error-message',
  stage: 'sluice-stage',
  receiveCount: 'sluice-receive-count',
  firstSeenAt: 'sluice-first-seen-at',
} as const;
