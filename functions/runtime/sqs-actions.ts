import type {
  MessageAttributeValue,
  SendMessageBatchRequestEntry,
  SendMessageBatchResult,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { SQS_LIMITS } from '../../lib/definition/limits.ts';
import type { AwsClients } from './aws-clients.ts';

/** A message to send: its body, attributes and (FIFO) group and deduplication ids. */
export interface OutgoingMessage {
  readonly body: string;
  readonly attributes?: Record<string, MessageAttributeValue>;
  readonly messageGroupId?: string;
  readonly deduplicationId?: string;
  /** Seconds before the message becomes visible (standard queues only). @default 0 */
  readonly delaySeconds?: number;
}

/** A visibility change for a received message. */
export interface VisibilityChange {
  readonly receiptHandle: string;
  readonly visibilityTimeoutSeconds: number;
}

let loaded: Promise<typeof import('@aws-sdk/client-sqs')> | undefined;

/** The SQS SDK module, imported on first use (a consumer that sends nothing never loads it) and kept. */
function sqsModule(): Promise<typeof import('@aws-sdk/client-sqs')> {
  loaded ??= import('@aws-sdk/client-sqs');
  return loaded;
}

const BATCH = SQS_LIMITS.batchEntries.max;
const BATCH_PAYLOAD_BYTES = SQS_LIMITS.batchPayloadBytes.max;

/**
 * A message's size as SQS counts it against its limits, or a little more: the body plus, for every attribute, its
 * name, data type and value ("All parts of the message attribute, including Name, Type, and Value, are part of the
 * message size restriction":
 * https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_MessageAttributeValue.html). Texts from
 * 1 KiB on are counted exactly in UTF-8; shorter ones as 3 bytes per UTF-16 code unit, UTF-8's most, which never
 * undercounts and costs nothing (ten such messages stay far under a batch's 1 MiB, so no call is split for it).
 */
export function messageSizeAtMostBytes(
  entry: Pick<SendMessageBatchRequestEntry, 'MessageBody' | 'MessageAttributes'>,
): number {
  let size = utf8BytesAtMost(entry.MessageBody ?? '');
  const attributes = entry.MessageAttributes;
  if (attributes !== undefined) {
    for (const name in attributes) {
      const value = attributes[name] as MessageAttributeValue;
      size += utf8BytesAtMost(name) + utf8BytesAtMost(value.DataType ?? '');
      if (value.StringValue !== undefined) size += utf8BytesAtMost(value.StringValue);
      if (value.BinaryValue !== undefined) size += value.BinaryValue.byteLength;
    }
  }
  return size;
}

function utf8BytesAtMost(text: string): number {
  return text.length < 1024 ? text.length * 3 : Buffer.byteLength(text, 'utf8');
}

/**
 * Splits messages, in order, into SendMessageBatch calls: a call ends at 10 entries or before its payload would pass
 * 1 MiB (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SendMessageBatch.html: "The
 * maximum allowed individual message size and the maximum total payload size (the sum of the individual lengths of
 * all of the batched messages) are both 1 MiB"). A message larger than the payload limit gets a call of its own.
 * Returns the index where each call ends (exclusive), in order.
 */
export function batchBoundaries(sizes: readonly number[]): number[] {
  const ends: number[] = [];
  let count = 0;
  let payload = 0;
  for (let index = 0; index < sizes.length; index++) {
    const size = sizes[index] as number;
    if (count > 0 && (count === BATCH || payload + size > BATCH_PAYLOAD_BYTES)) {
      ends.push(index);
      count = 0;
      payload = 0;
    }
    count++;
    payload += size;
  }
  if (count > 0) ends.push(sizes.length);
  return ends;
}

/**
 * Sends entries (each with a batch-unique `Id`) with as few SendMessageBatch calls as the limits allow and returns the
 * entries that were not sent, by `Id`, with SQS's reason. SQS reports failures per entry in a successful call, so
 * every call's `Failed` list is read; entries that failed on SQS's side (not `SenderFault`) are sent once more. A call
 * refused as `BatchRequestTooLong` (SQS counted more than {@link messageSizeAtMostBytes} did) and a single entry above the
 * payload limit fall back to one SendMessage per entry, so one large message never holds back the others. With
 * `ordered` (FIFO), calls go one after the other so a message group keeps its order; otherwise they run together.
 */
export async function sendEntries(
  sqs: SQSClient,
  queueUrl: string,
  entries: readonly SendMessageBatchRequestEntry[],
  ordered: boolean,
): Promise<Map<string, string>> {
  const failed = new Map<string, string>();
  if (entries.length === 0) {
    return failed;
  }
  const { SendMessageBatchCommand, SendMessageCommand } = await sqsModule();
  const sizes = entries.map(messageSizeAtMostBytes);
  const sendOne = async (entry: SendMessageBatchRequestEntry): Promise<void> => {
    const { Id, ...message } = entry;
    try {
      await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, ...message }));
    } catch (error) {
      failed.set(Id as string, reasonOf(error));
    }
  };
  const sendBatch = async (batch: SendMessageBatchRequestEntry[], retryServerFaults: boolean): Promise<void> => {
    let result: SendMessageBatchResult;
    try {
      result = await sqs.send(new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: batch }));
    } catch (error) {
      if ((error as Error).name === 'BatchRequestTooLong') {
        for (const entry of batch) await sendOne(entry);
        return;
      }
      for (const entry of batch) failed.set(entry.Id as string, reasonOf(error));
      return;
    }
    if (result.Failed === undefined || result.Failed.length === 0) return;
    const again: SendMessageBatchRequestEntry[] = [];
    for (const entry of result.Failed) {
      const original = batch.find((candidate) => candidate.Id === entry.Id);
      if (retryServerFaults && entry.SenderFault === false && original !== undefined) {
        again.push(original);
      } else {
        failed.set(entry.Id as string, `${entry.Code ?? 'Failed'}: ${entry.Message ?? 'no reason given'}`);
      }
    }
    if (again.length > 0) await sendBatch(again, false);
  };
  const calls: Promise<void>[] = [];
  let start = 0;
  for (const end of batchBoundaries(sizes)) {
    const call =
      end - start === 1 && (sizes[start] as number) > BATCH_PAYLOAD_BYTES
        ? sendOne(entries[start] as SendMessageBatchRequestEntry)
        : sendBatch(entries.slice(start, end), true);
    if (ordered) await call;
    else calls.push(call);
    start = end;
  }
  await Promise.all(calls);
  return failed;
}

function reasonOf(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

/**
 * Sends messages and returns those that were not sent, by index, with SQS's reason (see {@link sendEntries}).
 */
export async function sendMessages(
  clients: AwsClients,
  queueUrl: string,
  messages: readonly OutgoingMessage[],
): Promise<Map<number, string>> {
  const failed = new Map<number, string>();
  if (messages.length === 0) {
    return failed;
  }
  const entries: SendMessageBatchRequestEntry[] = new Array(messages.length);
  let ordered = false;
  for (let index = 0; index < messages.length; index++) {
    const message = messages[index] as OutgoingMessage;
    const entry: SendMessageBatchRequestEntry = { Id: String(index), MessageBody: message.body };
    if (message.attributes) entry.MessageAttributes = message.attributes;
    if (message.messageGroupId) {
      entry.MessageGroupId = message.messageGroupId;
      ordered = true;
    }
    if (message.deduplicationId) entry.MessageDeduplicationId = message.deduplicationId;
    if (message.delaySeconds) entry.DelaySeconds = message.delaySeconds;
    entries[index] = entry;
  }
  for (const [id, reason] of await sendEntries(await clients.sqs(), queueUrl, entries, ordered)) {
    failed.set(Number(id), reason);
  }
  return failed;
}

/**
 * Changes the visibility of received messages with ChangeMessageVisibilityBatch, ten at a time. Best effort: a record
 * whose change fails is still reported failed, so SQS retries it after the queue's own visibility timeout instead.
 */
export async function changeVisibilities(
  clients: AwsClients,
  queueUrl: string,
  changes: readonly VisibilityChange[],
): Promise<number> {
  if (changes.length === 0) {
    return 0;
  }
  const [{ ChangeMessageVisibilityBatchCommand }, sqs] = await Promise.all([sqsModule(), clients.sqs()]);
  let failures = 0;
  const calls: Promise<void>[] = [];
  for (let start = 0; start < changes.length; start += BATCH) {
    const entries = changes.slice(start, start + BATCH).map((change, offset) => ({
      Id: String(start + offset),
      ReceiptHandle: change.receiptHandle,
      VisibilityTimeout: change.visibilityTimeoutSeconds,
    }));
    calls.push(
      sqs.send(new ChangeMessageVisibilityBatchCommand({ QueueUrl: queueUrl, Entries: entries })).then(
        (result) => {
          failures += result.Failed?.length ?? 0;
        },
        () => {
          failures += entries.length;
        },
      ),
    );
  }
  await Promise.all(calls);
  return failures;
}
