import type { Context, SQSRecord } from 'aws-lambda';
import { encodeJob, type JobEnvelope } from '../../lib/definition/envelope.ts';
import { PRESSURE_ENV, tenantGroupIdOf } from '../../lib/definition/pressure.ts';
import { ConsumerConfigurationError } from './errors.ts';
import type { Logger } from './log.ts';
import type { BatchScope, Gatherer } from './micro-batcher.ts';
import type { PressureConfig } from './pressure.ts';
import type { Limiter } from './rate-limiter.ts';
import type { OutgoingMessage } from './sqs-actions.ts';

/** The pipeline's tenant key, read once per container (`SLUICE_TENANT_KEY`). */
const TENANT_KEY = process.env[PRESSURE_ENV.tenantKey] || undefined;

/** Options of {@link JobContext.forward}. */
export interface ForwardOptions {
  /** Job id of the forwarded job. @default `<this job's id>.<n>`, the same on every retry so the next stage can deduplicate */
  readonly jobId?: string;
  /** Schema version of the forwarded data. @default 1 */
  readonly schemaVersion?: number;
}

/** What every record of one batch shares: made once per batch, so a record's context carries one reference to it. */
export interface BatchEnvironment {
  readonly stage: string;
  readonly logger: Logger;
  readonly lambdaContext: Context;
  readonly pressure: PressureConfig;
  /** The batch's micro-batchers, when the consumer has any. */
  readonly scope: BatchScope | undefined;
}

/** What a handler learns about the job it runs, and what it can do besides succeed or throw. */
export class JobContext {
  /** Which receive of the message this is (1 on the first delivery). */
  readonly receiveCount: number;
  // The envelope and the record, read through the getters below: a context costs four fields to make, whatever the
  // handler reads of it.
  private readonly job: JobEnvelope;
  private readonly record: SQSRecord;
  private readonly shared: BatchEnvironment;
  private ownLogger: Logger | undefined;
  /** What the pressure features track per record; made on first use, so a plain record pays one field. */
  private progress: { pendingItems: number; runEnded: boolean; breakerRecorded: boolean } | undefined;
  /** Jobs forwarded to the next stage, sent once the handler returns (made on first forward: most records forward nothing). */
  forwarded: OutgoingMessage[] | undefined;

  constructor(job: JobEnvelope, record: SQSRecord, receiveCount: number, batch: BatchEnvironment) {
    this.job = job;
    this.record = record;
    this.receiveCount = receiveCount;
    this.shared = batch;
    this.ownLogger = undefined;
    this.progress = undefined;
    this.forwarded = undefined;
  }

  get jobId(): string {
    return this.job.jobId;
  }

  /** Carried through every stage and log line of the job: the envelope's, or the job id. */
  get correlationId(): string {
    return this.job.correlationId ?? this.job.jobId;
  }

  get schemaVersion(): number {
    return this.job.schemaVersion;
  }

  get messageId(): string {
    return this.record.messageId;
  }

  /** FIFO only. */
  get messageGroupId(): string | undefined {
    return this.record.attributes.MessageGroupId;
  }

  /** The stage's name. */
  get stage(): string {
    return this.shared.stage;
  }

  /** The Lambda context of the invocation. */
  get lambdaContext(): Context {
    return this.shared.lambdaContext;
  }

  private get pressure(): PressureConfig {
    return this.shared.pressure;
  }

  private get scope(): BatchScope | undefined {
    return this.shared.scope;
  }

  /**
   * The consumer's micro-batcher `name` (its `batchers` option): items added by every record of the batch go to the
   * downstream together, up to its maxItems / maxBytes / maxWaitMs, and each `add` resolves with its own item's
   * result. A poison item fails only its own record. Gathering across records needs `recordConcurrency` of at least
   * the number of records to gather.
   *
   * @example
   * const vectors = await Promise.all(chunks.map((chunk) => ctx.batch<string, number[]>('embeddings').add(chunk.text)));
   */
  batch<Item = unknown, Result = unknown>(name: string): { add(item: Item): Promise<Result> } {
    const gatherer = this.scope?.gatherer(name);
    if (gatherer === undefined) {
      const known = this.scope?.names ?? [];
      throw new ConsumerConfigurationError(
        `Stage '${this.stage}' has no micro-batcher named '${name}'; ${known.length > 0 ? `it has ${known.join(', ')}` : "pass it in the consumer's batchers option"}.`,
      );
    }
    return { add: (item: Item) => this.addTo(gatherer, item) as Promise<Result> };
  }

  /** Whether the handler recorded its downstream outcome itself with `ctx.breaker.record`. */
  get breakerRecorded(): boolean {
    return this.progress?.breakerRecorded === true;
  }

  private tracked(): { pendingItems: number; runEnded: boolean; breakerRecorded: boolean } {
    this.progress ??= { pendingItems: 0, runEnded: false, breakerRecorded: false };
    return this.progress;
  }

  /** Tells the batch's micro-batchers this record's handler started (the runtime calls it). */
  startRun(): void {
    this.scope?.recordStarted();
  }

  /** Tells the batch's micro-batchers this record's handler is done (once; the runtime calls it). */
  endRun(): void {
    const progress = this.tracked();
    if (this.scope === undefined || progress.runEnded) return;
    progress.runEnded = true;
    this.scope.recordEnded();
  }

  private async addTo(gatherer: Gatherer<unknown, unknown>, item: unknown): Promise<unknown> {
    const scope = this.scope as BatchScope;
    const progress = this.tracked();
    if (progress.pendingItems++ === 0) scope.recordBlocked();
    try {
      return await gatherer.add(item);
    } finally {
      if (--progress.pendingItems === 0) scope.recordUnblocked();
    }
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
        this.tracked().breakerRecorded = true;
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
    this.ownLogger ??= this.shared.logger.child({ jobId: this.jobId, correlationId: this.correlationId });
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
    // The record's group goes on (FIFO order, or the tenant on a fair queue); else the job's tenant, when the pipeline
    // names a tenant key (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-fair-queues.html).
    const messageGroupId = this.messageGroupId ?? tenantGroupIdOf(data, TENANT_KEY);
    this.forwarded.push({
      body: encodeJob(envelope),
      ...(messageGroupId === undefined ? {} : { messageGroupId }),
      deduplicationId: jobId,
    });
    return jobId;
  }
}
