import type { MessageAttributeValue } from '@aws-sdk/client-sqs';
import { SQS_LIMITS } from '../../lib/definition/limits.ts';
import type { AwsClients } from './aws-clients.ts';

/** A message to send: its body, attributes and (FIFO) group and deduplication ids. */
export interface OutgoingMessage {
  readonly body: string;
  readonly attributes?: Record<string, MessageAttributeValue>;
  readonly messageGroupId?: string;
  readonly deduplicationId?: string;
}

/** A visibility change for a received message. */
export interface VisibilityChange {
  readonly receiptHandle: string;
  readonly visibilityTimeoutSeconds: number;
}

const BATCH = SQS_LIMITS.batchEntries.max;

/**
 * Sends messages with SendMessageBatch, ten at a time, and returns the indexes of those that failed (SQS reports
 * per-entry failures; a whole call that throws fails all its entries).
 */
export async function sendMessages(
  clients: AwsClients,
  queueUrl: string,
  messages: readonly OutgoingMessage[],
): Promise<Set<number>> {
  const failed = new Set<number>();
  if (messages.length === 0) {
    return failed;
  }
  const [{ SendMessageBatchCommand }, sqs] = await Promise.all([import('@aws-sdk/client-sqs'), clients.sqs()]);
  const calls: Promise<void>[] = [];
  for (let start = 0; start < messages.length; start += BATCH) {
    const slice = messages.slice(start, start + BATCH);
    const entries = slice.map((message, offset) => ({
      Id: String(start + offset),
      MessageBody: message.body,
      ...(message.attributes ? { MessageAttributes: message.attributes } : {}),
      ...(message.messageGroupId ? { MessageGroupId: message.messageGroupId } : {}),
      ...(message.deduplicationId ? { MessageDeduplicationId: message.deduplicationId } : {}),
    }));
    calls.push(
      sqs.send(new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: entries })).then(
        (result) => {
          for (const entry of result.Failed ?? []) {
            failed.add(Number(entry.Id));
          }
        },
        () => {
          for (const entry of entries) {
            failed.add(Number(entry.Id));
          }
        },
      ),
    );
  }
  await Promise.all(calls);
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
  const [{ ChangeMessageVisibilityBatchCommand }, sqs] = await Promise.all([
    import('@aws-sdk/client-sqs'),
    clients.sqs(),
  ]);
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
