import { LAMBDA_LIMITS, SQS_LIMITS } from '../definition/index.ts';
import { BreakerModel } from './breaker.ts';
import { Carry, type FluidBucket, SERVICE_TIME_GROUPS, serviceTimeMultipliers } from './fluid.ts';
import { type Cohort, SimQueue } from './queue.ts';
import type { ResolvedScenario, StageBehaviour } from './scenario.ts';
import type { SimStageConfig } from './topology.ts';

/**
 * One queue and its consumer: Lambda's SQS event source mapping (scaling, batching, concurrency caps), the sluice
 * runtime's per-record outcomes (retry with backoff, dead-lettering, deferral for pressure) and the invocation's
 * duration.
 */

/**
 * Lambda's SQS scaling (https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-scaling.html): five concurrent
 * batches when messages arrive, then up to 300 more a minute while messages are available, up to 1,000 or the
 * mapping's MaximumConcurrency; back to five when traffic is low.
 */
export const ESM_INITIAL_CONCURRENCY = 5;
export const ESM_SCALE_UP_PER_MINUTE = 300;
/** Pollers long-poll an empty queue for 20 s per ReceiveMessage (each is a billed empty receive). */
export const ESM_LONG_POLL_SECONDS = SQS_LIMITS.receiveWaitTimeSeconds.max;

/**
 * The runtime's retry backoff (`DEFAULT_BACKOFF` in functions/runtime/backoff.ts, checked equal by
 * test/sim/constants.test.ts): full jitter over min(900, 2 × 2^(receive − 1)) seconds, at least 1. The model uses
 * the mean of the draw.
 */
export const RETRY_BACKOFF = { baseSeconds: 2, maxSeconds: 900 } as const;
/**
 * Deferral: `DEFAULT_DEFERRAL` of functions/runtime/deferral.ts (checked equal by test/sim/agreement.test.ts): delay
 * min(60, 2 × 2^deferrals) seconds with equal jitter (half to all of it; the model uses the mean, ¾), dead-lettered
 * after 1,000 deferrals.
 */
export const DEFERRAL_BACKOFF = { baseSeconds: 2, maxSeconds: 60, maxDeferrals: 1000 } as const;

/** Mean delay of a record's next deferral, after `deferrals` earlier ones (equal jitter: ¾ of the ceiling). */
export function meanDeferralSeconds(deferrals: number): number {
  const ceiling = Math.min(
    DEFERRAL_BACKOFF.maxSeconds,
    SQS_LIMITS.deliveryDelaySeconds.max,
    DEFERRAL_BACKOFF.baseSeconds * 2 ** Math.min(deferrals, 30),
  );
  return Math.max(1, Math.ceil(ceiling * 0.75));
}

/** Mean of a full-jitter backoff draw for the `attempt`-th retry (whole seconds, at least 1). */
export function meanBackoffSeconds(attempt: number, backoff: { baseSeconds: number; maxSeconds: number }): number {
  const ceiling = Math.min(backoff.maxSeconds, backoff.baseSeconds * 2 ** Math.max(0, attempt - 1));
  return Math.max(1, (ceiling + 1) / 2);
}

/** Why a record was deferred instead of run. */
export type DeferralReason = 'next-stage' | 'breaker' | 'limiter' | 'tenant';

/** Counters of one stage over the whole run. */
export interface StageCounters {
  /** Messages sent into the queue (accepted, forwarded or re-sent after a deferral). */
  received: number;
  /** New work sent into the queue (accepted, forwarded, drained from the overflow): `received` without re-sends. */
  arrived: number;
  /** Records handed to the handler (each receive that was not deferred). */
  attempts: number;
  /** Records whose handler succeeded. */
  completed: number;
  /** Messages sent to the next stage. */
  forwarded: number;
  deadLettered: number;
  /** Transient failures returned to the queue with backoff. */
  retried: number;
  timedOut: number;
  deferred: Record<DeferralReason, number>;
  invocations: number;
  /** Billed duration of the consumer, in GB-seconds. */
  gbSeconds: number;
  sqsRequests: number;
  dynamoWrites: number;
  peakConcurrency: number;
  breakerOpened: number;
  valvePausedSeconds: number;
}

interface Completion {
  batches: number;
  succeeded: number;
  dead: number;
  hot: number;
}

/** What a stage looks at in the rest of the pipeline each tick. */
export interface StageContext {
  readonly now: number;
  readonly tick: number;
  readonly dt: number;
  readonly nextStage?: StageModel;
  /** Shared downstream buckets by name. */
  readonly buckets: ReadonlyMap<string, FluidBucket>;
  readonly hotTenantShare: number;
  /** Defer instead of forwarding while the next stage is over its depth limit. */
  readonly stageBackpressure: boolean;
}

/** A stage's queue and consumer. */
export class StageModel {
  readonly config: SimStageConfig;
  readonly queue: SimQueue;
  readonly counters: StageCounters;
  readonly breaker?: BreakerModel;
  /** Batches being processed. */
  busy = 0;
  /** The event source mapping's current concurrency target (fractional while scaling). */
  scalingLimit: number;
  /** The valve disabled the event source mapping. */
  paused = false;
  /** Depth of the next stage's queue as the runtime last read it (cached ≤ 1 s per container, as the contract says). */
  private nextDepthSeen = 0;
  private nextDepthReadAt = Number.NEGATIVE_INFINITY;
  private windowOpenedAt: number | undefined;
  private hotInFlight = 0;
  private readonly completions = new Map<number, Completion[]>();
  private readonly behaviour: Required<Omit<StageBehaviour, 'outages' | 'recordMsSteps'>> &
    Pick<StageBehaviour, 'outages' | 'recordMsSteps'>;
  private readonly multipliers: number[];
  private readonly ceiling: number;
  private readonly batchSize: number;
  private readonly overheadMs: number;
  private readonly carries = {
    deferred: new Carry(),
    permanent: new Carry(),
    transient: new Carry(),
    group: new Carry(),
    fanOut: new Carry(),
    hot: new Carry(),
    emptyReceives: new Carry(),
  };

  constructor(config: SimStageConfig, scenario: ResolvedScenario) {
    this.config = config;
    this.queue = new SimQueue(Math.max(scenario.tickSeconds, 0.05));
    const given = { ...scenario.defaultStage, ...scenario.stages[config.stage.name] };
    this.behaviour = {
      recordMs: given.recordMs ?? config.stage.flow.recordProcessingMs,
      distribution: given.distribution ?? 'fixed',
      cv: given.cv ?? 0.5,
      transientFailureRate: given.transientFailureRate ?? 0,
      permanentFailureRate: given.permanentFailureRate ?? 0,
      fanOut: given.fanOut ?? 1,
      ...(given.outages ? { outages: given.outages } : {}),
      ...(given.recordMsSteps ? { recordMsSteps: given.recordMsSteps } : {}),
    };
    this.overheadMs = scenario.invocationOverheadMs;
    this.multipliers = serviceTimeMultipliers(this.behaviour.distribution, this.behaviour.cv);
    this.ceiling = Math.min(
      config.maxConcurrency,
      config.stage.consumer.reservedConcurrency,
      LAMBDA_LIMITS.maxConcurrency.max,
    );
    this.scalingLimit = Math.min(ESM_INITIAL_CONCURRENCY, this.ceiling);
    // A full batch never exceeds Lambda's 6 MB invocation payload; the mapping sends smaller batches instead.
    this.batchSize = Math.max(
      1,
      Math.min(
        config.stage.consumer.batchSize,
        Math.floor(LAMBDA_LIMITS.invocationPayloadBytes.max / scenario.messageBytes),
      ),
    );
    if (config.breaker) this.breaker = new BreakerModel(config.breaker);
    this.counters = {
      received: 0,
      arrived: 0,
      attempts: 0,
      completed: 0,
      forwarded: 0,
      deadLettered: 0,
      retried: 0,
      timedOut: 0,
      deferred: { 'next-stage': 0, breaker: 0, limiter: 0, tenant: 0 },
      invocations: 0,
      gbSeconds: 0,
      sqsRequests: 0,
      dynamoWrites: 0,
      peakConcurrency: 0,
      breakerOpened: 0,
      valvePausedSeconds: 0,
    };
  }

  /** Hard depth limit of the stage (`flow.depthLimit`). */
  get depthLimit(): number {
    return this.config.stage.flow.depthLimit;
  }

  /** Sends `count` new messages into this stage's queue. */
  send(now: number, count: number): void {
    if (count <= 0) return;
    this.queue.send(now, count);
    this.counters.received += count;
    this.counters.arrived += count;
  }

  /** Messages due at this tick become visible (or are redriven to the DLQ); batches due finish. */
  settle(context: StageContext, messageChunks: number): void {
    const redriven = this.queue.release(context.tick, this.config.stage.queue.maxReceiveCount);
    this.counters.deadLettered += redriven;
    const done = this.completions.get(context.tick);
    if (!done) return;
    this.completions.delete(context.tick);
    for (const completion of done) {
      this.busy -= completion.batches;
      this.hotInFlight -= completion.hot;
      this.queue.inBatches -= completion.succeeded + completion.dead;
      this.counters.completed += completion.succeeded;
      this.counters.deadLettered += completion.dead;
      if (completion.succeeded > 0 && context.nextStage) {
        const forwarded = this.carries.fanOut.take(completion.succeeded * this.behaviour.fanOut);
        context.nextStage.send(context.now, forwarded);
        this.counters.forwarded += forwarded;
        this.counters.sqsRequests += Math.max(Math.ceil(forwarded / 10), forwarded * messageChunks);
      }
      // DeleteMessageBatch for what succeeded or was dead-lettered by the runtime, SendMessage to the DLQ.
      this.counters.sqsRequests += Math.ceil((completion.succeeded + completion.dead) / 10) + completion.dead;
    }
  }

  /** Mean milliseconds per record now. */
  private recordMsAt(now: number): number {
    let recordMs = this.behaviour.recordMs;
    for (const step of this.behaviour.recordMsSteps ?? []) {
      if (step.atSeconds > now) break;
      recordMs = step.recordMs;
    }
    return recordMs;
  }

  /** Whether a downstream call fails transiently now (an outage or the failure rate). */
  private failureRate(now: number): number {
    for (const outage of this.behaviour.outages ?? []) {
      if (now >= outage.startSeconds && now < outage.startSeconds + outage.lengthSeconds) return 1;
    }
    return this.behaviour.transientFailureRate;
  }

  /** The event source mapping polls, forms batches and invokes the function. */
  dispatch(context: StageContext, messageChunks: number): void {
    const { now, dt } = context;
    if (this.paused) {
      this.counters.valvePausedSeconds += dt;
      return;
    }
    const free = Math.floor(this.scalingLimit + 1e-9) - this.busy;
    const visible = this.queue.visible;
    let batches = 0;
    let records = 0;
    if (free > 0 && visible > 0) {
      const size = this.batchSize;
      const window = this.config.stage.consumer.maxBatchingWindowSeconds;
      const full = Math.min(free, Math.floor(visible / size));
      batches = full;
      records = full * size;
      const rest = visible - records;
      const freeLeft = free - full;
      if (rest > 0 && freeLeft > 0) {
        if (window === 0) {
          // No window: each poller's ReceiveMessage returns what is there, at most 10.
          const perReceive = Math.min(size, SQS_LIMITS.batchEntries.max);
          const extra = Math.min(freeLeft, Math.ceil(rest / perReceive));
          batches += extra;
          records += Math.min(rest, extra * perReceive);
          this.windowOpenedAt = undefined;
        } else {
          this.windowOpenedAt ??= now;
          // The window closes the batch once it has run since the first record was picked up.
          if (now - this.windowOpenedAt >= window - 1e-9) {
            batches += 1;
            records += rest;
            this.windowOpenedAt = undefined;
          }
        }
      } else if (rest === 0) {
        this.windowOpenedAt = undefined;
      }
    }
    // Scaling: up while messages wait and every slot is busy, down towards five when the queue is empty.
    const step = (ESM_SCALE_UP_PER_MINUTE / 60) * dt;
    const after = this.queue.visible - records;
    if (after > 0 && this.busy + batches >= Math.floor(this.scalingLimit + 1e-9)) {
      this.scalingLimit = Math.min(this.ceiling, this.scalingLimit + step);
    } else if (this.queue.visible === 0) {
      this.scalingLimit = Math.max(Math.min(ESM_INITIAL_CONCURRENCY, this.ceiling), this.scalingLimit - step);
      // Idle pollers long-poll: one empty receive per poller per 20 s.
      const idle = Math.max(0, Math.floor(this.scalingLimit) - this.busy);
      this.counters.sqsRequests += this.carries.emptyReceives.take((idle * dt) / ESM_LONG_POLL_SECONDS);
    }
    if (batches === 0) return;
    this.run(context, batches, records, messageChunks);
  }

  private run(context: StageContext, batches: number, records: number, messageChunks: number): void {
    const { now, tick, dt } = context;
    const slices: Cohort[] = [];
    this.queue.receive(records, (slice) => slices.push(slice));
    this.counters.invocations += batches;
    this.busy += batches;
    this.counters.peakConcurrency = Math.max(this.counters.peakConcurrency, this.busy);
    this.counters.sqsRequests += Math.max(batches, Math.ceil(records / 10), Math.ceil(records * messageChunks));

    // Pressure: what may run now; the rest is deferred (re-sent with a delay, the receive not counted).
    let runnable = records;
    let reason: DeferralReason | undefined;
    const next = context.nextStage;
    if (next && context.stageBackpressure && this.nextDepthReadAt <= now - 1) {
      this.nextDepthSeen = next.queue.visible;
      this.nextDepthReadAt = now;
      this.counters.sqsRequests += 1;
    }
    if (next && context.stageBackpressure && this.nextDepthSeen >= next.depthLimit) {
      runnable = 0;
      reason = 'next-stage';
    }
    if (this.breaker && runnable > 0) {
      const allowed = this.breaker.allow(runnable, now);
      if (allowed < runnable) reason = 'breaker';
      runnable = allowed;
    }
    const buckets = this.config.downstreams.map((downstream) => context.buckets.get(downstream.name) as FluidBucket);
    if (buckets.length > 0 && runnable > 0) {
      const tokens = Math.min(...buckets.map((bucket) => bucket.available()));
      if (tokens < runnable) reason = 'limiter';
      runnable = Math.min(runnable, tokens);
      for (const bucket of buckets) bucket.take(runnable);
      this.counters.dynamoWrites += runnable * buckets.length;
    }
    let hotRun = 0;
    if (this.config.tenantMaxInFlight !== undefined && runnable > 0 && context.hotTenantShare > 0) {
      const hot = this.carries.hot.take(runnable * context.hotTenantShare, runnable);
      hotRun = Math.min(hot, Math.max(0, this.config.tenantMaxInFlight - this.hotInFlight));
      if (hotRun < hot) reason = 'tenant';
      runnable -= hot - hotRun;
      this.hotInFlight += hotRun;
      this.counters.dynamoWrites += 2 * runnable;
    }

    // Deferred records: re-sent to the own queue with DelaySeconds, original deleted, receive count starts again.
    const runSlices: Cohort[] = [];
    let runTotal = 0;
    for (const slice of slices) {
      const run = Math.min(slice.count, Math.max(0, runnable - runTotal));
      const deferred = slice.count - run;
      if (deferred > 0) {
        const why: DeferralReason = reason ?? 'next-stage';
        this.queue.inBatches -= deferred;
        this.counters.deferred[why] += deferred;
        if (slice.deferrals + 1 >= DEFERRAL_BACKOFF.maxDeferrals) {
          // Deferral is bounded: past maxDeferrals the runtime dead-letters the record.
          this.counters.deadLettered += deferred;
          this.counters.deferred[why] -= deferred;
        } else {
          const delay = meanDeferralSeconds(slice.deferrals);
          this.queue.hideUntil(
            tick + Math.max(1, Math.round(delay / dt)),
            { sentAt: now, count: deferred, receives: 0, deferrals: slice.deferrals + 1 },
            'delayed',
          );
          this.counters.received += deferred;
        }
        // SendMessageBatch with DelaySeconds, then the original's delete.
        this.counters.sqsRequests += 2 * Math.max(Math.ceil(deferred / 10), Math.ceil(deferred * messageChunks));
      }
      if (run > 0) {
        runSlices.push({ ...slice, count: run });
        runTotal += run;
      }
    }
    this.counters.attempts += runTotal;

    // Invocation durations: four equal-probability groups of batches, each with its own service time.
    const memoryGb = this.config.stage.consumer.memorySizeMiB / 1024;
    const timeoutMs = this.config.stage.consumer.timeoutSeconds * 1000;
    const perBatch = runTotal / batches;
    const parallel = Math.max(1, Math.min(this.config.stage.consumer.recordConcurrency, perBatch));
    const waves = perBatch > 0 ? perBatch / parallel : 0;
    const maxReceive = this.config.stage.queue.maxReceiveCount;
    const failureRate = this.failureRate(now);
    const recordMs = this.recordMsAt(now);
    let groupBatchesLeft = batches;
    const groupLeft = runSlices.map((slice) => slice.count);
    let failedTotal = 0;
    let okTotal = 0;
    let hotLeft = hotRun;
    for (let group = 0; group < SERVICE_TIME_GROUPS; group++) {
      const last = group === SERVICE_TIME_GROUPS - 1;
      const groupBatches = last
        ? groupBatchesLeft
        : this.carries.group.take(batches / SERVICE_TIME_GROUPS, groupBatchesLeft);
      groupBatchesLeft -= groupBatches;
      if (groupBatches === 0) continue;
      const share = groupBatches / batches;
      const multiplier = 1 + ((this.multipliers[group] ?? 1) - 1) / Math.sqrt(Math.max(1, waves));
      const durationMs = this.overheadMs + waves * recordMs * multiplier;
      const timedOut = durationMs > timeoutMs;
      const billedMs = Math.min(durationMs, timeoutMs);
      this.counters.gbSeconds += (groupBatches * billedMs * memoryGb) / 1000;
      const doneTick = tick + Math.max(1, Math.ceil(billedMs / 1000 / dt - 1e-9));
      const completion: Completion = { batches: groupBatches, succeeded: 0, dead: 0, hot: 0 };
      const hot = last ? hotLeft : Math.min(hotLeft, Math.round(hotRun * share));
      hotLeft -= hot;
      completion.hot = hot;
      runSlices.forEach((slice, index) => {
        const left = groupLeft[index] ?? 0;
        const n = last ? left : Math.min(left, Math.round(slice.count * share));
        groupLeft[index] = left - n;
        if (n === 0) return;
        const receives = slice.receives + 1;
        if (timedOut) {
          // Nothing is deleted: the records come back after the visibility timeout, one receive spent.
          this.counters.timedOut += n;
          this.queue.inBatches -= n;
          const visibility = this.config.stage.queue.visibilityTimeoutSeconds;
          this.queue.hideUntil(
            tick + Math.max(1, Math.round(visibility / dt)),
            { sentAt: slice.sentAt, count: n, receives, deferrals: slice.deferrals },
            'invisible',
          );
          return;
        }
        const permanent = this.carries.permanent.take(n * this.behaviour.permanentFailureRate, n);
        const transient = this.carries.transient.take((n - permanent) * failureRate, n - permanent);
        const succeeded = n - permanent - transient;
        okTotal += succeeded + permanent;
        failedTotal += transient;
        completion.succeeded += succeeded;
        completion.dead += permanent;
        if (transient === 0) return;
        if (receives >= maxReceive) {
          // The runtime dead-letters on the last allowed receive itself, so the reason travels along.
          completion.dead += transient;
          return;
        }
        this.counters.retried += transient;
        this.queue.inBatches -= transient;
        const backoff = meanBackoffSeconds(receives, RETRY_BACKOFF);
        this.queue.hideUntil(
          doneTick + Math.max(1, Math.round(backoff / dt)),
          { sentAt: slice.sentAt, count: transient, receives, deferrals: slice.deferrals },
          'invisible',
        );
        this.counters.sqsRequests += Math.ceil(transient / 10);
      });
      const list = this.completions.get(doneTick);
      if (list) list.push(completion);
      else this.completions.set(doneTick, [completion]);
    }
    if (this.breaker) {
      const before = this.breaker.opened;
      this.breaker.record(okTotal, failedTotal, now);
      this.counters.breakerOpened += this.breaker.opened - before;
    }
  }
}
