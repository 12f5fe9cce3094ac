/**
 * The errors of the consumer runtime. A handler throws {@link PermanentError} for a record that can never succeed
 * and {@link TransientError} for one that may succeed later; the runtime raises the others itself.
 */

/** Base class of every error the runtime raises or classifies. */
export class SluiceRuntimeError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'SluiceRuntimeError';
  }
}

/** A record that can never succeed: it goes to the dead-letter queue at once, with this message as its reason. */
export class PermanentError extends SluiceRuntimeError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'PermanentError';
  }
}

/** A record that may succeed later (throttling, a timeout, a 5xx): retried with backoff until maxReceiveCount. */
export class TransientError extends SluiceRuntimeError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'TransientError';
  }
}

const malformedMessage = (reason: string) => `The message is not a sluice job: ${reason}.`;
const schemaMismatchMessage = (issues: readonly string[]) =>
  `The job's data does not match the stage's schema: ${issues.join('; ')}.`;
const unsupportedVersionMessage = (version: number, supported: string) =>
  `schemaVersion ${version} is not supported by this consumer, which reads ${supported}.`;

/** The message body is not a sluice job envelope (not JSON, or a field missing or of the wrong type). */
export class MalformedMessageError extends PermanentError {
  constructor(reason: string, options?: ErrorOptions) {
    super(malformedMessage(reason), options);
    this.name = 'MalformedMessageError';
  }
}

/** The job's data does not match the stage's schema; the message lists each issue as `path: message`. */
export class SchemaValidationError extends PermanentError {
  readonly issues: readonly string[];

  constructor(issues: readonly string[], options?: ErrorOptions) {
    super(schemaMismatchMessage(issues), options);
    this.name = 'SchemaValidationError';
    this.issues = issues;
  }
}

/** The job was written against a schema version this consumer cannot read (newer, or older with no `migrate`). */
export class UnsupportedSchemaVersionError extends PermanentError {
  constructor(version: number, supported: string, options?: ErrorOptions) {
    super(unsupportedVersionMessage(version, supported), options);
    this.name = 'UnsupportedSchemaVersionError';
  }
}

/** Why a record failed, as its log lines, job status and dead-letter attributes carry it. Every Error is one. */
export interface FailureReason {
  readonly name: string;
  readonly message: string;
}

/**
 * A fault of the record itself that the runtime finds before the handler runs: the name and message of the error
 * class above that describes it, without the Error. The record is at fault, not the code, so a stack trace would say
 * nothing, and constructing an Error costs about 0.35 µs even without one, more than the rest of such a record's
 * handling (bench/consumer.bench.ts, the 1-in-20 failure case). Always permanent.
 */
export class RecordFault implements FailureReason {
  readonly name: string;
  readonly message: string;

  private constructor(name: string, message: string) {
    this.name = name;
    this.message = message;
  }

  /** What a {@link MalformedMessageError} says. */
  static malformed(reason: string): RecordFault {
    return new RecordFault('MalformedMessageError', malformedMessage(reason));
  }

  /** What a {@link SchemaValidationError} says. */
  static schemaMismatch(issues: readonly string[]): RecordFault {
    return new RecordFault('SchemaValidationError', schemaMismatchMessage(issues));
  }

  /** What an {@link UnsupportedSchemaVersionError} says. */
  static unsupportedVersion(version: number, supported: string): RecordFault {
    return new RecordFault('UnsupportedSchemaVersionError', unsupportedVersionMessage(version, supported));
  }
}

/** Another delivery of the same job holds the idempotency lease; this one is retried after the lease ends. */
export class JobInProgressError extends TransientError {
  readonly retryAfterSeconds: number;

  constructor(key: string, retryAfterSeconds: number, options?: ErrorOptions) {
    super(
      `Another delivery of '${key}' is in progress; retrying after its lease ends in ${retryAfterSeconds} s.`,
      options,
    );
    this.name = 'JobInProgressError';
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

/** Too little of the invocation's time was left to start the record; it is released back to the queue. */
export class InvocationTimeRunningOutError extends TransientError {
  constructor(remainingMs: number, marginMs: number, options?: ErrorOptions) {
    super(
      `Only ${remainingMs} ms of the invocation were left, under the ${marginMs} ms margin; the record was released unstarted.`,
      options,
    );
    this.name = 'InvocationTimeRunningOutError';
  }
}

/** An earlier record of the same FIFO message group failed in this batch, so this one was not run (order is kept). */
export class MessageGroupBlockedError extends TransientError {
  constructor(groupId: string, options?: ErrorOptions) {
    super(
      `An earlier record of message group '${groupId}' failed in this batch; this one was not run, to keep the group's order.`,
      options,
    );
    this.name = 'MessageGroupBlockedError';
  }
}

/**
 * A DynamoDB call of the runtime's own bookkeeping (the idempotency key, the job's status) failed. Always transient,
 * whatever DynamoDB answered (a missing table is a 4xx too): the record is retried, and the rest of the batch goes on.
 * The message says what failed, not what happens next: on the record's last allowed receive it is the reason the
 * record is dead-lettered with, and the runtime's log line says which it was.
 */
export class JobStateStoreError extends TransientError {
  constructor(action: string, cause: unknown) {
    const reason = cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause);
    super(`Could not ${action} in DynamoDB (${reason})`, { cause });
    this.name = 'JobStateStoreError';
  }
}

/** The consumer was configured wrongly (an option out of range, a required URL missing). Thrown at module load. */
export class ConsumerConfigurationError extends SluiceRuntimeError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'ConsumerConfigurationError';
  }
}

/** Why a record was deferred: the pressure that held it back. */
export type DeferralReason = 'next-stage' | 'rate-limit' | 'breaker-open' | 'tenant-cap' | 'handler';

/**
 * Base class of pressure: the record is fine, but something downstream cannot take it now. The runtime turns it into a
 * deferral (the record is sent again with a delay) that never spends the record's retry budget. A transient error for
 * any code that does not know about pressure.
 */
export class PressureError extends TransientError {
  readonly reason: DeferralReason;
  /** When to try again, if the source of the pressure knows (a limiter's refill, a breaker's open period). */
  readonly retryAfterSeconds: number | undefined;

  constructor(reason: DeferralReason, message: string, retryAfterSeconds?: number, options?: ErrorOptions) {
    super(message, options);
    this.name = 'PressureError';
    this.reason = reason;
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

/**
 * Defers the record: thrown by `ctx.limiter(name).take()` when the bucket is empty, and by a handler that wants its
 * record tried later without counting an attempt.
 *
 * @example
 * if (await quotaExhausted(job.tenantId)) throw new DeferError('handler', 'tenant quota exhausted', 60);
 */
export class DeferError extends PressureError {
  constructor(reason: DeferralReason, message: string, retryAfterSeconds?: number, options?: ErrorOptions) {
    super(reason, message, retryAfterSeconds, options);
    this.name = 'DeferError';
  }
}

/** The record was deferred more times than the stage allows (`maxDeferrals`): pressure never let it through. */
export class DeferralLimitExceededError extends PermanentError {
  constructor(deferrals: number, maxDeferrals: number, lastReason: string, options?: ErrorOptions) {
    super(
      `The record was deferred ${deferrals} times (last for ${lastReason}), reaching maxDeferrals ${maxDeferrals}; it is dead-lettered so it is not deferred forever.`,
      options,
    );
    this.name = 'DeferralLimitExceededError';
  }
}

/** A micro-batched item that made its downstream call fail on its own, isolated by bisecting the call. */
export class PoisonItemError extends PermanentError {
  constructor(batcher: string, options?: ErrorOptions) {
    const cause = options?.cause instanceof Error ? `: ${options.cause.message}` : '';
    super(`Item of micro-batcher '${batcher}' fails its downstream call on its own${cause}`, options);
    this.name = 'PoisonItemError';
  }
}

/** How the runtime treats a failed record. */
export type FailureKind = 'permanent' | 'transient';

/** Names of errors from AWS SDKs and Node that mean "try again later". */
const TRANSIENT_NAMES = new Set([
  'ThrottlingException',
  'Throttling',
  'TooManyRequestsException',
  'ProvisionedThroughputExceededException',
  'RequestLimitExceeded',
  'ServiceUnavailable',
  'InternalServerError',
  'TimeoutError',
  'AbortError',
]);
const TRANSIENT_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'EPIPE', 'EAI_AGAIN']);

/**
 * The default classification: sluice's own errors by class; AWS SDK throttling, timeouts and 5xx, and network errors
 * are transient; anything unknown is transient too (maxReceiveCount still ends it in the dead-letter queue).
 */
export function defaultClassify(error: unknown): FailureKind {
  if (error instanceof PermanentError) {
    return 'permanent';
  }
  if (error instanceof TransientError) {
    return 'transient';
  }
  if (error instanceof Error) {
    const meta = (error as { $metadata?: { httpStatusCode?: number } }).$metadata;
    const status = meta?.httpStatusCode;
    if (status !== undefined && status >= 400 && status < 500 && status !== 429 && !TRANSIENT_NAMES.has(error.name)) {
      // A 4xx from AWS other than throttling will fail the same way next time.
      return 'permanent';
    }
    if (TRANSIENT_NAMES.has(error.name) || TRANSIENT_CODES.has((error as { code?: string }).code ?? '')) {
      return 'transient';
    }
  }
  return 'transient';
}
