import { DeleteMessageBatchCommand, type Message, ReceiveMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { SQSBatchResponse } from 'aws-lambda';
import { LAMBDA_LIMITS, SQS_LIMITS } from '../definition/index.ts';
import type { LocalFunction } from './local-function.ts';
import { toSqsEvent } from './sqs-records.ts';

/**
 * Lambda's SQS event source mapping, reproduced on one machine (https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html):
 *
 * - gathers up to `batchSize` records, waiting at most `maxBatchingWindowSeconds` once the first arrived, and never
 *   more than 6 MB of bodies per invocation;
 * - starts with 5 concurrent batches and adds up to 5 a second while every poller is busy and records keep coming,
 *   up to `MaximumConcurrency` (and the function's reserved concurrency), dropping back when the queue is empty;
 * - partial batch responses: deletes every record not listed in `batchItemFailures`; an empty or invalid
 *   `itemIdentifier` fails the whole batch, as on AWS;
 * - a thrown error, a timeout or a throttle deletes nothing: the records come back after their visibility timeout;
 * - `pause()` / `resume()` are the mapping's `Enabled: false / true` (UpdateEventSourceMapping,
 *   https://docs.aws.amazon.com/lambda/latest/api/API_UpdateEventSourceMapping.html): batches being processed finish
 *   and are deleted as usual, a receive already under way returns what it got, and no new receive starts until
 *   resumed; the records stay in the queue, received by no one, so none spends its retry budget.
 */

/** Where and how a mapping polls. */
export interface EventSourcePollerOptions {
  readonly sqs: SQSClient;
  readonly queueUrl: string;
  readonly queueArn: string;
  readonly region: string;
  readonly batchSize: number;
  readonly maxBatchingWindowSeconds: number;
  readonly maxConcurrency: number;
  readonly function: LocalFunction;
}

/** AWS starts an SQS mapping with five concurrent batches. */
export const INITIAL_CONCURRENCY = 5;
/** …and adds up to 300 a minute. */
export const SCALE_UP_PER_SECOND = 5;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** One SQS event source mapping. */
export class EventSourcePoller {
  readonly options: EventSourcePollerOptions;
  /** Counters for the dashboard and tests. */
  readonly stats = {
    received: 0,
    deleted: 0,
    failedRecords: 0,
    failedBatches: 0,
    batches: 0,
    largestBatch: 0,
    peakConcurrency: 0,
    /** Times the mapping was paused. */
    pauses: 0,
    /** Receives or deletes that failed (SQS unreachable); polling goes on. */
    receiveErrors: 0,
  };
  private running = false;
  private paused = false;
  private receives = 0;
  private resumed: Promise<void> = Promise.resolve();
  private wake: () => void = () => undefined;
  private active = 0;
  private busy = 0;
  private limit: number;
  private readonly carry: Message[] = [];
  private scaler: NodeJS.Timeout | undefined;
  private lastReceiveFull = false;
  private readonly loops = new Set<Promise<void>>();
  /** Oldest message age seen by receives, and delete latencies, since the last {@link takeSample}. */
  private oldestAgeMs = 0;
  private latenciesMs: number[] = [];

  constructor(options: EventSourcePollerOptions) {
    this.options = options;
    this.limit = Math.min(INITIAL_CONCURRENCY, this.ceiling);
  }

  /** The most concurrent batches this mapping may run. */
  get ceiling(): number {
    return Math.min(this.options.maxConcurrency, this.options.function.options.reservedConcurrency);
  }

  /** Batches being processed now. */
  get concurrency(): number {
    return this.busy;
  }

  /**
   * What happened since the last call: the age of the oldest message received (an approximation of
   * `ApproximateAgeOfOldestMessage`, which the engine does not report: the age a message had when it was picked up)
   * and the time from send to delete of the messages deleted.
   */
  takeSample(): { oldestAgeMs: number; latenciesMs: number[] } {
    const sample = { oldestAgeMs: this.oldestAgeMs, latenciesMs: this.latenciesMs };
    this.oldestAgeMs = 0;
    this.latenciesMs = [];
    return sample;
  }

  /** ReceiveMessage calls under way (a paused mapping lets them return; it starts no new one). */
  get receiving(): number {
    return this.receives;
  }

  /** Whether the mapping polls (`Enabled`): false between {@link pause} and {@link resume}. */
  get enabled(): boolean {
    return !this.paused;
  }

  /** Stops new polls (the mapping's `Enabled: false`); batches in flight finish. */
  pause(): void {
    if (this.paused) return;
    this.paused = true;
    this.stats.pauses++;
    this.resumed = new Promise((resolve) => {
      this.wake = resolve;
    });
  }

  /** Polls again (the mapping's `Enabled: true`). */
  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    this.wake();
  }

  /** Starts polling. */
  start(): void {
    if (this.running) {
      return;
    }
    this.running = true;
    this.fill();
    this.scaler = setInterval(() => this.scale(), 1_000);
  }

  /** Stops polling and waits for the batches in flight. */
  async stop(): Promise<void> {
    this.running = false;
    this.wake();
    clearInterval(this.scaler);
    await Promise.all([...this.loops]);
  }

  private scale(): void {
    if (this.paused) return;
    if (this.busy >= this.active && this.lastReceiveFull && this.limit < this.ceiling) {
      this.limit = Math.min(this.ceiling, this.limit + SCALE_UP_PER_SECOND);
      this.fill();
    }
  }

  private fill(): void {
    while (this.running && this.active < this.limit) {
      this.active++;
      const loop = this.poll().finally(() => {
        this.active--;
        this.loops.delete(loop);
      });
      this.loops.add(loop);
    }
  }

  private async poll(): Promise<void> {
    while (this.running) {
      if (this.paused && this.carry.length === 0) {
        await this.resumed;
        continue;
      }
      let batch: Message[];
      try {
        batch = await this.gather();
      } catch {
        // SQS unreachable (an engine restart, a network fault): the event source mapping keeps polling; so does this.
        this.stats.receiveErrors++;
        await sleep(1_000);
        continue;
      }
      if (batch.length === 0) {
        if (this.active > INITIAL_CONCURRENCY || this.active > this.limit) {
          // An empty queue: scale back towards the initial pollers.
          this.limit = Math.max(Math.min(INITIAL_CONCURRENCY, this.ceiling), this.limit - 1);
          return;
        }
        continue;
      }
      this.busy++;
      this.stats.peakConcurrency = Math.max(this.stats.peakConcurrency, this.busy);
      try {
        await this.process(batch);
      } catch {
        // The deletes failed: the records come back after their visibility timeout, as on AWS.
        this.stats.receiveErrors++;
      } finally {
        this.busy--;
      }
    }
  }

  /** Receives up to batchSize records within the batching window and the 6 MB payload. */
  private async gather(): Promise<Message[]> {
    const { batchSize, maxBatchingWindowSeconds } = this.options;
    const batch: Message[] = [];
    let bytes = 0;
    let windowEnds = Number.POSITIVE_INFINITY;
    const take = (message: Message): boolean => {
      const size = Buffer.byteLength(message.Body ?? '');
      if (batch.length > 0 && bytes + size > LAMBDA_LIMITS.invocationPayloadBytes.max) {
        this.carry.push(message);
        return false;
      }
      batch.push(message);
      bytes += size;
      return true;
    };
    while (this.carry.length > 0 && batch.length < batchSize) {
      if (!take(this.carry.shift() as Message)) {
        return batch;
      }
    }
    if (batch.length > 0) {
      windowEnds = Date.now() + maxBatchingWindowSeconds * 1000;
    }
    while (this.running && !this.paused && batch.length < batchSize) {
      const remaining = windowEnds - Date.now();
      if (batch.length > 0 && remaining <= 0) {
        break;
      }
      const wanted = Math.min(SQS_LIMITS.batchEntries.max, batchSize - batch.length);
      this.receives++;
      const result = await this.options.sqs
        .send(
          new ReceiveMessageCommand({
            QueueUrl: this.options.queueUrl,
            MaxNumberOfMessages: wanted,
            // Long-poll while empty (1 s, to notice stop()); inside a window, return at once and wait a little.
            WaitTimeSeconds: batch.length === 0 ? 1 : 0,
            MessageSystemAttributeNames: ['All'],
            MessageAttributeNames: ['All'],
          }),
        )
        .finally(() => {
          this.receives--;
        });
      const messages = result.Messages ?? [];
      this.lastReceiveFull = messages.length === wanted;
      this.stats.received += messages.length;
      const now = Date.now();
      for (const message of messages) {
        const sent = Number(message.Attributes?.SentTimestamp);
        if (Number.isFinite(sent)) this.oldestAgeMs = Math.max(this.oldestAgeMs, now - sent);
      }
      let full = false;
      for (const message of messages) {
        if (full) {
          this.carry.push(message);
        } else if (!take(message)) {
          full = true;
        }
      }
      if (full) {
        break;
      }
      if (batch.length > 0 && windowEnds === Number.POSITIVE_INFINITY) {
        windowEnds = Date.now() + maxBatchingWindowSeconds * 1000;
      }
      if (batch.length === 0 && messages.length === 0) {
        return batch;
      }
      if (messages.length === 0 && batch.length < batchSize) {
        await sleep(Math.min(50, Math.max(0, windowEnds - Date.now())));
      }
    }
    return batch;
  }

  private async process(batch: Message[]): Promise<void> {
    this.stats.batches++;
    this.stats.largestBatch = Math.max(this.stats.largestBatch, batch.length);
    const event = toSqsEvent(batch, { queueArn: this.options.queueArn, region: this.options.region });
    const outcome = await this.options.function.invoke(event);
    if (outcome.status !== 'ok') {
      this.stats.failedBatches++;
      this.stats.failedRecords += batch.length;
      return;
    }
    const failures = failedIds(outcome.result, batch);
    if (failures === 'all') {
      this.stats.failedBatches++;
      this.stats.failedRecords += batch.length;
      return;
    }
    this.stats.failedRecords += failures.size;
    const done = batch.filter((message) => !failures.has(message.MessageId as string));
    await this.delete(done);
  }

  private async delete(messages: Message[]): Promise<void> {
    for (let start = 0; start < messages.length; start += SQS_LIMITS.batchEntries.max) {
      const slice = messages.slice(start, start + SQS_LIMITS.batchEntries.max);
      const result = await this.options.sqs.send(
        new DeleteMessageBatchCommand({
          QueueUrl: this.options.queueUrl,
          Entries: slice.map((message, index) => ({
            Id: String(index),
            ReceiptHandle: message.ReceiptHandle as string,
          })),
        }),
      );
      this.stats.deleted += result.Successful?.length ?? 0;
      const now = Date.now();
      // Bounded: at most the last 10,000 latencies between two samples.
      for (const message of slice) {
        const sent = Number(message.Attributes?.SentTimestamp);
        if (Number.isFinite(sent) && this.latenciesMs.length < 10_000) this.latenciesMs.push(now - sent);
      }
    }
  }
}

/**
 * The message ids a handler's response reports as failed, or `'all'` when the response fails the whole batch: an
 * `itemIdentifier` that is empty, not a string, or not in the batch (AWS treats the batch as a complete failure).
 */
export function failedIds(response: unknown, batch: readonly Message[]): Set<string> | 'all' {
  if (response === null || response === undefined) {
    return new Set();
  }
  const failures = (response as SQSBatchResponse).batchItemFailures;
  if (failures === undefined || failures === null) {
    return new Set();
  }
  if (!Array.isArray(failures)) {
    return 'all';
  }
  const ids = new Set(batch.map((message) => message.MessageId));
  const failed = new Set<string>();
  for (const failure of failures) {
    const id = (failure as { itemIdentifier?: unknown })?.itemIdentifier;
    if (typeof id !== 'string' || id === '' || !ids.has(id)) {
      return 'all';
    }
    failed.add(id);
  }
  return failed;
}
