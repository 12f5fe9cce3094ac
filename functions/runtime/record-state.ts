/**
 * What the consumer runtime keeps about each record of a batch while it runs: its outcome and processing time, and
 * the batch's tally of the records that succeeded.
 */
import type { SQSRecord } from 'aws-lambda';
import type { JobEnvelope } from '../../lib/definition/envelope.ts';
import { type FailureReason, type PressureError, RecordFault } from './errors.ts';
import type { BatchEnvironment } from './job-context.ts';
import type { TenantLease } from './tenant-bulkhead.ts';

/** What became of one record (its processing time is on its state). */
export type Outcome =
  | { readonly kind: 'succeeded' }
  | { readonly kind: 'skipped' }
  /** Held back by pressure: sent again with a delay by settle, without spending the record's retry budget. */
  | { readonly kind: 'deferred'; readonly error: PressureError }
  | {
      // Not run (the invocation's time ran short, another delivery holds it, an earlier record of its FIFO group is
      // pending) or run with only its status write left: handed back to the queue, never counted as a failure, never
      // dead-lettered and never marked failed, so it cannot block the delivery that does run it.
      readonly kind: 'released';
      readonly error: Error;
      readonly retryAfterSeconds?: number;
    }
  | {
      readonly kind: 'failed';
      /** An Error, or a {@link RecordFault} for a record the runtime refused before its handler. */
      readonly error: FailureReason;
      readonly permanent: boolean;
      readonly retryAfterSeconds?: number;
    };

/** The outcomes that carry nothing of their own: shared, so a record that succeeds allocates no outcome. */
export const SUCCEEDED: Outcome = { kind: 'succeeded' };

/** A duplicate of a completed job, skipped (idempotency). */
export const SKIPPED: Outcome = { kind: 'skipped' };

/** A record that failed: retried with backoff, or dead-lettered. */
export type Failed = Extract<Outcome, { kind: 'failed' }>;

/** A record handed back without counting as a failure. */
export type Released = Extract<Outcome, { kind: 'released' }>;

/** A record held back by pressure. */
export type Deferred = Extract<Outcome, { kind: 'deferred' }>;

/** A record of the batch while it runs, and after it when settle has work for it. */
export interface RecordState {
  record: SQSRecord;
  receiveCount: number;
  /** What the records of the batch share (stage, logger, Lambda context, pressure, micro-batchers). */
  readonly batch: BatchEnvironment;
  /** The tenant slot the record holds while it runs (tenant bulkhead). */
  lease?: TenantLease;
  job?: JobEnvelope;
  outcome?: Outcome;
  /**
   * The record's processing time in microseconds, from its start to its outcome (see {@link RecordClock}), for a
   * record whose handler ran; -1 while it has not run, {@link HANDLER_RAN} from the moment it ran until the clock is
   * read. Whole microseconds stay small integers (up to Lambda's 15 minutes), which V8 stores in the field itself
   * rather than in a number allocated per record.
   */
  micros: number;
  /** Set once the record was sent to the dead-letter queue (true) or the send failed (false, with the reason). */
  parked?: boolean;
  parkFailure?: string;
}

/**
 * What the records of a batch that succeeded add up to, and the processing times of those whose handler ran. Kept
 * apart from the record states: a succeeded record's state is then garbage as soon as the record is done, instead of
 * surviving the batch (and being copied by every scavenge on the way).
 */
export interface Tally {
  succeeded: number;
  readonly processingTimesMs: number[];
}

/** A record's state. Every field is set, so all states share one shape and settle's reads of them stay monomorphic. */
export function recordState(record: SQSRecord, batch: BatchEnvironment): RecordState {
  return {
    record,
    receiveCount: Number(record.attributes.ApproximateReceiveCount) || 1,
    batch,
    lease: undefined,
    job: undefined,
    outcome: undefined,
    micros: -1,
    parked: undefined,
    parkFailure: undefined,
  };
}

/** Marks a record whose handler ran, until its worker reads the clock. */
export const HANDLER_RAN = -2;

/**
 * Processing times with one clock read per record. A worker runs its records one after the other, so each record
 * starts where the worker's previous one ended (or where the worker started) and the read that ends a record starts
 * the next. A record's time runs from its start to its outcome: reading its body, checking its data, the runtime's own
 * writes (idempotency key, job status) and its handler, which is the time a record costs the stage. Reported for the
 * records whose handler ran.
 */
export class RecordClock {
  private last = performance.now();

  /** Ends `state`'s record: sets its processing time when its handler ran. */
  stop(state: RecordState): void {
    const now = performance.now();
    if (state.micros === HANDLER_RAN) {
      // Whole microseconds: the EMF documents stay short and cheap to write.
      state.micros = Math.round((now - this.last) * 1000);
    }
    this.last = now;
  }

  /** Starts the next record now, after work between records (a tenant lease released, a dead letter sent). */
  restart(): void {
    this.last = performance.now();
  }
}

/** `state`, emptied, for `record` (see `runEach`). */
export function reuseState(state: RecordState, record: SQSRecord): RecordState {
  state.record = record;
  state.receiveCount = Number(record.attributes.ApproximateReceiveCount) || 1;
  state.job = undefined;
  state.outcome = undefined;
  state.micros = -1;
  return state;
}

/**
 * Records a record's outcome on its state; a succeeded one is counted in the tally. Returns whether settle has work
 * for the record (every outcome but success).
 */
export function conclude(state: RecordState, outcome: Outcome, tally: Tally): boolean {
  state.outcome = outcome;
  if (state.micros >= 0 && (outcome.kind === 'succeeded' || outcome.kind === 'failed')) {
    tally.processingTimesMs.push(state.micros / 1000);
  }
  if (outcome.kind === 'succeeded') {
    tally.succeeded++;
    return false;
  }
  return true;
}

export function envelopeFields(job: JobEnvelope): { correlationId?: string; acceptedAt?: number } {
  return {
    ...(job.correlationId === undefined ? {} : { correlationId: job.correlationId }),
    ...(job.acceptedAt === undefined ? {} : { acceptedAt: job.acceptedAt }),
  };
}
