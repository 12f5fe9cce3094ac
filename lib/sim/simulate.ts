import type { Pipeline } from '../definition/index.ts';
import { type AdmissionOutcome, admissionOutcome, downstreamOf } from './admission.ts';
import { Carry, FluidBucket } from './fluid.ts';
import { SQS_BILLING_CHUNK_BYTES } from './prices.ts';
import { rateAt } from './profile.ts';
import { type ResolvedScenario, resolveScenario, type Scenario } from './scenario.ts';
import { ESM_INITIAL_CONCURRENCY, type StageContext, type StageCounters, StageModel } from './stage-model.ts';
import { topologyOf } from './topology.ts';

/**
 * The capacity simulator: a discrete-time model of the deployed pipeline, driven by its resolved definition.
 *
 * Time advances in fixed ticks (10 ms by default). Within a tick every request and message is a count, not an object:
 * arrivals are split over API keys and lanes, pass API Gateway's token buckets, meet the admission decision on the
 * authorizer's cached depth reading, and land in SQS queues as cohorts; each stage's event source mapping forms
 * batches from what is visible, and each batch's outcome (done, retried with backoff, dead-lettered, deferred for
 * pressure, timed out) is settled when its invocation ends. The cost of a tick does not depend on the request rate.
 */

/** A stage paused for its next stage polls again once that is below this share of its limit (the valve's hysteresis). */
export const VALVE_RESUME_FRACTION = 0.9;

/** Per-stage time series, one point per sample interval. */
export interface StageSeries {
  readonly name: string;
  readonly depthLimit: number;
  readonly ageSloSeconds: number;
  readonly visible: number[];
  readonly notVisible: number[];
  readonly delayed: number[];
  readonly oldestAgeSeconds: number[];
  /** New work arriving (accepted or forwarded), without deferral re-sends. */
  readonly inPerSecond: number[];
  readonly outPerSecond: number[];
  readonly concurrency: number[];
  readonly deferredPerSecond: number[];
  readonly deadLetteredPerSecond: number[];
  readonly retriedPerSecond: number[];
}

/** Ingress time series. */
export interface IngressSeries {
  readonly offeredPerSecond: number[];
  readonly acceptedPerSecond: number[];
  readonly throttledPerSecond: number[];
  readonly shedPerSecond: number[];
  readonly rejectedPerSecond: number[];
  readonly overflowDepth: number[];
}

/** Ingress counters over the run. */
export interface IngressCounters {
  offered: number;
  accepted: number;
  /** Accepted onto the overflow queue. */
  buffered: number;
  /** 429: the client's usage plan, the stage or the account throttle. */
  throttled: number;
  /** 429 quota_exceeded. */
  quotaExceeded: number;
  /** 503 shed-low-priority. */
  shed: number;
  /** 503 over-hard-limit. */
  overHardLimit: number;
  /** 503 overflow-full. */
  overflowFull: number;
  /** 503 downstream-over-limit: a stage after the ingress stage was at its limit (whole-pipeline admission). */
  downstreamOverLimit: number;
  /** Requests that passed the throttles (billed by API Gateway, seen by the authorizer). */
  apiRequests: number;
  authorizerInvocations: number;
  /** GetQueueAttributes calls of the authorizer. */
  depthReads: number;
  /** Messages the overflow drainer moved back. */
  drained: number;
}

/** Per-stage figures of a run. */
export interface StageOutcome {
  readonly name: string;
  readonly depthLimit: number;
  readonly ageSloSeconds: number;
  /** Highest visible + not visible + delayed (what the depth check sums), checked every tick. */
  readonly maxDepth: number;
  /** Highest age of the oldest visible message. */
  readonly maxAgeSeconds: number;
  /** Seconds the oldest message was older than the age SLO. */
  readonly sloBreachSeconds: number;
  /** Seconds the depth was above the depth limit. */
  readonly overDepthLimitSeconds: number;
  readonly counters: StageCounters;
  /** Messages still in the queue (any state) at the end. */
  readonly queuedAtEnd: number;
}

/** Everything a run produces. */
export interface SimulationResult {
  readonly pipeline: string;
  readonly scenario: ResolvedScenario;
  /** Simulated seconds, arrivals and drain. */
  readonly simulatedSeconds: number;
  /** Seconds from the end of arrivals until every queue was empty; null when not within maxDrainSeconds. */
  readonly drainSeconds: number | null;
  readonly ingress: IngressCounters;
  readonly stages: readonly StageOutcome[];
  /**
   * The ledger. `completed`, `deadLettered` and `queued` count messages (completions at the last stages, every DLQ,
   * every queue and the overflow), so accepted = completed + dead-lettered + queued holds for jobs when no stage fans
   * out. `lost` is the message balance over the ingress and every queue — what was sent in and never came out, done,
   * dead-lettered or still queued — whatever the fan-out; it is 0 unless the model has a defect.
   */
  readonly ledger: {
    readonly accepted: number;
    readonly completed: number;
    readonly deadLettered: number;
    readonly queued: number;
    readonly lost: number;
  };
  readonly overflowAtEnd: number;
  readonly series: { readonly t: number[]; readonly ingress: IngressSeries; readonly stages: StageSeries[] };
  /** Wall-clock milliseconds the simulation took. */
  readonly wallMs: number;
}

/** Simulates `pipeline` under `scenario`. */
export function simulate(pipeline: Pipeline, input: Scenario): SimulationResult {
  const started = performance.now();
  const scenario = resolveScenario(input);
  const topology = topologyOf(pipeline);
  const dt = scenario.tickSeconds;
  const stages = topology.stages.map((config) => new StageModel(config, scenario));
  const ingressConfig = topology.ingress;
  const accept = stages[ingressConfig.stageIndex] as StageModel;
  const lowLane = ingressConfig.lowLaneIndex === undefined ? undefined : stages[ingressConfig.lowLaneIndex];
  const admission = ingressConfig.admission;
  const buckets = new Map<string, FluidBucket>();
  for (const stage of topology.stages) {
    for (const downstream of stage.downstreams) {
      if (!buckets.has(downstream.name)) {
        buckets.set(downstream.name, new FluidBucket(downstream.ratePerMinute / 60, downstream.burst));
      }
    }
  }
  const throttle = scenario.throttle ?? ingressConfig.throttle;
  const stageBucket = new FluidBucket(throttle.rateLimitPerSecond, throttle.burstLimit);
  const accountBucket = new FluidBucket(
    scenario.accountThrottle.rateLimitPerSecond,
    scenario.accountThrottle.burstLimit,
  );
  const shares = clientShares(
    ingressConfig.clients.map((client) => client.name),
    scenario.clientShares,
  );
  const clients = ingressConfig.clients.map((client, index) => ({
    bucket: new FluidBucket(client.rateLimitPerSecond, client.burstLimit),
    share: shares[index] ?? 0,
    carry: new Carry(),
    quotaLeft: client.quota?.limit ?? Number.POSITIVE_INFINITY,
  }));
  const arrivals = new Carry();
  const lowCarry = new Carry();
  const drainCarry = new Carry();
  const messageChunks = Math.max(1, Math.ceil(scenario.messageBytes / SQS_BILLING_CHUNK_BYTES));
  const depthTtl = scenario.depthCacheTtlSeconds ?? ingressConfig.depthCacheTtlSeconds;
  const ingress: IngressCounters = {
    offered: 0,
    accepted: 0,
    buffered: 0,
    throttled: 0,
    quotaExceeded: 0,
    shed: 0,
    overHardLimit: 0,
    overflowFull: 0,
    downstreamOverLimit: 0,
    apiRequests: 0,
    authorizerInvocations: 0,
    depthReads: 0,
    drained: 0,
  };
  let overflow = 0;
  const downstreamStages = downstreamOf(admission).map((view) =>
    stages.find((stage) => stage.config.name === view.stage && stage.config.lane === 'high'),
  );
  let reading = {
    depth: 0,
    high: 0,
    low: 0,
    overflow: 0,
    downstream: downstreamStages.map(() => 0),
    at: Number.NEGATIVE_INFINITY,
  };
  const cachedDecision: { second: number; high?: AdmissionOutcome; low?: AdmissionOutcome } = { second: -1 };
  let valveLookAt = 0;

  const maxDepth = stages.map(() => 0);
  const maxAge = stages.map(() => 0);
  const breachSeconds = stages.map(() => 0);
  const overLimitSeconds = stages.map(() => 0);

  const sampleTicks = Math.max(1, Math.round(scenario.sampleSeconds / dt));
  const t: number[] = [];
  const ingressSeries: IngressSeries = {
    offeredPerSecond: [],
    acceptedPerSecond: [],
    throttledPerSecond: [],
    shedPerSecond: [],
    rejectedPerSecond: [],
    overflowDepth: [],
  };
  const stageSeries: StageSeries[] = stages.map((stage) => ({
    name: stage.config.name,
    depthLimit: stage.depthLimit,
    ageSloSeconds: stage.config.stage.flow.ageSloSeconds,
    visible: [],
    notVisible: [],
    delayed: [],
    oldestAgeSeconds: [],
    inPerSecond: [],
    outPerSecond: [],
    concurrency: [],
    deferredPerSecond: [],
    deadLetteredPerSecond: [],
    retriedPerSecond: [],
  }));
  let lastIngress = { ...ingress };
  let lastStage = stages.map((stage) => snapshot(stage.counters));
  let sampleAge = stages.map(() => 0);

  const arrivalTicks = Math.round(scenario.durationSeconds / dt);
  const lastTick = arrivalTicks + Math.round(scenario.maxDrainSeconds / dt);
  let drainSeconds: number | null = null;
  let tick = 0;
  for (; tick < lastTick; tick++) {
    const now = tick * dt;
    const contexts = stages.map(
      (stage): StageContext => ({
        now,
        tick,
        dt,
        ...(stage.config.next === undefined ? {} : { nextStage: stages[stage.config.next] as StageModel }),
        buckets,
        hotTenantShare: scenario.hotTenantShare,
        stageBackpressure: scenario.stageBackpressure,
      }),
    );
    for (const bucket of buckets.values()) bucket.refill(dt);
    stages.forEach((stage, index) => {
      stage.settle(contexts[index] as StageContext, messageChunks);
    });

    // 1. Arrivals through API Gateway: usage plan (client) throttle and quota, stage throttle, account throttle.
    if (tick < arrivalTicks) {
      const offered = arrivals.take(rateAt(scenario.profile, now, scenario.durationSeconds) * dt);
      ingress.offered += offered;
      stageBucket.refill(dt);
      accountBucket.refill(dt);
      let passed = offered;
      if (clients.length > 0) {
        passed = 0;
        let left = offered;
        clients.forEach((client, index) => {
          client.bucket.refill(dt);
          const mine = index === clients.length - 1 ? left : client.carry.take(offered * client.share, left);
          left -= mine;
          const allowed = client.bucket.take(mine);
          ingress.throttled += mine - allowed;
          const withinQuota = Math.min(allowed, client.quotaLeft);
          client.quotaLeft -= withinQuota;
          ingress.quotaExceeded += allowed - withinQuota;
          passed += withinQuota;
        });
      }
      const stagePassed = stageBucket.take(passed);
      const accountPassed = accountBucket.take(stagePassed);
      ingress.throttled += passed - accountPassed;
      ingress.apiRequests += accountPassed;

      // 2. The depth-check authorizer, on a reading at most depthCacheTtlSeconds old.
      const low = lowLane && admission.priorityEnabled ? lowCarry.take(accountPassed * scenario.lowPriorityShare) : 0;
      const high = accountPassed - low;
      if (scenario.backpressure) {
        if (now - reading.at >= depthTtl - 1e-9) {
          const highDepth = accept.queue.depth;
          const lowDepth = lowLane?.queue.depth ?? 0;
          reading = {
            depth: highDepth + lowDepth,
            high: highDepth,
            low: lowDepth,
            overflow,
            downstream: downstreamStages.map((stage) => stage?.queue.depth ?? 0),
            at: now,
          };
          ingress.depthReads += (lowLane ? 2 : 1) + (ingressConfig.overflow ? 1 : 0) + downstreamStages.length;
        }
        const decide = (lane: 'high' | 'low'): AdmissionOutcome => {
          const second = Math.floor(now);
          if (ingressConfig.resultCacheTtlSeconds > 0 && cachedDecision.second === second && cachedDecision[lane]) {
            return cachedDecision[lane] as AdmissionOutcome;
          }
          if (ingressConfig.resultCacheTtlSeconds > 0 && cachedDecision.second !== second) {
            cachedDecision.second = second;
            delete cachedDecision.high;
            delete cachedDecision.low;
          }
          ingress.authorizerInvocations += ingressConfig.resultCacheTtlSeconds > 0 ? 1 : 0;
          const outcome = admissionOutcome(
            {
              depth: reading.depth,
              laneDepth: lane === 'low' ? reading.low : reading.high,
              overflowDepth: reading.overflow,
              lane,
              downstreamDepths: reading.downstream,
            },
            admission,
          );
          cachedDecision[lane] = outcome;
          return outcome;
        };
        if (ingressConfig.resultCacheTtlSeconds === 0) ingress.authorizerInvocations += accountPassed;
        for (const [lane, count] of [
          ['high', high],
          ['low', low],
        ] as const) {
          if (count === 0) continue;
          const outcome = decide(lane);
          if (outcome === 'queue') {
            (lane === 'low' ? (lowLane as StageModel) : accept).send(now, count);
            ingress.accepted += count;
          } else if (outcome === 'overflow') {
            overflow += count;
            ingress.accepted += count;
            ingress.buffered += count;
          } else if (outcome === 'shed-low-priority') ingress.shed += count;
          else if (outcome === 'over-hard-limit') ingress.overHardLimit += count;
          else if (outcome === 'downstream-over-limit') ingress.downstreamOverLimit += count;
          else ingress.overflowFull += count;
        }
      } else {
        accept.send(now, high);
        if (low > 0) (lowLane as StageModel).send(now, low);
        ingress.accepted += accountPassed;
      }
    }

    // 3. The overflow drainer: only below the low watermark, never more than the room under it.
    if (ingressConfig.overflow && overflow > 0) {
      const room = ingressConfig.overflow.lowWatermark - accept.queue.depth;
      if (room > 0) {
        const moved = drainCarry.take(ingressConfig.overflow.drainRatePerSecond * dt, Math.min(overflow, room));
        overflow -= moved;
        accept.send(now, moved);
        ingress.drained += moved;
      }
    }

    // 4. The valve (functions/valve/decide.ts), every few seconds: a stage's event source mapping is disabled while
    //    its breaker is open (until openSeconds have passed) or its next stage's depth (waiting, in flight, delayed)
    //    is at its hard limit; a stage paused for its next stage resumes once that is below 90 % of the limit.
    if (scenario.stageBackpressure && now >= valveLookAt) {
      valveLookAt = now + scenario.valveIntervalSeconds;
      for (const stage of stages) {
        const next = stage.config.next === undefined ? undefined : stages[stage.config.next];
        const nextDepth = next?.queue.depth ?? 0;
        const limit = next?.depthLimit ?? Number.POSITIVE_INFINITY;
        const shouldPause =
          stage.breaker?.isOpen(now) === true ||
          nextDepth >= limit ||
          (stage.paused && next !== undefined && nextDepth >= limit * VALVE_RESUME_FRACTION);
        if (stage.paused && !shouldPause) {
          stage.scalingLimit = Math.min(ESM_INITIAL_CONCURRENCY, stage.scalingLimit);
        }
        stage.paused = shouldPause;
      }
    }

    // 5. Event source mappings poll and invoke, downstream first so forwarded work meets a fresh view.
    for (let index = stages.length - 1; index >= 0; index--) {
      (stages[index] as StageModel).dispatch(contexts[index] as StageContext, messageChunks);
    }

    // 6. Measure.
    let empty = overflow === 0;
    stages.forEach((stage, index) => {
      const depth = stage.queue.depth;
      if (depth > 0 || stage.busy > 0) empty = false;
      maxDepth[index] = Math.max(maxDepth[index] ?? 0, depth);
      const oldest = stage.queue.oldestSentAt();
      const age = oldest === undefined ? 0 : now - oldest;
      maxAge[index] = Math.max(maxAge[index] ?? 0, age);
      sampleAge[index] = Math.max(sampleAge[index] ?? 0, age);
      if (age > stage.config.stage.flow.ageSloSeconds) breachSeconds[index] = (breachSeconds[index] ?? 0) + dt;
      if (depth > stage.depthLimit) overLimitSeconds[index] = (overLimitSeconds[index] ?? 0) + dt;
    });
    if ((tick + 1) % sampleTicks === 0) {
      const seconds = sampleTicks * dt;
      t.push(round((tick + 1) * dt));
      const rate = (now: number, before: number) => round((now - before) / seconds);
      ingressSeries.offeredPerSecond.push(rate(ingress.offered, lastIngress.offered));
      ingressSeries.acceptedPerSecond.push(rate(ingress.accepted, lastIngress.accepted));
      ingressSeries.throttledPerSecond.push(
        rate(ingress.throttled + ingress.quotaExceeded, lastIngress.throttled + lastIngress.quotaExceeded),
      );
      ingressSeries.shedPerSecond.push(rate(ingress.shed, lastIngress.shed));
      ingressSeries.rejectedPerSecond.push(
        rate(
          ingress.overHardLimit + ingress.overflowFull + ingress.downstreamOverLimit,
          lastIngress.overHardLimit + lastIngress.overflowFull + lastIngress.downstreamOverLimit,
        ),
      );
      ingressSeries.overflowDepth.push(overflow);
      lastIngress = { ...ingress };
      stages.forEach((stage, index) => {
        const series = stageSeries[index] as StageSeries;
        const before = lastStage[index] as StageCounters;
        const counters = stage.counters;
        series.visible.push(stage.queue.visible);
        series.notVisible.push(stage.queue.notVisible);
        series.delayed.push(stage.queue.delayed);
        series.oldestAgeSeconds.push(round(sampleAge[index] ?? 0));
        series.inPerSecond.push(rate(counters.arrived, before.arrived));
        series.outPerSecond.push(rate(counters.completed, before.completed));
        series.concurrency.push(stage.busy);
        series.deferredPerSecond.push(rate(totalDeferred(counters), totalDeferred(before)));
        series.deadLetteredPerSecond.push(rate(counters.deadLettered, before.deadLettered));
        series.retriedPerSecond.push(rate(counters.retried, before.retried));
      });
      lastStage = stages.map((stage) => snapshot(stage.counters));
      sampleAge = stages.map(() => 0);
    }
    if (tick >= arrivalTicks - 1 && empty) {
      drainSeconds = Math.max(0, round((tick + 1) * dt - scenario.durationSeconds));
      tick++;
      break;
    }
  }

  const outcomes: StageOutcome[] = stages.map((stage, index) => ({
    name: stage.config.name,
    depthLimit: stage.depthLimit,
    ageSloSeconds: stage.config.stage.flow.ageSloSeconds,
    maxDepth: maxDepth[index] ?? 0,
    maxAgeSeconds: round(maxAge[index] ?? 0),
    sloBreachSeconds: round(breachSeconds[index] ?? 0),
    overDepthLimitSeconds: round(overLimitSeconds[index] ?? 0),
    counters: stage.counters,
    queuedAtEnd: stage.queue.depth,
  }));
  const completed = stages
    .filter((stage) => stage.config.next === undefined)
    .reduce((sum, stage) => sum + stage.counters.completed, 0);
  const deadLettered = stages.reduce((sum, stage) => sum + stage.counters.deadLettered, 0);
  const queued = stages.reduce((sum, stage) => sum + stage.queue.depth, 0) + overflow;
  // Messages: what the ingress accepted and the stages forwarded went into a queue or is still on the overflow; what a
  // queue received was completed, dead-lettered, deferred (and so received again) or is still there.
  let lost = ingress.accepted - overflow;
  for (const stage of stages) {
    const counters = stage.counters;
    lost += counters.forwarded - counters.arrived;
    lost +=
      counters.received - counters.completed - counters.deadLettered - totalDeferred(counters) - stage.queue.depth;
  }
  return {
    pipeline: pipeline.name,
    scenario,
    simulatedSeconds: round(tick * dt),
    drainSeconds,
    ingress,
    stages: outcomes,
    ledger: {
      accepted: ingress.accepted,
      completed,
      deadLettered,
      queued,
      lost,
    },
    overflowAtEnd: overflow,
    series: { t, ingress: ingressSeries, stages: stageSeries },
    wallMs: Math.round(performance.now() - started),
  };
}

/** Each client's share of the traffic, normalised; equal shares when none are given. */
function clientShares(names: readonly string[], given: Readonly<Record<string, number>> | undefined): number[] {
  if (names.length === 0) return [];
  const raw = names.map((name) => (given ? (given[name] ?? 0) : 1));
  const total = raw.reduce((sum, value) => sum + value, 0);
  return total > 0 ? raw.map((value) => value / total) : names.map(() => 1 / names.length);
}

function totalDeferred(counters: StageCounters): number {
  const deferred = counters.deferred;
  return deferred['next-stage'] + deferred.breaker + deferred.limiter + deferred.tenant;
}

function snapshot(counters: StageCounters): StageCounters {
  return { ...counters, deferred: { ...counters.deferred } };
}

function round(value: number): number {
  return Math.round(value * 1000) / 1000;
}
