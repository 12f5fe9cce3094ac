/**
 * The end of a batch: failed records dead-lettered with their reasons or delayed for their retry, released records
 * handed back, held records deferred, and the batch's metrics written.
 */
import type { MessageAttributeValue } from '@aws-sdk/client-sqs';
import type { SQSBatchItemFailure, SQSBatchResponse, SQSRecord } from 'aws-lambda';
import type { DEAD_LETTER_ATTRIBUTES } from '../../lib/definition/envelope.ts';
import { SQS_LIMITS } from '../../lib/definition/limits.ts';
import { backoffSeconds } from './backoff.ts';
import type { ConsumerConfig } from './consumer.ts';
import type { FailureReason } from './errors.ts';
import { recordTransition } from './job-status.ts';
import { batchMetricDocuments } from './log.ts';
import { deferRecords } from './pressure.ts';
import {
  type Deferred,
  envelopeFields,
  type Failed,
  type Outcome,
  type RecordState,
  type Released,
  type Tally,
} from './record-state.ts';
import { changeVisibilities, type OutgoingMessage, sendMessages, type VisibilityChange } from './sqs-actions.ts';

/** Whether a failed record goes to the dead-letter queue now: a permanent failure, or its last allowed receive. */
export function deadLettersNow(config: ConsumerConfig, state: RecordState, outcome: Failed): boolean {
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
export async function park(config: ConsumerConfig, states: readonly RecordState[]): Promise<void> {
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
export async function settle(
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
