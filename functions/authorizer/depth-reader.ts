import type { SQSClient } from '@aws-sdk/client-sqs';

/**
 * Reads a queue's depth with `GetQueueAttributes`, cached for a short time and coalesced: however many decisions ask
 * at once, a container makes at most one SQS call per queue per TTL. A failed read is not cached, and callers waiting
 * on it get the error (the authorizer then fails closed or open as its caller decides).
 */
export class DepthReader {
  private readonly cache = new Map<string, { depth: number; readAt: number }>();
  private readonly inFlight = new Map<string, Promise<number>>();
  /** SQS calls made, for tests and benchmarks. */
  calls = 0;

  private readonly sqs: () => Promise<SQSClient> | SQSClient;
  private readonly ttlMs: number;
  private readonly now: () => number;

  constructor(sqs: () => Promise<SQSClient> | SQSClient, ttlMs: number, now: () => number = Date.now) {
    this.sqs = sqs;
    this.ttlMs = ttlMs;
    this.now = now;
  }

  /** Visible + in-flight messages of `queueUrl`, at most `ttlMs` old. */
  depth(queueUrl: string): Promise<number> {
    const cached = this.cache.get(queueUrl);
    if (cached && this.now() - cached.readAt < this.ttlMs) {
      return Promise.resolve(cached.depth);
    }
    const pending = this.inFlight.get(queueUrl);
    if (pending) {
      return pending;
    }
    const read = this.read(queueUrl).finally(() => this.inFlight.delete(queueUrl));
    this.inFlight.set(queueUrl, read);
    return read;
  }

  private async read(queueUrl: string): Promise<number> {
    const [{ GetQueueAttributesCommand }, sqs] = await Promise.all([import('@aws-sdk/client-sqs'), this.sqs()]);
    this.calls++;
    const result = await sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl: queueUrl,
        AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
      }),
    );
    const depth =
      Number(result.Attributes?.ApproximateNumberOfMessages ?? 0) +
      Number(result.Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0);
    this.cache.set(queueUrl, { depth, readAt: this.now() });
    return depth;
  }
}
