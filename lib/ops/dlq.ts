import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  type Message,
  type MessageAttributeValue,
  PurgeQueueCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  type SQSClient,
  StartMessageMoveTaskCommand,
} from '@aws-sdk/client-sqs';
import { DEAD_LETTER_ATTRIBUTES } from '../definition/index.ts';
import { OpsError } from './errors.ts';
import type { PipelineResources, StageResources } from './resources.ts';

/**
 * Dead-letter queue tooling: list, peek, redrive, purge. Each dead-lettered message carries its reason in message
 * attributes (`sluice-error-class`, `sluice-error-message`, …) that the runtime writes.
 */

/** StartMessageMoveTask moves at most 500 messages a second
 * (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_StartMessageMoveTask.html); the loop keeps the same range. */
export const REDRIVE_RATE = { min: 1, max: 500 } as const;

/** A stage's dead-letter queue, counted. */
export interface DeadLetterSummary {
  readonly stage: string;
  readonly deadLetterQueueUrl: string;
  /** Messages waiting in the DLQ. */
  readonly messages: number;
  /** Messages someone (a peek, a redrive) holds right now. */
  readonly inFlight: number;
}

/** Every stage's DLQ with its counts. */
export async function listDeadLetters(sqs: SQSClient, resources: PipelineResources): Promise<DeadLetterSummary[]> {
  return Promise.all(
    resources.stages.map(async (stage) => {
      const attributes = await depthOf(sqs, stage.deadLetterQueueUrl);
      return { stage: stage.stage, deadLetterQueueUrl: stage.deadLetterQueueUrl, ...attributes };
    }),
  );
}

/** One dead-lettered message as `peek` shows it. */
export interface PeekedMessage {
  readonly messageId: string;
  readonly errorClass: string | undefined;
  readonly errorMessage: string | undefined;
  readonly stage: string | undefined;
  readonly receiveCount: string | undefined;
  readonly firstSeenAt: string | undefined;
  /** Epoch milliseconds the message was first sent (to the source queue; a standard DLQ keeps it). */
  readonly sentAt: number | undefined;
  readonly body: string;
}

/**
 * Up to `max` messages of a DLQ with their reasons. SQS cannot read without receiving: the peeked messages are made
 * visible again at once (ChangeMessageVisibility 0), and their receive count in the DLQ goes up by one.
 */
export async function peekDeadLetters(sqs: SQSClient, deadLetterQueueUrl: string, max = 10): Promise<PeekedMessage[]> {
  const seen = new Map<string, Message>();
  while (seen.size < max) {
    const result = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: deadLetterQueueUrl,
        MaxNumberOfMessages: Math.min(10, max - seen.size),
        VisibilityTimeout: 30,
        // Long polling asks every SQS server, so an empty answer means empty (short polling samples a subset:
        // https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-short-and-long-polling.html).
        WaitTimeSeconds: 1,
        MessageAttributeNames: ['All'],
        MessageSystemAttributeNames: ['SentTimestamp', 'ApproximateReceiveCount'],
      }),
    );
    const messages = (result.Messages ?? []).filter((message) => !seen.has(message.MessageId as string));
    if (messages.length === 0) break;
    for (const message of messages) seen.set(message.MessageId as string, message);
  }
  await release(sqs, deadLetterQueueUrl, [...seen.values()]);
  return [...seen.values()].map((message) => {
    const attribute = (name: string) => message.MessageAttributes?.[name]?.StringValue;
    const sent = message.Attributes?.SentTimestamp;
    return {
      messageId: message.MessageId as string,
      errorClass: attribute(DEAD_LETTER_ATTRIBUTES.errorClass),
      errorMessage: attribute(DEAD_LETTER_ATTRIBUTES.errorMessage),
      stage: attribute(DEAD_LETTER_ATTRIBUTES.stage),
      receiveCount: attribute(DEAD_LETTER_ATTRIBUTES.receiveCount),
      firstSeenAt: attribute(DEAD_LETTER_ATTRIBUTES.firstSeenAt),
      sentAt: sent === undefined ? undefined : Number(sent),
      body: message.Body ?? '',
    };
  });
}

/** A clock the redrive loop paces itself by; tests pass a virtual one. */
export interface Clock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

/** The wall clock. */
export const WALL_CLOCK: Clock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

/** Options of {@link redriveDeadLetters}. */
export interface RedriveOptions {
  readonly stage: StageResources;
  /** Messages a second, 1–500. */
  readonly ratePerSecond: number;
  /** Only messages whose `sluice-error-class` is this (the loop is used: a move task cannot filter). */
  readonly errorClass?: string;
  /** Use the loop even where SQS has StartMessageMoveTask. @default false */
  readonly forceLoop?: boolean;
  /** @default the wall clock */
  readonly clock?: Clock;
}

/** What a redrive did. */
export type RedriveResult =
  | { readonly mode: 'move-task'; readonly taskHandle: string; readonly ratePerSecond: number }
  | {
      readonly mode: 'loop';
      readonly moved: number;
      /** Messages left in the DLQ because their error class did not match. */
      readonly skipped: number;
      readonly ratePerSecond: number;
      /** For each moved message, when its slot in the rate limiter's schedule was and when it was sent (clock ms). */
      readonly schedule: readonly { readonly messageId: string; readonly slotAt: number; readonly sentAt: number }[];
    };

/**
 * Moves a stage's dead letters back to its queue at `ratePerSecond`: SQS's StartMessageMoveTask where the endpoint has
 * it and no filter is asked for; otherwise a bounded loop — receive up to 10, send each to the source queue when its
 * slot in the schedule (start + k ÷ rate) comes, then delete it from the DLQ — that stops when the DLQ answers empty
 * or after the messages it held when the loop began. Non-matching messages stay hidden until the loop ends, so none is
 * looked at twice, then are released.
 */
export async function redriveDeadLetters(sqs: SQSClient, options: RedriveOptions): Promise<RedriveResult> {
  const { stage, ratePerSecond } = options;
  if (!Number.isInteger(ratePerSecond) || ratePerSecond < REDRIVE_RATE.min || ratePerSecond > REDRIVE_RATE.max) {
    throw new OpsError(
      `rate must be an integer between ${REDRIVE_RATE.min} and ${REDRIVE_RATE.max} messages per second (StartMessageMoveTask's range), but ${ratePerSecond} was provided`,
    );
  }
  if (!options.errorClass && !options.forceLoop && stage.queueArn && stage.deadLetterQueueArn) {
    try {
      const task = await sqs.send(
        new StartMessageMoveTaskCommand({
          SourceArn: stage.deadLetterQueueArn,
          DestinationArn: stage.queueArn,
          MaxNumberOfMessagesPerSecond: ratePerSecond,
        }),
      );
      return { mode: 'move-task', taskHandle: task.TaskHandle as string, ratePerSecond };
    } catch (error) {
      if (!isUnsupported(error)) {
        throw new OpsError(`StartMessageMoveTask failed: ${(error as Error).message}`, { cause: error });
      }
    }
  }
  return redriveLoop(sqs, options);
}

async function redriveLoop(sqs: SQSClient, options: RedriveOptions): Promise<RedriveResult> {
  const { stage, ratePerSecond } = options;
  const clock = options.clock ?? WALL_CLOCK;
  const fifo = stage.queueUrl.endsWith('.fifo');
  const bound = (await depthOf(sqs, stage.deadLetterQueueUrl)).messages;
  const intervalMs = 1000 / ratePerSecond;
  // Long enough to send a full receive at the rate, plus margin.
  const visibilityTimeout = Math.min(43_200, Math.ceil((10 * intervalMs) / 1000) + 30);
  const schedule: { messageId: string; slotAt: number; sentAt: number }[] = [];
  const skipped: Message[] = [];
  const handled = new Set<string>();
  const start = clock.now();
  try {
    while (handled.size < bound) {
      const result = await sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: stage.deadLetterQueueUrl,
          MaxNumberOfMessages: Math.min(10, bound - handled.size),
          VisibilityTimeout: visibilityTimeout,
          WaitTimeSeconds: 1,
          MessageAttributeNames: ['All'],
          MessageSystemAttributeNames: ['MessageGroupId', 'MessageDeduplicationId'],
        }),
      );
      const messages = result.Messages ?? [];
      if (messages.length === 0) break;
      for (const message of messages) {
        const id = message.MessageId as string;
        if (handled.has(id)) continue;
        handled.add(id);
        const errorClass = message.MessageAttributes?.[DEAD_LETTER_ATTRIBUTES.errorClass]?.StringValue;
        if (options.errorClass !== undefined && errorClass !== options.errorClass) {
          skipped.push(message);
          continue;
        }
        const slotAt = start + schedule.length * intervalMs;
        const wait = slotAt - clock.now();
        if (wait > 0) await clock.sleep(wait);
        const sentAt = clock.now();
        await sqs.send(
          new SendMessageCommand({
            QueueUrl: stage.queueUrl,
            MessageBody: message.Body ?? '',
            ...(message.MessageAttributes ? { MessageAttributes: copyAttributes(message.MessageAttributes) } : {}),
            ...(fifo
              ? {
                  MessageGroupId: message.Attributes?.MessageGroupId ?? 'redrive',
                  MessageDeduplicationId: message.Attributes?.MessageDeduplicationId ?? id,
                }
              : {}),
          }),
        );
        // Sent first, deleted second: a crash in between leaves a duplicate (at-least-once, idempotent consumers), never a loss.
        await sqs.send(
          new DeleteMessageCommand({ QueueUrl: stage.deadLetterQueueUrl, ReceiptHandle: message.ReceiptHandle }),
        );
        schedule.push({ messageId: id, slotAt, sentAt });
      }
    }
  } finally {
    await release(sqs, stage.deadLetterQueueUrl, skipped);
  }
  return { mode: 'loop', moved: schedule.length, skipped: skipped.length, ratePerSecond, schedule };
}

/** Deletes every message of a stage's DLQ (PurgeQueue: may take up to 60 s; once per 60 s per queue). */
export async function purgeDeadLetters(sqs: SQSClient, stage: StageResources): Promise<void> {
  try {
    await sqs.send(new PurgeQueueCommand({ QueueUrl: stage.deadLetterQueueUrl }));
  } catch (error) {
    throw new OpsError(
      `PurgeQueue on ${stage.deadLetterQueueUrl} failed: ${(error as Error).message} (SQS allows one purge per queue every 60 seconds)`,
      { cause: error },
    );
  }
}

/** Waiting and in-flight counts of a queue. */
export async function depthOf(sqs: SQSClient, queueUrl: string): Promise<{ messages: number; inFlight: number }> {
  const result = await sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: queueUrl,
      AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
    }),
  );
  return {
    messages: Number(result.Attributes?.ApproximateNumberOfMessages ?? 0),
    inFlight: Number(result.Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0),
  };
}

async function release(sqs: SQSClient, queueUrl: string, messages: readonly Message[]): Promise<void> {
  for (let offset = 0; offset < messages.length; offset += 10) {
    await sqs.send(
      new ChangeMessageVisibilityBatchCommand({
        QueueUrl: queueUrl,
        Entries: messages.slice(offset, offset + 10).map((message, index) => ({
          Id: String(index),
          ReceiptHandle: message.ReceiptHandle as string,
          VisibilityTimeout: 0,
        })),
      }),
    );
  }
}

/** Message attributes as SendMessage takes them (string and binary values only; list values are not implemented by SQS). */
function copyAttributes(attributes: Record<string, MessageAttributeValue>): Record<string, MessageAttributeValue> {
  return Object.fromEntries(
    Object.entries(attributes).map(([name, value]) => [
      name,
      {
        DataType: value.DataType as string,
        ...(value.StringValue === undefined ? {} : { StringValue: value.StringValue }),
        ...(value.BinaryValue === undefined ? {} : { BinaryValue: value.BinaryValue }),
      },
    ]),
  );
}

/** Whether the endpoint lacks StartMessageMoveTask (an engine such as fauxqs), as opposed to refusing this task. */
function isUnsupported(error: unknown): boolean {
  const { name, message, $metadata } = error as {
    name?: string;
    message?: string;
    $metadata?: { httpStatusCode?: number };
  };
  if (/Unsupported|UnknownOperation|InvalidAction|NotImplemented/i.test(name ?? '')) return true;
  if (/not (supported|implemented)|unknown (operation|action)/i.test(message ?? '')) return true;
  return $metadata?.httpStatusCode === 501;
}
