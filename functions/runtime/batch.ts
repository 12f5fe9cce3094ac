import type { MessageAttributeValue } from '@aws-sdk/client-sqs';
import type { Context, SQSBatchItemFailure, SQSBatchResponse, SQSRecord } from 'aws-lambda';
import { type DEAD_LETTER_ATTRIBUTES, type JobEnvelope, readJob } from '../../lib/definition/envelope.ts';
import { SQS_LIMITS } from '../../lib/definition/limits.ts';
import { backoffSeconds } from './backoff.ts';
import type { ConsumerConfig } from './consumer.ts';
import {
  defaultClassify,
  type FailureReason,
  InvocationTimeRunningOutError,
  JobInProgressError,
  JobStateStoreError,
  MessageGroupBlockedError,
  PressureError,
  RecordFault,
  TransientError,
} from './errors.ts';
import * as idempotency from './idempotency.ts';
import { type BatchEnvironment, JobContext } from './job-context.ts';
import { recordTransition } from './job-status.ts';
import { batchMetricDocuments } from './log.ts';
import { BatchScope } from './micro-batcher.ts';
import { DataIssues } from './parse-data.ts';
import { admit, deferRecords, endBatch, recordBreakerOutcome, releaseAdmission } from './pressure.ts';
import { changeVisibilities, type OutgoingMessage, sendMessages, type VisibilityChange } from './sqs-actions.ts';
import type { TenantLease } from './tenant-bulkhead.ts';

/** What became of one record (the handler's time is the record's `ms`). */
type Outcome =
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
const SUCCEEDED: Outcome = { kind: 'succeeded' };
const SKIPPED: Outcome = { kind: 'skipped' };

type Failed = Extract<Outcome, { kind: 'failed' }>;
type Released = Extract<Outcome, { kind: 'released' }>;
type Deferred = Extract<Outcome, { kind: 'deferred' }>;

interface RecordState {
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
 * What the records of a batch that succeeded add up to, and the handler times of those that succeeded or failed. Kept
 * apart from the record states: a succeeded record's state is then garbage as soon as the record is done, instead of
 * surviving the batch (and being copied by every scavenge on the way).
 */
interface Tally {
  succeeded: number;
  readonly processingTimesMs: number[];
}

/** Runs one batch and returns the records to retry. Never throws for a record's failure. */
export async function runBatch(
  config: ConsumerConfig,
  records: readonly SQSRecord[],
  context: Context,
): Promise<SQSBatchResponse> {
  const batch: BatchEnvironment = {
    stage: config.stage,
    logger: config.logger,
    lambdaContext: context,
    pressure: config.pressure,
    scope: config.batchers ? new BatchScope(config.batchers) : undefined,
  };
  const tally: Tally = { succeeded: 0, processingTimesMs: [] };
  const fifo = records.length > 0 && records[0]?.eventSourceARN.endsWith('.fifo') === true;
  // The states of the records settle has work for, by index. FIFO needs them all at once (to group them).
  const states: (RecordState | undefined)[] = fifo
    ? records.map((record) => recordState(record, batch))
    : new Array(records.length);
  await (fifo
    ? runGroups(config, states as RecordState[], context, tally)
    : runEach(config, records, states, batch, context, tally));
  const response = await settle(config, records, states, fifo, tally);
  if (config.pressure.active) {
    await endBatch(config);
  }
  return response;
}

/** A record's state. Every field is set, so all states share one shape and settle's reads of them stay monomorphic. */
function recordState(record: SQSRecord, batch: BatchEnvironment): RecordState {
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
const HANDLER_RAN = -2;

/**
 * Processing times with one clock read per record. A worker runs its records one after the other, so each record
 * starts where the worker's previous one ended (or where the worker started) and the read that ends a record starts
 * the next. A record's time runs from its start to its outcome: reading its body, checking its data, the runtime's own
 * writes (idempotency key, job status) and its handler, which is the time a record costs the stage. Reported for the
 * records whose handler ran.
 */
class RecordClock {
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
function reuseState(state: RecordState, record: SQSRecord): RecordState {
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
function conclude(state: RecordState, outcome: Outcome, tally: Tally): boolean {
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

async function runEach(
  config: ConsumerConfig,
  records: readonly SQSRecord[],
  states: (RecordState | undefined)[],
  batch: BatchEnvironment,
  context: Context,
  tally: Tally,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    // The state of the worker's last record when it succeeded synchronously: nothing else can hold it then (no
    // promise captured it, settle does not need it), so the next record reuses it instead of allocating its own.
    let spare: RecordState | undefined;
    const clock = new RecordClock();
    while (next < records.length) {
      const index = next++;
      const record = records[index] as SQSRecord;
      const state = spare === undefined ? recordState(record, batch) : reuseState(spare, record);
      spare = undefined;
      const running = runRecord(config, state, context);
      if (running instanceof Promise) {
        const outcome = await running;
        clock.stop(state);
        if (conclude(state, outcome, tally)) states[index] = state;
      } else {
        clock.stop(state);
        if (conclude(state, running, tally)) {
          states[index] = state;
        } else if (state.lease === undefined) {
          spare = state;
        }
      }
      if (state.lease) {
        await releaseAdmission(config.pressure, state.lease);
        clock.restart();
      }
    }
  };
  const workers = Math.min(config.recordConcurrency, records.length);
  if (workers === 1) {
    await worker();
    return;
  }
  await Promise.all(Array.from({ length: workers }, worker));
}

/**
 * FIFO: each message group in order; groups run in parallel. After a record that is retried (or not run), the group's
 * later records are not run, to keep its order. A failed record that is dead-lettered no longer holds the group: it is
 * parked at once, and once the dead-letter queue has it the group's later records run.
 */
async function runGroups(config: ConsumerConfig, states: RecordState[], context: Context, tally: Tally): Promise<void> {
  const groups = new Map<string, RecordState[]>();
  for (const state of states) {
    const id = state.record.attributes.MessageGroupId ?? '';
    const group = groups.get(id);
    if (group) {
      group.push(state);
    } else {
      groups.set(id, [state]);
    }
  }
  const queue = [...groups.entries()];
  let next = 0;
  const worker = async () => {
    const clock = new RecordClock();
    while (next < queue.length) {
      const [groupId, members] = queue[next++] as [string, RecordState[]];
      let blocked: Released | undefined;
      for (let index = 0; index < members.length; index++) {
        const state = members[index] as RecordState;
        if (blocked) {
          state.outcome = blocked;
          continue;
        }
        const running = runRecord(config, state, context);
        const outcome = running instanceof Promise ? await running : running;
        clock.stop(state);
        // A succeeded record's state stays in the group (settle skips it); its envelope can go.
        if (!conclude(state, outcome, tally)) state.job = undefined;
        if (state.lease) {
          await releaseAdmission(config.pressure, state.lease);
          clock.restart();
        }
        // A deferred record blocks its group like a released one: FIFO takes no per-message delay, so it is handed
        // back in place and the group's later records must wait for it.
        if (outcome.kind === 'succeeded' || outcome.kind === 'skipped') {
          continue;
        }
        if (outcome.kind === 'failed' && index < members.length - 1 && deadLettersNow(config, state, outcome)) {
          await park(config, [state]);
          clock.restart();
          if (state.parked) {
            continue;
          }
        }
        blocked = { kind: 'released', error: new MessageGroupBlockedError(groupId), retryAfterSeconds: 0 };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(config.recordConcurrency, queue.length) }, worker));
}

/** Whether a failed record goes to the dead-letter queue now: a permanent failure, or its last allowed receive. */
function deadLettersNow(config: ConsumerConfig, state: RecordState, outcome: Failed): boolean {
  return Boolean(config.deadLetterQueueUrl) && (outcome.permanent || state.receiveCount >= config.maxReceiveCount);
}

/**
 * Sends the records held back by pressure again (see `deferral.ts`). Those that cannot be (FIFO, too many message
 * attributes, a failed send) become released records, handed back with the deferral's delay and never marked failed;
 * those past `maxDeferrals` become permanent failures, dead-lettered with the reason.
 */
async function deferHeld(config: ConsumerConfig, held: RecordState[]): Promise<void> {
  const queueUrl = config.queueUrl ?? queueUrlFromArn((held[0] as RecordState).record.eventSourceARN);
  const results = await deferRecords(
    config,
    queueUrl,
    held.map((state) => ({ record: state.record, error: (state.outcome as Deferred).error, jobId: state.job?.jobId })),
  );
  results.forEach((result, index) => {
    if (result.kind !== 'deferred') (held[index] as RecordState).outcome = result;
  });
}

/** Sends failed records to the dead-letter queue with their reasons and notes in each whether it got there. */
async function park(config: ConsumerConfig, states: readonly RecordState[]): Promise<void> {
  // The stage attribute is the same for every record: one object serves the whole call.
  const stage: MessageAttributeValue = { DataType: 'String', StringValue: config.stage };
  const failures = await sendMessages(
    config.clients,
    config.deadLetterQueueUrl as string,
    states.map((state) => deadLetterMessage(state, stage)),
  );
  states.forEach((state, index) => {
    const failure = failures.get(index);
    state.parked = failure === undefined;
    if (failure !== undefined) state.parkFailure = failure;
  });
}

/**
 * Runs one record. Synchronous while nothing needs waiting for (no tables, a synchronous handler, nothing forwarded):
 * a batch of such records then costs no promise per record, valid or not.
 */
function runRecord(config: ConsumerConfig, state: RecordState, context: Context): Outcome | Promise<Outcome> {
  const remaining = context.getRemainingTimeInMillis();
  if (remaining < config.timeoutMarginMs) {
    return {
      kind: 'released',
      error: new InvocationTimeRunningOutError(remaining, config.timeoutMarginMs),
      retryAfterSeconds: 0,
    };
  }
  const job = readJob(state.record.body);
  if (typeof job === 'string') {
    return { kind: 'failed', error: RecordFault.malformed(job), permanent: true };
  }
  state.job = job;
  let data = job.data;
  if (job.schemaVersion !== config.schemaVersion) {
    const supported = config.migrate ? `versions 1 to ${config.schemaVersion}` : `version ${config.schemaVersion}`;
    if (job.schemaVersion > config.schemaVersion || !config.migrate) {
      return { kind: 'failed', error: RecordFault.unsupportedVersion(job.schemaVersion, supported), permanent: true };
    }
    try {
      data = config.migrate(data, job.schemaVersion);
    } catch (error) {
      return failure(config, error);
    }
  }
  let parsed: unknown;
  try {
    parsed = config.parseData(data);
  } catch (error) {
    // A refinement of the user's schema threw.
    return failure(config, error);
  }
  if (parsed instanceof Promise) {
    return parsed.then(
      (settled: unknown) => runParsed(config, state, job, settled, remaining),
      (error: unknown) => failure(config, error),
    );
  }
  return runParsed(config, state, job, parsed, remaining);
}

function runParsed(
  config: ConsumerConfig,
  state: RecordState,
  job: JobEnvelope,
  parsed: unknown,
  remaining: number,
): Outcome | Promise<Outcome> {
  if (parsed instanceof DataIssues) {
    return { kind: 'failed', error: RecordFault.schemaMismatch(parsed.issues), permanent: true };
  }
  // Pressure is checked before the idempotency claim and the handler: a held record costs no write and no work.
  return config.pressure.gated
    ? admitThenRun(config, state, job, parsed, remaining)
    : runAdmitted(config, state, job, parsed, remaining);
}

async function admitThenRun(
  config: ConsumerConfig,
  state: RecordState,
  job: JobEnvelope,
  data: unknown,
  remaining: number,
): Promise<Outcome> {
  const admission = await admit(config.pressure, data, remaining);
  if (admission instanceof PressureError) {
    return { kind: 'deferred', error: admission };
  }
  state.lease = admission;
  return runAdmitted(config, state, job, data, remaining);
}

function runAdmitted(
  config: ConsumerConfig,
  state: RecordState,
  job: JobEnvelope,
  parsed: unknown,
  remaining: number,
): Outcome | Promise<Outcome> {
  const ctx = new JobContext(job, state.record, state.receiveCount, state.batch);
  return config.idempotency || config.jobs
    ? runTracked(config, state, job, parsed, ctx, remaining)
    : runHandler(config, state, parsed, ctx);
}

/** The handler, then its forwarded jobs; synchronous when the handler is and forwards nothing. */
function runHandler(
  config: ConsumerConfig,
  state: RecordState,
  data: unknown,
  ctx: JobContext,
): Outcome | Promise<Outcome> {
  if (config.batchers) ctx.startRun();
  let pending: Promise<void> | void;
  try {
    pending = config.handler(data, ctx);
  } catch (error) {
    state.micros = HANDLER_RAN;
    if (config.batchers) ctx.endRun();
    if (config.pressure.breaker) recordBreakerOutcome(config.pressure, ctx, error);
    return failure(config, error);
  }
  if (pending === undefined && (ctx.forwarded === undefined || ctx.forwarded.length === 0)) {
    state.micros = HANDLER_RAN;
    if (config.batchers) ctx.endRun();
    if (config.pressure.breaker) recordBreakerOutcome(config.pressure, ctx);
    return SUCCEEDED;
  }
  return finishHandler(config, state, pending, ctx);
}

async function finishHandler(
  config: ConsumerConfig,
  state: RecordState,
  pending: Promise<void> | void,
  ctx: JobContext,
): Promise<Outcome> {
  try {
    if (pending !== undefined) await pending;
    if (config.batchers) ctx.endRun();
    if (ctx.forwarded !== undefined && ctx.forwarded.length > 0) {
      await forward(config, ctx.forwarded, ctx.correlationId);
    }
  } catch (error) {
    state.micros = HANDLER_RAN;
    if (config.batchers) ctx.endRun();
    if (config.pressure.breaker) recordBreakerOutcome(config.pressure, ctx, error);
    return failure(config, error);
  }
  state.micros = HANDLER_RAN;
  if (config.pressure.breaker) recordBreakerOutcome(config.pressure, ctx);
  return SUCCEEDED;
}

/** A record with idempotency and/or job status: claim the key, record `processing`, run, complete. */
async function runTracked(
  config: ConsumerConfig,
  state: RecordState,
  job: JobEnvelope,
  data: unknown,
  ctx: JobContext,
  remaining: number,
): Promise<Outcome> {
  let owner: string | undefined;
  let key: string | undefined;
  const store = config.idempotency?.store;
  if (config.idempotency) {
    key = config.idempotency.key ? config.idempotency.key(data, ctx) : `${config.stage}#${job.jobId}`;
    let claim: idempotency.Claim;
    try {
      claim = await idempotency.claim(config.idempotency.store, key, remaining + 1_000);
    } catch (error) {
      return { kind: 'failed', error: new JobStateStoreError('claim the idempotency key', error), permanent: false };
    }
    if (claim.status === 'completed') {
      ctx.logger.info('Skipped a duplicate of a completed job', { idempotencyKey: key });
      // The run that completed the key may have failed to write `completed`: write it (a no-op when it is there).
      return config.jobs ? recordCompleted(config, job, SKIPPED) : SKIPPED;
    }
    if (claim.status === 'in-progress') {
      const error = new JobInProgressError(key, claim.leaseEndsInSeconds);
      return { kind: 'released', error, retryAfterSeconds: claim.leaseEndsInSeconds };
    }
    owner = claim.owner;
  }
  if (config.jobs) {
    try {
      await recordTransition(config.jobs, {
        jobId: job.jobId,
        state: 'processing',
        stage: config.stage,
        ...envelopeFields(job),
      });
    } catch (error) {
      if (store && key !== undefined && owner !== undefined) await releaseKey(config, store, key, owner);
      return { kind: 'failed', error: new JobStateStoreError("record the job's processing", error), permanent: false };
    }
  }
  const outcome = await runHandler(config, state, data, ctx);
  if (store && key !== undefined && owner !== undefined) {
    if (outcome.kind !== 'succeeded') {
      await releaseKey(config, store, key, owner);
      return outcome;
    }
    try {
      if (!(await idempotency.complete(store, key, owner))) {
        ctx.logger.warn(
          'The idempotency lease ran out before the job completed; another delivery may have run it too',
          {
            idempotencyKey: key,
          },
        );
      }
    } catch (error) {
      // The job ran: reporting it failed would run it again once the lease ends. The key stays in-progress until
      // then, so a concurrent duplicate is still held off.
      ctx.logger.error('Could not mark the idempotency key completed', { idempotencyKey: key, error });
    }
  }
  return config.jobs && outcome.kind === 'succeeded' ? recordCompleted(config, job, outcome) : outcome;
}

/**
 * Writes `completed` and returns `done`; when the write fails, the record is released instead of reported done, so a
 * later delivery writes it (with idempotency on, that delivery skips the job as a completed duplicate and only repairs
 * its status). Released, not failed: the job's work is done, so it must never be dead-lettered for this.
 */
async function recordCompleted(config: ConsumerConfig, job: JobEnvelope, done: Outcome): Promise<Outcome> {
  try {
    await recordTransition(config.jobs as NonNullable<ConsumerConfig['jobs']>, {
      jobId: job.jobId,
      state: 'completed',
      stage: config.stage,
    });
    return done;
  } catch (error) {
    return { kind: 'released', error: new JobStateStoreError('record the job completed', error) };
  }
}

/** Releases the idempotency key after a failed attempt; if that fails too, the lease runs out on its own. */
async function releaseKey(
  config: ConsumerConfig,
  store: idempotency.IdempotencyStore,
  key: string,
  owner: string,
): Promise<void> {
  try {
    await idempotency.release(store, key, owner);
  } catch (error) {
    config.logger.error('Could not release the idempotency key; a retry waits for its lease to end', {
      idempotencyKey: key,
      error,
    });
  }
}

function failure(config: ConsumerConfig, error: unknown): Failed | Deferred {
  if (error instanceof PressureError) {
    return { kind: 'deferred', error };
  }
  const asError = error instanceof Error ? error : new Error(String(error));
  const kind = config.classify?.(error) ?? defaultClassify(error);
  return { kind: 'failed', error: asError, permanent: kind === 'permanent' };
}

async function forward(config: ConsumerConfig, messages: OutgoingMessage[], correlationId: string): Promise<void> {
  const url = config.nextQueueUrl;
  if (!url) {
    throw new TransientError(
      'The handler forwarded jobs, but the stage has no next queue (set nextQueueUrl or SLUICE_NEXT_QUEUE_URL).',
    );
  }
  const fifo = url.endsWith('.fifo');
  const outgoing = messages.map((message) =>
    fifo
      ? { ...message, messageGroupId: message.messageGroupId ?? correlationId }
      : // Standard queue: only the tenant's group id (fair queues); no deduplication id.
        { body: message.body, ...(message.messageGroupId ? { messageGroupId: message.messageGroupId } : {}) },
  );
  const failed = await sendMessages(config.clients, url, outgoing);
  if (failed.size > 0) {
    const [reason] = failed.values();
    throw new TransientError(
      `${failed.size} of ${messages.length} forwarded jobs could not be sent to the next stage (${reason}).`,
    );
  }
}

function envelopeFields(job: JobEnvelope): { correlationId?: string; acceptedAt?: number } {
  return {
    ...(job.correlationId === undefined ? {} : { correlationId: job.correlationId }),
    ...(job.acceptedAt === undefined ? {} : { acceptedAt: job.acceptedAt }),
  };
}

/**
 * Dead-letters, delays and reports the failed records, hands back the released ones; emits the batch's metrics.
 *
 * A record released on its last allowed receive (`maxReceiveCount`) would be moved to the dead-letter queue by the
 * queue's redrive policy on its next receive ("when the ReceiveCount for a message exceeds the maxReceiveCount",
 * https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-dead-letter-queues.html), without a
 * reason and although it never failed. On a standard queue it is sent again instead, as a new message with the same
 * body (so the same job id, idempotency key and status item), a fresh receive budget and its retry's delay, and the
 * received copy is reported done. Bounded: a record is released only while the invocation is short of time (a later
 * batch starts it early), while another delivery holds its lease (which ends with that delivery's function timeout),
 * or while DynamoDB refuses its status write. On a FIFO queue a new message would go behind the group's later messages
 * (and FIFO takes no per-message delay,
 * https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SendMessageBatchRequestEntry.html), so it
 * is released in place and the gap stays: SQS may then move it to the dead-letter queue without a reason (its status
 * is not marked, so the delivery that runs it still completes it). Give FIFO queues maxReceiveCount headroom above the
 * retries the handler needs.
 */
async function settle(
  config: ConsumerConfig,
  records: readonly SQSRecord[],
  states: readonly (RecordState | undefined)[],
  fifo: boolean,
  tally: Tally,
): Promise<SQSBatchResponse> {
  const batchItemFailures: SQSBatchItemFailure[] = [];
  let deadLetters: RecordState[] = [];
  let retries: RecordState[] = [];
  let releases: RecordState[] = [];
  let requeues: RecordState[] = [];
  let skipped = 0;
  let toPark = 0;
  /** Sorts the records by outcome, in batch order (FIFO groups report in order); returns those held by pressure. */
  const sortOutcomes = (): RecordState[] | undefined => {
    let held: RecordState[] | undefined;
    for (const state of states) {
      // No state: a record that succeeded (counted in the tally).
      if (state === undefined) continue;
      const outcome = state.outcome as Outcome;
      if (outcome.kind === 'succeeded') {
      } else if (outcome.kind === 'skipped') {
        skipped++;
      } else if (outcome.kind === 'deferred') {
        // Sent again with its delay (deferHeld); counted by reason in the pressure metrics, reported done here.
        held ??= [];
        held.push(state);
      } else if (outcome.kind === 'released') {
        (!fifo && state.receiveCount >= config.maxReceiveCount ? requeues : releases).push(state);
      } else {
        // A transient failure on the last allowed receive is dead-lettered here, so its reason travels with it; left
        // to the redrive policy, it would arrive in the dead-letter queue without one.
        if (state.parked !== undefined || deadLettersNow(config, state, outcome)) {
          deadLetters.push(state);
          if (state.parked === undefined) toPark++;
        } else {
          retries.push(state);
        }
      }
    }
    return held;
  };
  // One pass finds the held records with the rest (no pass of its own on a batch that held none). Deferring them may
  // turn some into released or failed records: then the batch is sorted again, to keep the records' order.
  const held = sortOutcomes();
  if (held !== undefined) {
    await deferHeld(config, held);
    if (held.some((state) => (state.outcome as Outcome).kind !== 'deferred')) {
      [deadLetters, retries, releases, requeues] = [[], [], [], []];
      [skipped, toPark] = [0, 0];
      sortOutcomes();
    }
  }

  if (toPark > 0 || requeues.length > 0) {
    const queueUrl = config.queueUrl ?? queueUrlFromArn((records[0] as SQSRecord).eventSourceARN);
    await Promise.all([
      toPark > 0
        ? park(
            config,
            toPark === deadLetters.length ? deadLetters : deadLetters.filter((state) => state.parked === undefined),
          )
        : undefined,
      requeues.length > 0 ? requeue(config, queueUrl, requeues, releases) : undefined,
    ]);
  }
  if (retries.length > 0 || releases.length > 0) {
    const queueUrl = config.queueUrl ?? queueUrlFromArn((records[0] as SQSRecord).eventSourceARN);
    const delays: VisibilityChange[] = [];
    for (const list of [retries, releases]) {
      for (const state of list) {
        const outcome = state.outcome as Failed | Released;
        delays.push({
          receiptHandle: state.record.receiptHandle,
          visibilityTimeoutSeconds: outcome.retryAfterSeconds ?? backoffSeconds(state.receiveCount, config.backoff),
        });
      }
    }
    await changeVisibilities(config.clients, queueUrl, delays);
  }
  const writes: Promise<unknown>[] = [];
  let deadLettered = 0;
  for (const state of deadLetters) {
    const outcome = state.outcome as Failed;
    if (!state.parked) {
      // Not parked: report it failed so SQS delivers it again rather than losing it.
      batchItemFailures.push({ itemIdentifier: state.record.messageId });
      config.logger.error('Could not send a record to the dead-letter queue; it will be delivered again', {
        ...logFields(state, outcome.error),
        sendError: state.parkFailure,
      });
      continue;
    }
    deadLettered++;
    config.logger.warn('Dead-lettered a record', logFields(state, outcome.error));
    if (config.jobs) writes.push(transition(config, state, 'dead-lettered', outcome.error));
  }
  for (const state of retries) {
    const outcome = state.outcome as Failed;
    batchItemFailures.push({ itemIdentifier: state.record.messageId });
    config.logger.warn('A record failed and will be retried', logFields(state, outcome.error));
    if (config.jobs) writes.push(transition(config, state, 'failed', outcome.error));
  }
  for (const state of releases) {
    batchItemFailures.push({ itemIdentifier: state.record.messageId });
    config.logger.info('A record was released without running and will be delivered again', {
      ...logFields(state, (state.outcome as Released).error),
    });
  }
  if (writes.length > 0) await Promise.all(writes);

  const sink = config.logSink ?? ((line: string) => process.stdout.write(`${line}\n`));
  for (const document of batchMetricDocuments(
    {
      records: records.length,
      succeeded: tally.succeeded,
      retried: retries.length + releases.length + requeues.length,
      deadLettered,
      skipped,
      processingTimesMs: tally.processingTimesMs,
    },
    { pipeline: config.pipeline, stage: config.stage },
  )) {
    sink(document);
  }
  return { batchItemFailures };
}

/**
 * Sends released records on their last allowed receive back to the queue as new messages (see {@link settle}). One
 * that could not be sent is added to `releases`, to be released in place instead.
 */
async function requeue(
  config: ConsumerConfig,
  queueUrl: string,
  requeues: RecordState[],
  releases: RecordState[],
): Promise<void> {
  const failures = await sendMessages(
    config.clients,
    queueUrl,
    requeues.map((state) => ({
      body: state.record.body,
      attributes: messageAttributesOf(state.record),
      // DelaySeconds is at most 15 minutes (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SendMessageBatchRequestEntry.html).
      delaySeconds: Math.min(
        SQS_LIMITS.deliveryDelaySeconds.max,
        (state.outcome as Released).retryAfterSeconds ?? backoffSeconds(state.receiveCount, config.backoff),
      ),
    })),
  );
  for (let index = requeues.length - 1; index >= 0; index--) {
    const state = requeues[index] as RecordState;
    if (failures.has(index)) {
      releases.push(state);
      requeues.splice(index, 1);
    } else {
      config.logger.info('Sent a record that did not run back to the queue, with a fresh receive budget', {
        ...logFields(state, (state.outcome as Released).error),
      });
    }
  }
}

/** A received record's message attributes as SendMessage takes them. */
function messageAttributesOf(record: SQSRecord): Record<string, MessageAttributeValue> | undefined {
  let attributes: Record<string, MessageAttributeValue> | undefined;
  for (const name in record.messageAttributes) {
    const value = record.messageAttributes[name] as SQSRecord['messageAttributes'][string];
    attributes ??= {};
    attributes[name] =
      value.binaryValue === undefined
        ? { DataType: value.dataType, StringValue: value.stringValue ?? '' }
        : { DataType: value.dataType, BinaryValue: Buffer.from(value.binaryValue, 'base64') };
  }
  return attributes;
}

function transition(
  config: ConsumerConfig,
  state: RecordState,
  to: 'failed' | 'dead-lettered',
  error: FailureReason,
): Promise<unknown> {
  if (!config.jobs || !state.job) {
    return Promise.resolve();
  }
  return recordTransition(config.jobs, {
    jobId: state.job.jobId,
    state: to,
    stage: config.stage,
    error: { class: error.name, message: error.message },
    ...envelopeFields(state.job),
  }).catch((writeError: unknown) => {
    config.logger.error('Could not record the job state', { jobId: state.job?.jobId, error: writeError });
  });
}

/** The dead-letter attributes, by name: literal keys keep the object's shape fixed (computed keys cost a shape change each). */
type DeadLetterAttributes = Record<
  (typeof DEAD_LETTER_ATTRIBUTES)[keyof typeof DEAD_LETTER_ATTRIBUTES],
  MessageAttributeValue
>;

function deadLetterMessage(state: RecordState, stage: MessageAttributeValue): OutgoingMessage {
  const outcome = state.outcome as Failed;
  const attributes: DeadLetterAttributes = {
    'sluice-error-class': { DataType: 'String', StringValue: outcome.error.name },
    // SQS attribute values are limited in total with the body; a reason needs no more than this.
    'sluice-error-message': {
      DataType: 'String',
      StringValue: outcome.error.message.slice(0, 4_096) || '(no message)',
    },
    'sluice-stage': stage,
    'sluice-receive-count': { DataType: 'Number', StringValue: String(state.receiveCount) },
    'sluice-first-seen-at': {
      DataType: 'String',
      StringValue: isoAt(Number(state.record.attributes.ApproximateFirstReceiveTimestamp) || Date.now()),
    },
  };
  const groupId = state.record.attributes.MessageGroupId;
  return groupId
    ? { body: state.record.body, attributes, messageGroupId: groupId, deduplicationId: state.record.messageId }
    : { body: state.record.body, attributes };
}

let lastIsoMs = Number.NaN;
let lastIso = '';

/**
 * Epoch milliseconds as ISO 8601, formatted once per distinct value: the records of one receive share their first
 * receive timestamp, so a batch's dead letters mostly do.
 */
function isoAt(ms: number): string {
  if (ms !== lastIsoMs) {
    lastIso = new Date(ms).toISOString();
    lastIsoMs = ms;
  }
  return lastIso;
}

function logFields(state: RecordState, error: FailureReason): Record<string, unknown> {
  return {
    messageId: state.record.messageId,
    jobId: state.job?.jobId,
    correlationId: state.job?.correlationId ?? state.job?.jobId,
    receiveCount: state.receiveCount,
    errorClass: error.name,
    error: error.message,
  };
}

/** The queue URL of an SQS ARN on AWS (`arn:aws:sqs:region:account:name`), when SLUICE_QUEUE_URL is not set. */
export function queueUrlFromArn(arn: string): string {
  const [, partition, , region, account, name] = arn.split(':');
  const domain = partition === 'aws-cn' ? 'amazonaws.com.cn' : 'amazonaws.com';
  return `https://sqs.${region}.${domain}/${account}/${name}`;
}
