import {
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  type Message,
  ReceiveMessageCommand,
  type SendMessageBatchRequestEntry,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { DEPTH_ATTRIBUTES, SQS_LIMITS } from '../../lib/definition/limits.ts';
import { sendEntries } from '../runtime/sqs-actions.ts';

/**
 * The overflow drainer: moves parked requests from the overflow queue back into the stage's queue, at most
 * `ratePerSecond` messages a second and only while the stage's depth is below `lowWatermark`. It never moves more
 * than the room left under the watermark, so draining cannot push the stage back into shedding (hysteresis: the
 * ingress parks from the hard limit, the drainer refills only far below it).
 *
 * Nothing is lost: a message is deleted from the overflow queue only after SQS reported it sent. A
 * failed send leaves it on the overflow queue, visible again after its visibility timeout; a failed delete after a
 * successful send delivers it twice, which the runtime's idempotency absorbs (at-least-once).
 */

/** Options of {@link drainOverflow}. */
export interface DrainOptions {
  readonly sqs: SQSClient;
  readonly overflowQueueUrl: string;
  /** The stage's queue (the high lane with priority lanes on). */
  readonly queueUrl: string;
  /** The low lane's queue: envelopes with `"priority": "low"` go there when set. */
  readonly lowLaneQueueUrl?: string;
  /** Messages moved per second at most. */
  readonly ratePerSecond: number;
  /** Moves only while the stage's depth (all lanes) is below this. */
  readonly lowWatermark: number;
  /** Stop starting rounds after this many milliseconds (keep it below the function timeout). */
  readonly maxDurationMs: number;
  /** How long a received message stays hidden from a second drainer while it is moved. @default 30 */
  readonly visibilityTimeoutSeconds?: number;
  /** @default Date.now */
  readonly now?: () => number;
  /** @default setTimeout-based */
  readonly sleep?: (ms: number) => Promise<void>;
}

/** Why a drain run ended. */
export type DrainStop = 'empty' | 'above-watermark' | 'deadline';

/** What one drain run did. */
export interface DrainReport {
  readonly moved: number;
  /** Sends that failed; those messages stay on the overflow queue. */
  readonly sendFailures: number;
  /** Deletes that failed after a successful send; those messages will be moved (delivered) again. */
  readonly deleteFailures: number;
  /** One-second rounds started, and the messages moved in each. */
  readonly rounds: readonly number[];
  readonly stoppedBecause: DrainStop;
}

const ROUND_MS = 1000;
const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Drains the overflow queue until it is empty, the stage reaches the low watermark, or the time is up.
 *
 * @example
 * const report = await drainOverflow({ sqs, overflowQueueUrl, queueUrl, ratePerSecond: 50, lowWatermark: 1000, maxDurationMs: 50_000 });
 */
export async function drainOverflow(options: DrainOptions): Promise<DrainReport> {
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? defaultSleep;
  const started = now();
  const rounds: number[] = [];
  let moved = 0;
  let sendFailures = 0;
  let deleteFailures = 0;
  const depthQueues = [options.queueUrl, ...(options.lowLaneQueueUrl ? [options.lowLaneQueueUrl] : [])];
  let stoppedBecause: DrainStop = 'deadline';

  while (now() - started < options.maxDurationMs) {
    const roundStarted = now();
    const depth = await depthOf(options.sqs, depthQueues);
    const room = options.lowWatermark - depth;
    if (room <= 0) {
      stoppedBecause = 'above-watermark';
      break;
    }
    let budget = Math.min(Math.floor(options.ratePerSecond), room);
    let movedThisRound = 0;
    let empty = false;
    while (budget > 0) {
      const messages = await receive(options, Math.min(budget, SQS_LIMITS.batchEntries.max));
      if (messages.length === 0) {
        empty = true;
        break;
      }
      const result = await moveBatch(options, messages);
      movedThisRound += result.moved;
      sendFailures += result.sendFailures;
      deleteFailures += result.deleteFailures;
      budget -= messages.length;
    }
    moved += movedThisRound;
    rounds.push(movedThisRound);
    if (empty) {
      stoppedBecause = 'empty';
      break;
    }
    const elapsed = now() - roundStarted;
    if (elapsed < ROUND_MS) await sleep(ROUND_MS - elapsed);
  }
  return { moved, sendFailures, deleteFailures, rounds, stoppedBecause };
}

async function depthOf(sqs: SQSClient, queueUrls: readonly string[]): Promise<number> {
  const results = await Promise.all(
    queueUrls.map((url) =>
      sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: [...DEPTH_ATTRIBUTES] })),
    ),
  );
  let depth = 0;
  for (const result of results) {
    for (const name of DEPTH_ATTRIBUTES) depth += Number(result.Attributes?.[name] ?? 0) || 0;
  }
  return depth;
}

async function receive(options: DrainOptions, count: number): Promise<Message[]> {
  const result = await options.sqs.send(
    new ReceiveMessageCommand({
      QueueUrl: options.overflowQueueUrl,
      MaxNumberOfMessages: count,
      WaitTimeSeconds: 0,
      VisibilityTimeout: options.visibilityTimeoutSeconds ?? 30,
      MessageAttributeNames: ['All'],
    }),
  );
  return result.Messages ?? [];
}

/** The queue a parked message goes back to: its lane's queue. */
function targetOf(options: DrainOptions, body: string | undefined): string {
  if (!options.lowLaneQueueUrl || body === undefined) return options.queueUrl;
  try {
    const parsed = JSON.parse(body) as { priority?: unknown } | null;
    return parsed?.priority === 'low' ? options.lowLaneQueueUrl : options.queueUrl;
  } catch {
    // Not an envelope: the stage's runtime dead-letters it with its reason; the drainer only moves it.
    return options.queueUrl;
  }
}

/** The message's attributes as SendMessage takes them (received attributes carry empty list fields it refuses). */
function attributesOf(message: Message): Pick<SendMessageBatchRequestEntry, 'MessageAttributes'> {
  const received = message.MessageAttributes;
  if (!received || Object.keys(received).length === 0) return {};
  const attributes: NonNullable<SendMessageBatchRequestEntry['MessageAttributes']> = {};
  for (const [name, value] of Object.entries(received)) {
    attributes[name] = {
      DataType: value.DataType,
      ...(value.StringValue === undefined ? {} : { StringValue: value.StringValue }),
      ...(value.BinaryValue === undefined ? {} : { BinaryValue: value.BinaryValue }),
    };
  }
  return { MessageAttributes: attributes };
}

async function moveBatch(
  options: DrainOptions,
  messages: readonly Message[],
): Promise<{ moved: number; sendFailures: number; deleteFailures: number }> {
  const byTarget = new Map<string, { entry: SendMessageBatchRequestEntry; message: Message }[]>();
  messages.forEach((message, index) => {
    const target = targetOf(options, message.Body);
    const entries = byTarget.get(target) ?? [];
    entries.push({
      entry: {
        Id: String(index),
        MessageBody: message.Body ?? '',
        ...attributesOf(message),
      },
      message,
    });
    byTarget.set(target, entries);
  });

  const sent: Message[] = [];
  let sendFailures = 0;
  for (const [queueUrl, entries] of byTarget) {
    // Chunked by count and total size: ten messages of 200 KB are more than one SendMessageBatch may carry. Only the
    // entries SQS reported sent are deleted; a failed one stays parked and is moved on a later round.
    const failed = await sendEntries(
      options.sqs,
      queueUrl,
      entries.map(({ entry }) => entry),
      false,
    );
    for (const { entry, message } of entries) {
      if (failed.has(entry.Id as string)) sendFailures += 1;
      else sent.push(message);
    }
  }
  if (sent.length === 0) return { moved: 0, sendFailures, deleteFailures: 0 };

  let deleteFailures = 0;
  try {
    const result = await options.sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl: options.overflowQueueUrl,
        Entries: sent.map((message, index) => ({ Id: String(index), ReceiptHandle: message.ReceiptHandle ?? '' })),
      }),
    );
    deleteFailures = result.Failed?.length ?? 0;
  } catch {
    deleteFailures = sent.length;
  }
  return { moved: sent.length, sendFailures, deleteFailures };
}
