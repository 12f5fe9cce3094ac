import { SendMessageBatchCommand, type SendMessageBatchRequestEntry, type SQSClient } from '@aws-sdk/client-sqs';
import { SQS_LIMITS } from '../definition/limits.ts';

/**
 * Coalesces concurrent sends to one queue into `SendMessageBatch` calls of up to ten entries, flushed on the next turn
 * of the event loop. Each caller still learns the fate of its own message (SQS reports failures per entry), so the
 * ingress answers 202 only once its message is in the queue, exactly as with one `SendMessage` per request; only the
 * number of SQS calls differs. On AWS the direct integration sends one message per request.
 */
export class SendBatcher {
  private readonly sqs: SQSClient;
  private readonly pending = new Map<
    string,
    Array<{ entry: SendMessageBatchRequestEntry; resolve: () => void; reject: (error: Error) => void }>
  >();
  private scheduled = false;
  private nextId = 0;

  constructor(sqs: SQSClient) {
    this.sqs = sqs;
  }

  /** Sends one message; resolves once SQS has accepted it, rejects with SQS's reason otherwise. */
  send(queueUrl: string, entry: Omit<SendMessageBatchRequestEntry, 'Id'>): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const list = this.pending.get(queueUrl) ?? [];
      list.push({ entry: { ...entry, Id: String(this.nextId++) }, resolve, reject });
      this.pending.set(queueUrl, list);
      if (list.length >= SQS_LIMITS.batchEntries.max) {
        this.flushQueue(queueUrl);
      } else if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.scheduled = false;
    for (const queueUrl of [...this.pending.keys()]) this.flushQueue(queueUrl);
  }

  private flushQueue(queueUrl: string): void {
    const list = this.pending.get(queueUrl) ?? [];
    this.pending.delete(queueUrl);
    for (let start = 0; start < list.length; start += SQS_LIMITS.batchEntries.max) {
      const slice = list.slice(start, start + SQS_LIMITS.batchEntries.max);
      const byId = new Map(slice.map((item) => [item.entry.Id as string, item]));
      this.sqs.send(new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: slice.map((item) => item.entry) })).then(
        (result) => {
          for (const failure of result.Failed ?? []) {
            const item = byId.get(failure.Id as string);
            byId.delete(failure.Id as string);
            item?.reject(new Error(`SQS refused the message: ${failure.Code} ${failure.Message ?? ''}`.trim()));
          }
          for (const item of byId.values()) item.resolve();
        },
        (error: Error) => {
          for (const item of slice) item.reject(error);
        },
      );
    }
  }
}
