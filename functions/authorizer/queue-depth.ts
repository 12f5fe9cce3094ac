import { GetQueueAttributesCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { DEPTH_ATTRIBUTES } from '../../lib/definition/limits.ts';

/**
 * Queue depths for the depth-check authorizer, read with `GetQueueAttributes` and kept in memory for a short TTL.
 *
 * Whatever the request rate, a container makes at most one `GetQueueAttributes` call per queue per TTL: a read while
 * the cached value is fresh returns it, and a read while a refresh is in flight waits for that refresh instead of
 * starting another (coalescing). The TTL counts from the start of a refresh, so a slow SQS answer does not let a
 * second call slip in.
 */

/** One reading of every watched queue. */
export interface DepthSnapshot {
  /** Depth of each queue, by URL. */
  readonly depths: ReadonlyMap<string, number>;
  /** Epoch milliseconds when the refresh that produced it started. */
  readonly readAt: number;
  /** The refresh failed and these are the last good depths (or zeros when there never were any). */
  readonly stale: boolean;
  /** Why the last refresh failed, when `stale`. */
  readonly error?: Error;
}

/** Options of {@link QueueDepthReader}. */
export interface QueueDepthReaderOptions {
  readonly sqs: SQSClient;
  /** URLs of the queues to read. */
  readonly queueUrls: readonly string[];
  /** How long a reading is reused, in milliseconds. */
  readonly ttlMs: number;
  /** Clock, for tests and benchmarks. @default Date.now */
  readonly now?: () => number;
}

/** Reads queue depths with an in-memory TTL cache and in-flight coalescing. */
export class QueueDepthReader {
  private readonly options: Required<QueueDepthReaderOptions>;
  private current: Promise<DepthSnapshot> | undefined;
  private currentStartedAt = Number.NEGATIVE_INFINITY;
  private lastGood: ReadonlyMap<string, number> | undefined;

  constructor(options: QueueDepthReaderOptions) {
    if (options.queueUrls.length === 0) {
      throw new Error('QueueDepthReader needs at least one queue URL, but none was provided.');
    }
    if (!(options.ttlMs > 0)) {
      throw new Error(`QueueDepthReader ttlMs must be above 0 milliseconds, but ${options.ttlMs} was provided.`);
    }
    this.options = { now: Date.now, ...options };
  }

  /**
   * The depths of every watched queue: the cached reading while it is younger than the TTL (or still in flight),
   * otherwise a new one. Never rejects: a failed refresh yields the last good depths marked `stale`.
   */
  read(): Promise<DepthSnapshot> {
    const now = this.options.now();
    if (this.current !== undefined && now - this.currentStartedAt < this.options.ttlMs) {
      return this.current;
    }
    this.currentStartedAt = now;
    this.current = this.refresh(now);
    return this.current;
  }

  private async refresh(startedAt: number): Promise<DepthSnapshot> {
    try {
      const depths = await Promise.all(this.options.queueUrls.map((url) => this.depthOf(url)));
      const map = new Map(this.options.queueUrls.map((url, index) => [url, depths[index] ?? 0]));
      this.lastGood = map;
      return { depths: map, readAt: startedAt, stale: false };
    } catch (error) {
      const depths = this.lastGood ?? new Map(this.options.queueUrls.map((url) => [url, 0]));
      return { depths, readAt: startedAt, stale: true, error: error as Error };
    }
  }

  private async depthOf(queueUrl: string): Promise<number> {
    const result = await this.options.sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: [...DEPTH_ATTRIBUTES] }),
    );
    let depth = 0;
    for (const name of DEPTH_ATTRIBUTES) {
      const value = Number(result.Attributes?.[name] ?? 0);
      if (Number.isFinite(value)) depth += value;
    }
    return depth;
  }
}
