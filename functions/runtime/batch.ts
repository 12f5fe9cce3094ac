import type { Context, SQSBatchItemFailure, SQSBatchResponse, SQSRecord } from 'aws-lambda';
import { safeParse } from 'zod/v4/core';
import { DEAD_LETTER_ATTRIBUTES, decodeJob, type JobEnvelope } from '../../lib/definition/envelope.ts';
import { backoffSeconds } from './backoff.ts';
import type { ConsumerConfig } from './consumer.ts';
import {
  defaultClassify,
  InvocationTimeRunningOutError,
  JobInProgressError,
  MalformedMessageError,
  MessageGroupBlockedError,
  PressureError,
  SchemaValidationError,
  TransientError,
  UnsupportedSchemaVersionError,
} from './errors.ts';
import * as idempotency from './idempotency.ts';
import { JobContext } from './job-context.ts';
import { recordTransition } from './job-status.ts';
import { batchMetricDocuments } from './log.ts';
import { admit, deferRecords, endBatch, recordBreakerOutcome } from './pressure.ts';
import { changeVisibilities, type OutgoingMessage, sendMessages, type VisibilityChange } from './sqs-actions.ts';

/** What became of one record. */
type Outcome =
  | { readonly kind: 'succeeded'; readonly ms: number }
  | { readonly kind: 'skipped' }
  /** Held back by pressure: sent again with a delay by settle, without spending the record's retry budget. */
  | { readonly kind: 'deferred'; readonly error: PressureError; readonly ms?: number }
  | {
      readonly kind: 'failed';
      readonly error: Error;
      readonly permanent: boolean;
      readonly retryAfterSeconds?: number;
      readonly ms?: number;
    };

interface RecordState {
  readonly record: SQSRecord;
  readonly receiveCount: number;
  job?: JobEnvelope;
  outcome?: Outcome;
}

/** Runs one batch and returns the records to retry. Never throws for a record's failure. */
export async function runBatch(
  config: ConsumerConfig,
  records: readonly SQSRecord[],
  context: Context,
): Promise<SQSBatchResponse> {
  const states: RecordState[] = records.map((record) => ({
    record,
    receiveCount: Number(record.attributes.ApproximateReceiveCount) || 1,
  }));
  const fifo = records.length > 0 && records[0]?.eventSourceARN.endsWith('.fifo') === true;
  await (fifo ? runGroups(config, states, context) : runEach(config, states, context));
  const response = await settle(config, states);
  if (config.pressure.active) {
    await endBatch(config);
  }
  return response;
}

async function runEach(config: ConsumerConfig, states: RecordState[], context: Context): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < states.length) {
      const state = states[next++] as RecordState;
      state.outcome = await runRecord(config, state, context);
    }
  };
  const workers = Math.min(config.recordConcurrency, states.length);
  if (workers === 1) {
    await worker();
    return;
  }
  await Promise.all(Array.from({ length: workers }, worker));
}

/** FIFO: each message group in order; after a failure the group's later records are not run. Groups run in parallel. */
async function runGroups(config: ConsumerConfig, states: RecordState[], context: Context): Promise<void> {
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
    while (next < queue.length) {
      const [groupId, members] = queue[next++] as [string, RecordState[]];
      let blocked = false;
      for (const state of members) {
        if (blocked) {
          state.outcome = {
            kind: 'failed',
            error: new MessageGroupBlockedError(groupId),
            permanent: false,
            retryAfterSeconds: 0,
          };
          continue;
        }
        state.outcome = await runRecord(config, state, context);
        blocked = state.outcome.kind === 'failed';
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(config.recordConcurrency, queue.length) }, worker));
}

async function runRecord(config: ConsumerConfig, state: RecordState, context: Context): Promise<Outcome> {
  const remaining = context.getRemainingTimeInMillis();
  if (remaining < config.timeoutMarginMs) {
    return {
      kind: 'failed',
      error: new InvocationTimeRunningOutError(remaining, config.timeoutMarginMs),
      permanent: false,
      retryAfterSeconds: 0,
    };
  }
  const decoded = decodeJob(state.record.body);
  if (!decoded.ok) {
    return { kind: 'failed', error: new MalformedMessageError(decoded.reason), permanent: true };
  }
  const job = decoded.job;
  state.job = job;
  let data = job.data;
  if (job.schemaVersion !== config.schemaVersion) {
    const supported = config.migrate ? `versions 1 to ${config.schemaVersion}` : `version ${config.schemaVersion}`;
    if (job.schemaVersion > config.schemaVersion || !config.migrate) {
      return {
        kind: 'failed',
        error: new UnsupportedSchemaVersionError(job.schemaVersion, supported),
        permanent: true,
      };
    }
    try {
      data = config.migrate(data, job.schemaVersion);
    } catch (error) {
      return failure(config, error);
    }
  }
  const parsed = safeParse(config.validator, data);
  if (!parsed.success) {
    const issues = parsed.error.issues.map(
      (issue) => `${issue.path.length > 0 ? issue.path.join('.') : '(root)'}: ${issue.message}`,
    );
    return { kind: 'failed', error: new SchemaValidationError(issues), permanent: true };
  }
  // Pressure is checked before the idempotency claim and the handler: a held record costs no write and no work.
  if (config.pressure.gated) {
    const held = await admit(config.pressure);
    if (held) {
      return { kind: 'deferred', error: held };
    }
  }
  const ctx = new JobContext({
    job,
    receiveCount: state.receiveCount,
    stage: config.stage,
    messageId: state.record.messageId,
    messageGroupId: state.record.attributes.MessageGroupId,
    logger: config.logger,
    lambdaContext: context,
    pressure: config.pressure,
  });

  let owner: string | undefined;
  let key: string | undefined;
  if (config.idempotency) {
    key = config.idempotency.key ? config.idempotency.key(parsed.data, ctx) : `${config.stage}#${job.jobId}`;
    const claim = await idempotency.claim(config.idempotency.store, key, remaining + 1_000);
    if (claim.status === 'completed') {
      ctx.logger.info('Skipped a duplicate of a completed job', { idempotencyKey: key });
      return { kind: 'skipped' };
    }
    if (claim.status === 'in-progress') {
      const error = new JobInProgressError(key, claim.leaseEndsInSeconds);
      return { kind: 'failed', error, permanent: false, retryAfterSeconds: claim.leaseEndsInSeconds };
    }
    owner = claim.owner;
  }
  if (config.jobs) {
    await recordTransition(config.jobs, {
      jobId: job.jobId,
      state: 'processing',
      stage: config.stage,
      ...envelopeFields(job),
    });
  }
  const started = performance.now();
  try {
    const pending = config.handler(parsed.data, ctx);
    // A synchronous handler costs no extra microtask.
    if (pending !== undefined) await pending;
    if (ctx.forwarded !== undefined && ctx.forwarded.length > 0) {
      await forward(config, ctx.forwarded, ctx.correlationId);
    }
  } catch (error) {
    if (owner !== undefined && key !== undefined && config.idempotency) {
      await idempotency.release(config.idempotency.store, key, owner);
    }
    if (config.pressure.breaker) recordBreakerOutcome(config.pressure, ctx, error);
    return { ...failure(config, error), ms: elapsedMs(started) };
  }
  const ms = elapsedMs(started);
  if (config.pressure.breaker) recordBreakerOutcome(config.pressure, ctx);
  if (owner !== undefined && key !== undefined && config.idempotency) {
    const stillOwner = await idempotency.complete(config.idempotency.store, key, owner);
    if (!stillOwner) {
      ctx.logger.warn('The idempotency lease ran out before the job completed; another delivery may have run it too', {
        idempotencyKey: key,
      });
    }
  }
  if (config.jobs) {
    await recordTransition(config.jobs, { jobId: job.jobId, state: 'completed', stage: config.stage });
  }
  return { kind: 'succeeded', ms };
}

function failure(config: ConsumerConfig, error: unknown): Extract<Outcome, { kind: 'failed' | 'deferred' }> {
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
    fifo ? { ...message, messageGroupId: message.messageGroupId ?? correlationId } : { body: message.body },
  );
  const failed = await sendMessages(config.clients, url, outgoing);
  if (failed.size > 0) {
    throw new TransientError(
      `${failed.size} of ${messages.length} forwarded jobs could not be sent to the next stage.`,
    );
  }
}

function envelopeFields(job: JobEnvelope): { correlationId?: string; acceptedAt?: number } {
  return {
    ...(job.correlationId === undefined ? {} : { correlationId: job.correlationId }),
    ...(job.acceptedAt === undefined ? {} : { acceptedAt: job.acceptedAt }),
  };
}

/** Dead-letters, delays and reports the failed records; emits the batch's metrics. */
async function settle(config: ConsumerConfig, states: RecordState[]): Promise<SQSBatchResponse> {
  const batchItemFailures: SQSBatchItemFailure[] = [];
  const deadLetters: RecordState[] = [];
  const delays: VisibilityChange[] = [];
  const delayed: RecordState[] = [];
  const processingTimesMs: number[] = [];
  let succeeded = 0;
  let skipped = 0;
  await deferHeld(config, states);
  for (const state of states) {
    const outcome = state.outcome as Outcome;
    if (outcome.kind === 'succeeded') {
      succeeded++;
      processingTimesMs.push(outcome.ms);
      continue;
    }
    if (outcome.kind === 'skipped') {
      skipped++;
      continue;
    }
    if (outcome.kind === 'deferred') {
      // Counted by reason in the pressure metrics; the original is done, its copy is on the queue.
      continue;
    }
    if (outcome.ms !== undefined) {
      processingTimesMs.push(outcome.ms);
    }
    // A transient failure on the last allowed receive is dead-lettered here, so its reason travels with it; left to
    // the redrive policy, it would arrive in the dead-letter queue without one.
    const lastReceive = state.receiveCount >= config.maxReceiveCount;
    if (
      config.deadLetterQueueUrl &&
      (outcome.permanent || lastReceive) &&
      !(outcome.error instanceof MessageGroupBlockedError)
    ) {
      deadLetters.push(state);
      continue;
    }
    delayed.push(state);
    delays.push({
      receiptHandle: state.record.receiptHandle,
      visibilityTimeoutSeconds: outcome.retryAfterSeconds ?? backoffSeconds(state.receiveCount, config.backoff),
    });
  }

  const deadLetterFailures = config.deadLetterQueueUrl
    ? await sendMessages(
        config.clients,
        config.deadLetterQueueUrl,
        deadLetters.map((state) => deadLetterMessage(config, state)),
      )
    : new Set<number>();
  if (delays.length > 0) {
    const queueUrl = config.queueUrl ?? queueUrlFromArn((delayed[0] as RecordState).record.eventSourceARN);
    await changeVisibilities(config.clients, queueUrl, delays);
  }
  const writes: Promise<unknown>[] = [];
  deadLetters.forEach((state, index) => {
    const outcome = state.outcome as Extract<Outcome, { kind: 'failed' }>;
    if (deadLetterFailures.has(index)) {
      // Not parked: report it failed so SQS delivers it again rather than losing it.
      batchItemFailures.push({ itemIdentifier: state.record.messageId });
      config.logger.error(
        'Could not send a record to the dead-letter queue; it will be delivered again',
        logFields(state, outcome.error),
      );
      return;
    }
    config.logger.warn('Dead-lettered a record', logFields(state, outcome.error));
    writes.push(transition(config, state, 'dead-lettered', outcome.error));
  });
  for (const state of delayed) {
    const outcome = state.outcome as Extract<Outcome, { kind: 'failed' }>;
    batchItemFailures.push({ itemIdentifier: state.record.messageId });
    config.logger.warn('A record failed and will be retried', logFields(state, outcome.error));
    if (
      !(outcome.error instanceof InvocationTimeRunningOutError) &&
      !(outcome.error instanceof MessageGroupBlockedError) &&
      !(outcome.error instanceof JobInProgressError) &&
      // A deferral that fell back to a visibility change (FIFO) is still pressure, not a failed attempt.
      !(outcome.error instanceof PressureError)
    ) {
      writes.push(transition(config, state, 'failed', outcome.error));
    }
  }
  await Promise.all(writes);

  const sink = config.logSink ?? ((line: string) => process.stdout.write(`${line}\n`));
  for (const document of batchMetricDocuments(
    {
      records: states.length,
      succeeded,
      retried: delayed.length,
      deadLettered: deadLetters.length - deadLetterFailures.size,
      skipped,
      processingTimesMs,
    },
    { pipeline: config.pipeline, stage: config.stage },
  )) {
    sink(document);
  }
  return { batchItemFailures };
}

/** Sends the records held back by pressure again (see `deferral.ts`); those that cannot be become failures. */
async function deferHeld(config: ConsumerConfig, states: RecordState[]): Promise<void> {
  let held: RecordState[] | undefined;
  for (const state of states) {
    if (state.outcome?.kind === 'deferred') {
      held ??= [];
      held.push(state);
    }
  }
  if (held === undefined) {
    return;
  }
  const queueUrl = config.queueUrl ?? queueUrlFromArn((held[0] as RecordState).record.eventSourceARN);
  const results = await deferRecords(
    config,
    queueUrl,
    held.map((state) => ({
      record: state.record,
      error: (state.outcome as Extract<Outcome, { kind: 'deferred' }>).error,
      jobId: state.job?.jobId,
    })),
  );
  results.forEach((result, index) => {
    const state = held[index] as RecordState;
    if (result.kind === 'failed') {
      state.outcome = { ...result, kind: 'failed' };
    }
  });
}

function transition(
  config: ConsumerConfig,
  state: RecordState,
  to: 'failed' | 'dead-lettered',
  error: Error,
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

function deadLetterMessage(config: ConsumerConfig, state: RecordState): OutgoingMessage {
  const outcome = state.outcome as Extract<Outcome, { kind: 'failed' }>;
  const string = (value: string) => ({ DataType: 'String', StringValue: value });
  const firstSeen = state.record.attributes.ApproximateFirstReceiveTimestamp;
  return {
    body: state.record.body,
    attributes: {
      [DEAD_LETTER_ATTRIBUTES.errorClass]: string(outcome.error.name),
      // SQS attribute values are limited in total with the body; a reason needs no more than this.
      [DEAD_LETTER_ATTRIBUTES.errorMessage]: string(outcome.error.message.slice(0, 4_096) || '(no message)'),
      [DEAD_LETTER_ATTRIBUTES.stage]: string(config.stage),
      [DEAD_LETTER_ATTRIBUTES.receiveCount]: { DataType: 'Number', StringValue: String(state.receiveCount) },
      [DEAD_LETTER_ATTRIBUTES.firstSeenAt]: string(new Date(Number(firstSeen) || Date.now()).toISOString()),
    },
    ...(state.record.attributes.MessageGroupId
      ? { messageGroupId: state.record.attributes.MessageGroupId, deduplicationId: state.record.messageId }
      : {}),
  };
}

function logFields(state: RecordState, error: Error): Record<string, unknown> {
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

/** Milliseconds since `started`, to the microsecond: short numbers keep the EMF documents small and cheap to write. */
function elapsedMs(started: number): number {
  return Math.round((performance.now() - started) * 1000) / 1000;
}
