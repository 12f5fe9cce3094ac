import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { definePipeline, type Pipeline } from '../../lib/definition/index.ts';
import { type ArrivalProfile, type Scenario, simulate } from '../../lib/sim/index.ts';

/**
 * Invariants of the model on generated pipelines and scenarios: no job is created or lost, no queue goes negative,
 * the throttles and concurrency caps hold, and the same inputs give the same run.
 */

const stageArbitrary = fc.record({
  batchSize: fc.integer({ min: 1, max: 40 }),
  window: fc.integer({ min: 0, max: 3 }),
  maxConcurrency: fc.integer({ min: 2, max: 30 }),
  extraReserved: fc.integer({ min: 0, max: 5 }),
  recordConcurrency: fc.integer({ min: 1, max: 4 }),
  recordProcessingMs: fc.integer({ min: 5, max: 400 }),
  timeoutSeconds: fc.integer({ min: 1, max: 10 }),
  maxReceiveCount: fc.integer({ min: 1, max: 5 }),
  depthLimit: fc.integer({ min: 5, max: 2_000 }),
  ageSloSeconds: fc.integer({ min: 1, max: 60 }),
});

const pipelineArbitrary = fc
  .record({
    stages: fc.array(stageArbitrary, { minLength: 1, maxLength: 3 }),
    throttle: fc.record({ rate: fc.integer({ min: 1, max: 2_000 }), burst: fc.integer({ min: 1, max: 1_000 }) }),
    clients: fc.array(
      fc.record({
        rate: fc.integer({ min: 1, max: 1_000 }),
        burst: fc.integer({ min: 1, max: 500 }),
        quota: fc.option(fc.integer({ min: 1, max: 5_000 }), { nil: undefined }),
      }),
      { maxLength: 2 },
    ),
    overload: fc.constantFrom('reject' as const, 'buffer' as const),
    priority: fc.boolean(),
  })
  .map(({ stages, throttle, clients, overload, priority }): Pipeline => {
    const names = stages.map((_, index) => `s${index}`);
    return definePipeline({
      name: 'generated',
      stages: stages.map((stage, index) => ({
        name: names[index] as string,
        ...(index < stages.length - 1 ? { next: names[index + 1] as string } : {}),
        queue: { maxReceiveCount: stage.maxReceiveCount },
        consumer: {
          entry: 'functions/demo/simulated-work.ts',
          timeoutSeconds: stage.timeoutSeconds,
          batchSize: stage.batchSize,
          maxBatchingWindowSeconds: stage.batchSize > 10 ? Math.max(1, stage.window) : stage.window,
          maxConcurrency: stage.maxConcurrency,
          reservedConcurrency: stage.maxConcurrency + stage.extraReserved,
          recordConcurrency: stage.recordConcurrency,
        },
        flow: {
          ageSloSeconds: stage.ageSloSeconds,
          depthLimit: stage.depthLimit,
          recordProcessingMs: stage.recordProcessingMs,
        },
      })),
      ingress: {
        throttle: { rateLimitPerSecond: throttle.rate, burstLimit: throttle.burst },
        clients: clients.map((client, index) => ({
          name: `c${index}`,
          rateLimitPerSecond: client.rate,
          burstLimit: client.burst,
          ...(client.quota === undefined ? {} : { quota: { limit: client.quota, period: 'DAY' as const } }),
        })),
        backpressure: { overload },
        priority: { enabled: priority },
      },
    });
  });

const profileArbitrary: fc.Arbitrary<ArrivalProfile> = fc.oneof(
  fc.record({ kind: fc.constant('constant' as const), ratePerSecond: fc.integer({ min: 0, max: 3_000 }) }),
  fc.record({
    kind: fc.constant('ramp' as const),
    fromPerSecond: fc.integer({ min: 0, max: 500 }),
    toPerSecond: fc.integer({ min: 0, max: 3_000 }),
  }),
  fc.record({
    kind: fc.constant('burst' as const),
    basePerSecond: fc.integer({ min: 0, max: 200 }),
    burstPerSecond: fc.integer({ min: 0, max: 5_000 }),
    startSeconds: fc.integer({ min: 0, max: 10 }),
    lengthSeconds: fc.integer({ min: 1, max: 10 }),
  }),
);

const behaviourArbitrary = fc.record({
  transientFailureRate: fc.double({ min: 0, max: 1, noNaN: true }),
  permanentFailureRate: fc.double({ min: 0, max: 0.3, noNaN: true }),
  distribution: fc.constantFrom('fixed' as const, 'exponential' as const, 'lognormal' as const),
  outages: fc.array(
    fc.record({ startSeconds: fc.integer({ min: 0, max: 15 }), lengthSeconds: fc.integer({ min: 1, max: 10 }) }),
    { maxLength: 1 },
  ),
});

const scenarioArbitrary = fc.record({
  profile: profileArbitrary,
  durationSeconds: fc.integer({ min: 1, max: 20 }),
  maxDrainSeconds: fc.integer({ min: 0, max: 60 }),
  tickSeconds: fc.constantFrom(0.01, 0.05, 0.1),
  backpressure: fc.boolean(),
  lowPriorityShare: fc.double({ min: 0, max: 1, noNaN: true }),
  defaultStage: behaviourArbitrary,
});

function run(pipeline: Pipeline, generated: Omit<Scenario, 'sampleSeconds'>) {
  // One sample per tick, so every tick's state is checked.
  return simulate(pipeline, { ...generated, sampleSeconds: generated.tickSeconds ?? 0.01 });
}

describe('simulator invariants', () => {
  it('creates and loses no job: accepted = completed + dead-lettered + still queued, and per stage in = out', () => {
    fc.assert(
      fc.property(pipelineArbitrary, scenarioArbitrary, (pipeline, scenario) => {
        // GIVEN any pipeline and scenario, WHEN simulated
        const result = run(pipeline, scenario);
        // THEN the job ledger balances exactly
        const { ledger, ingress } = result;
        expect(ledger.lost).toBe(0);
        expect(ledger.accepted).toBe(ledger.completed + ledger.deadLettered + ledger.queued);
        expect(result.stages.every((stage) => stage.counters.forwarded <= stage.counters.completed)).toBe(true);
        // AND every offered request was accepted or rejected for a reason
        expect(ingress.offered).toBe(
          ingress.accepted +
            ingress.throttled +
            ingress.quotaExceeded +
            ingress.shed +
            ingress.overHardLimit +
            ingress.overflowFull +
            ingress.downstreamOverLimit,
        );
        // AND each queue's messages went somewhere: received = completed + dead-lettered + deferred + still there
        for (const stage of result.stages) {
          const deferred = Object.values(stage.counters.deferred).reduce((sum, value) => sum + value, 0);
          expect(stage.counters.received).toBe(
            stage.counters.completed + stage.counters.deadLettered + deferred + stage.queuedAtEnd,
          );
        }
      }),
      { numRuns: 60 },
    );
  });

  it('loses no message when stages fan out (or filter) their work', () => {
    fc.assert(
      fc.property(
        pipelineArbitrary,
        scenarioArbitrary,
        fc.integer({ min: 0, max: 4 }),
        (pipeline, scenario, fanOut) => {
          const result = run(pipeline, { ...scenario, defaultStage: { ...scenario.defaultStage, fanOut } });
          expect(result.ledger.lost).toBe(0);
        },
      ),
      { numRuns: 40 },
    );
  });

  it('never lets a queue go negative and never runs more batches than the mapping and the function allow', () => {
    fc.assert(
      fc.property(pipelineArbitrary, scenarioArbitrary, (pipeline, scenario) => {
        const result = run(pipeline, scenario);
        result.series.stages.forEach((series, index) => {
          const config = pipeline.stages.find((stage) => stage.name === series.name.split(':')[0]);
          const lowLane = series.name.endsWith(':low');
          const cap = Math.min(
            lowLane ? (pipeline.ingress?.priority.lowLaneMaxConcurrency ?? 0) : (config?.consumer.maxConcurrency ?? 0),
            config?.consumer.reservedConcurrency ?? 0,
          );
          // Plain minimum/maximum first (one expect per series keeps a 10,000-tick run fast).
          const lowest = Math.min(0, ...series.visible, ...series.notVisible, ...series.delayed, ...series.concurrency);
          expect(lowest).toBe(0);
          expect(Math.max(0, ...series.concurrency)).toBeLessThanOrEqual(cap);
          expect(result.stages[index]?.counters.peakConcurrency).toBeLessThanOrEqual(cap);
        });
        expect(Math.min(...result.series.ingress.overflowDepth, 0)).toBe(0);
      }),
      { numRuns: 60 },
    );
  });

  it('holds the token buckets: what passes the throttles by time t is at most burst + rate × t', () => {
    fc.assert(
      fc.property(pipelineArbitrary, scenarioArbitrary, (pipeline, scenario) => {
        const result = run(pipeline, scenario);
        const ingress = pipeline.ingress;
        if (!ingress) return;
        // Requests past the throttles are accepted or rejected by the depth check; their running sum is bounded.
        let passed = 0;
        const clients = ingress.clients;
        const dt = result.scenario.sampleSeconds;
        result.series.t.forEach((t, index) => {
          const series = result.series.ingress;
          passed +=
            ((series.acceptedPerSecond[index] ?? 0) +
              (series.shedPerSecond[index] ?? 0) +
              (series.rejectedPerSecond[index] ?? 0)) *
            dt;
          const stageBound = ingress.throttle.burstLimit + ingress.throttle.rateLimitPerSecond * t;
          const clientBound =
            clients.length > 0
              ? clients.reduce((sum, client) => sum + client.burstLimit + client.rateLimitPerSecond * t, 0)
              : Number.POSITIVE_INFINITY;
          // Rates are rounded to 1/1000 per sample, hence the small tolerance.
          expect(passed).toBeLessThanOrEqual(Math.min(stageBound, clientBound) + 0.01);
        });
        // Overflow drains move messages, they do not pass the throttles again.
        expect(result.ingress.apiRequests).toBe(
          result.ingress.accepted +
            result.ingress.shed +
            result.ingress.overHardLimit +
            result.ingress.overflowFull +
            result.ingress.downstreamOverLimit,
        );
      }),
      { numRuns: 60 },
    );
  });

  it('is deterministic: the same inputs give the same run', () => {
    fc.assert(
      fc.property(pipelineArbitrary, scenarioArbitrary, (pipeline, scenario) => {
        const first = run(pipeline, scenario);
        const second = run(pipeline, scenario);
        expect(second.ledger).toEqual(first.ledger);
        expect(second.series.stages).toEqual(first.series.stages);
      }),
      { numRuns: 15 },
    );
  });
});
