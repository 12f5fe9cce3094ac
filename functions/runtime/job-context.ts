import type { Context } from 'aws-lambda';
import { encodeJob, type JobEnvelope } from '../../lib/definition/envelope.ts';
import { ConsumerConfigurationError } from './errors.ts';
import type { Logger } from './log.ts';
import type { PressureConfig } from './pressure.ts';
import type { Limiter } from './rate-limiter.ts';
import type { OutgoingMessage } from './sqs-actions.ts';

/** Options of {@link JobContext.forward}. */
export interface ForwardOptions {
  /** Job id of the forwarded job. @default `<this job's id>.<n>`, the same on every retry so the next stage can deduplicate */
  readonly jobId?: string;
  /** Schema version of the forwarded data. @default 1 */
  readonly schemaVersion?: number;
}

/** What a handler learns about the job it runs, and what it can do besides succeed or throw. */
export class JobContext {
  readonly jobId: string;
  readonly correlationId: string;
  readonly schemaVersion: number;
  /** Which receive of the message this is (1 on the first delivery). */
  readonly receiveCount: number;
  readonly stage: string;
  readonly messageId: string;
  /** FIFO only. */
  readonly messageGroupId: string | undefined;
  private readonly parentLogger: Logger;
  private ownLogger: Logger | undefined;
  readonly lambdaContext: Context;
  private readonly pressure: PressureConfig;
  /** Whether the handler recorded its downstream outcome itself with `ctx.breaker.record`. */
  breakerRecorded = false;
  /** Jobs forwarded to the next stage, sent once the handler returns (made on first forward: most records forward nothing). */
  forwarded: OutgoingMessage[] | undefined;

  constructor(args: {
    job: JobEnvelope;
    receiveCount: number;
    stage: string;
    messageId: string;
    messageGroupId: string | undefined;
    logger: Logger;
    lambdaContext: Context;
    pressure: PressureConfig;
  }) {
    this.jobId = args.job.jobId;
    this.correlationId = args.job.correlationId ?? args.job.jobId;
    this.schemaVersion = args.job.schemaVersion;
    this.receiveCount = args.receiveCount;
    this.stage = args.stage;
    this.messageId = args.messageId;
    this.messageGroupId = args.messageGroupId;
    this.parentLogger = args.logger;
    this.lambdaContext = args.lambdaContext;
    this.pressure = args.pressure;
  }

  /**
   * The stage's circuit breaker, for handlers that know better than the default (every success and transient failure
   * counts): record each downstream call's outcome yourself. A no-op when the stage has no breaker.
   *
   * @example
   * const response = await fetch(url);
   * ctx.breaker.record(response.status < 500);
   */
  get breaker(): { record(ok: boolean): void } {
    return {
      record: (ok: boolean) => {
        this.breakerRecorded = true;
        this.pressure.breaker?.record(ok);
      },
    };
  }

  /**
   * The stage's shared rate limiter `name` (declared in the definition's `downstream`). Its `take(n)` waits briefly
   * for tokens or defers the record — which does not count as an attempt.
   *
   * @example
   * await ctx.limiter('embeddings').take(texts.length);
   */
  limiter(name: string): Limiter {
    const limiter = this.pressure.limiters?.get(name);
    if (limiter === undefined) {
      const known = [...(this.pressure.limiters?.keys() ?? [])];
      throw new ConsumerConfigurationError(
        `Stage '${this.stage}' has no rate limiter named '${name}'; ${known.length > 0 ? `it has ${known.join(', ')}` : "declare it in the stage's downstream"}.`,
      );
    }
    return limiter;
  }

  /** A logger whose lines carry the stage, job id and correlation id (made on first use: most records never log). */
  get logger(): Logger {
    this.ownLogger ??= this.parentLogger.child({ jobId: this.jobId, correlationId: this.correlationId });
    return this.ownLogger;
  }

  /** Milliseconds left before Lambda ends the invocation. */
  remainingTimeMs(): number {
    return this.lambdaContext.getRemainingTimeInMillis();
  }

  /**
   * Queues `data` as a job for the next stage, carrying this job's correlation id. Sent after the handler returns;
   * if sending fails the record is retried (the derived job ids stay the same, so the next stage can deduplicate).
   *
   * @example
   * for (const [index, text] of paragraphs.entries()) ctx.forward({ documentId, chunkIndex: index, text });
   */
  forward(data: unknown, options: ForwardOptions = {}): string {
    this.forwarded ??= [];
    const jobId = options.jobId ?? `${this.jobId}.${this.forwarded.length}`;
    const envelope: JobEnvelope = {
      jobId,
      schemaVersion: options.schemaVersion ?? 1,
      data,
      correlationId: this.correlationId,
      acceptedAt: Date.now(),
    };
    this.forwarded.push({
      body: encodeJob(envelope),
      ...(this.messageGroupId === undefined ? {} : { messageGroupId: this.messageGroupId }),
      deduplicationId: jobId,
    });
    return jobId;
  }
}
