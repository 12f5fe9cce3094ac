/**
 * One record of a batch: its envelope and data checked, pressure admitted, idempotency claimed and job status written
 * when configured, its handler run and its forwarded jobs sent. Synchronous while nothing needs waiting for.
 */
import type { Context } from 'aws-lambda';
import { type JobEnvelope, readJob } from '../../lib/definition/envelope.ts';
import type { ConsumerConfig } from './consumer.ts';
import {
  defaultClassify,
  InvocationTimeRunningOutError,
  JobInProgressError,
  JobStateStoreError,
  PressureError,
  RecordFault,
  TransientError,
} from './errors.ts';
import * as idempotency from './idempotency.ts';
import { JobContext } from './job-context.ts';
import { recordTransition } from './job-status.ts';
import { DataIssues } from './parse-data.ts';
import { admit, recordBreakerOutcome } from './pressure.ts';
import {
  type Deferred,
  envelopeFields,
  type Failed,
  HANDLER_RAN,
  type Outcome,
  type RecordState,
  SKIPPED,
  SUCCEEDED,
} from './record-state.ts';
import { type OutgoingMessage, sendMessages } from './sqs-actions.ts';

/**
 * Runs one record. Synchronous while nothing needs waiting for (no tables, a synchronous handler, nothing forwarded):
 * a batch of such records then costs no promise per record, valid or not.
 */
export function runRecord(config: ConsumerConfig, state: RecordState, context: Context): Outcome | Promise<Outcome> {
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
