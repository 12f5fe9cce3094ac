import { createHash } from 'node:crypto';
import { serviceTime } from './document-store.ts';

/**
 * The example's stand-in embedding service: what a hosted embedding API looks like to the `embed` stage. It has its
 * own rate limit (texts a minute, a token bucket; over it a call is refused like an HTTP 429), a batch endpoint (at
 * most `maxBatch` texts a call), a service time that grows with the batch, a transient failure rate (like an HTTP
 * 503), and an outage switch the scenarios use. `sluice dev` serves one instance over HTTP (`embedding-server.ts`) to
 * every container of the stage, so its rate limit is global as a real API's is; deployed without that server, each
 * container calls an instance of its own.
 */

/** Settings of an {@link EmbeddingService}. */
export interface EmbeddingServiceOptions {
  /** Texts a minute the service accepts. @default 3000 */
  readonly ratePerMinute?: number;
  /** Texts one call may carry. @default 96 */
  readonly maxBatch?: number;
  /** Share of calls that fail transiently. @default 0.01 */
  readonly failureRate?: number;
  /** Milliseconds a call takes, plus `perTextMs` per text. @default 60 */
  readonly baseLatencyMs?: number;
  /** @default 1 */
  readonly perTextMs?: number;
  /** Random numbers in [0, 1), for tests. @default Math.random */
  readonly random?: () => number;
  /** Clock. @default Date.now */
  readonly now?: () => number;
}

/** Dimensions of the stand-in vectors. */
export const EMBEDDING_DIMENSIONS = 8;

/** Why a call was refused: over the rate (429), too many texts (400), unavailable (503). */
export class EmbeddingServiceError extends Error {
  readonly status: 400 | 429 | 503;
  constructor(status: 400 | 429 | 503, message: string) {
    super(message);
    this.name = 'EmbeddingServiceError';
    this.status = status;
  }
}

/** Counters of an {@link EmbeddingService}. */
export interface EmbeddingServiceStats {
  calls: number;
  texts: number;
  rateLimited: number;
  failed: number;
  largestBatch: number;
}

/** The stand-in embedding API. */
export class EmbeddingService {
  readonly ratePerMinute: number;
  readonly maxBatch: number;
  readonly stats: EmbeddingServiceStats = { calls: 0, texts: 0, rateLimited: 0, failed: 0, largestBatch: 0 };
  private readonly options: Required<Omit<EmbeddingServiceOptions, 'ratePerMinute' | 'maxBatch'>>;
  private tokens: number;
  private refilledAt: number;
  private outageUntil = 0;

  constructor(options: EmbeddingServiceOptions = {}) {
    this.ratePerMinute = options.ratePerMinute ?? 3_000;
    this.maxBatch = options.maxBatch ?? 96;
    this.options = {
      failureRate: options.failureRate ?? 0.01,
      baseLatencyMs: options.baseLatencyMs ?? 60,
      perTextMs: options.perTextMs ?? 1,
      random: options.random ?? Math.random,
      now: options.now ?? Date.now,
    };
    // A bucket of one second of the rate: a real API's limit is close to its steady rate.
    this.tokens = this.burst;
    this.refilledAt = this.options.now();
  }

  private get burst(): number {
    return Math.max(this.maxBatch, this.ratePerMinute / 60);
  }

  /** Fails every call for `ms` milliseconds from now (an outage). */
  failFor(ms: number): void {
    this.outageUntil = this.options.now() + ms;
  }

  /** Whether an outage is under way. */
  get down(): boolean {
    return this.options.now() < this.outageUntil;
  }

  /** One vector per text, in order; throws an {@link EmbeddingServiceError} when the call is refused. */
  async embed(texts: readonly string[]): Promise<number[][]> {
    this.stats.calls++;
    if (texts.length === 0 || texts.length > this.maxBatch) {
      throw new EmbeddingServiceError(
        400,
        `a call carries between 1 and ${this.maxBatch} texts, but ${texts.length} were sent`,
      );
    }
    if (this.down || this.options.random() < this.options.failureRate) {
      this.stats.failed++;
      await serviceTime(this.options.baseLatencyMs);
      throw new EmbeddingServiceError(503, 'the embedding service is unavailable; retry later');
    }
    const now = this.options.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.refilledAt) / 60_000) * this.ratePerMinute);
    this.refilledAt = now;
    if (this.tokens < texts.length) {
      this.stats.rateLimited++;
      throw new EmbeddingServiceError(
        429,
        `rate limit of ${this.ratePerMinute} texts a minute exceeded (${texts.length} asked, ${Math.floor(this.tokens)} left)`,
      );
    }
    this.tokens -= texts.length;
    this.stats.texts += texts.length;
    this.stats.largestBatch = Math.max(this.stats.largestBatch, texts.length);
    await serviceTime(this.options.baseLatencyMs + this.options.perTextMs * texts.length);
    return texts.map(vectorOf);
  }
}

/** The stand-in vector of a text: derived from its SHA-256, so the same text always gets the same vector. */
export function vectorOf(text: string): number[] {
  const digest = createHash('sha256').update(text).digest();
  return Array.from({ length: EMBEDDING_DIMENSIONS }, (_, index) => (digest[index] ?? 0) / 255);
}
