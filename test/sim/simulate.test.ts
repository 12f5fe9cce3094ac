import { describe, expect, it } from 'vitest';
import { definePipeline, type Pipeline, type StageInput } from '../../lib/definition/index.ts';
import { ScenarioError, simulate } from '../../lib/sim/index.ts';

/** One-stage pipelines and scenarios whose outcome can be worked out by hand. */

function onePipeline(consumer: Partial<StageInput['consumer']> = {}, flow: StageInput['flow'] = {}, queue = {}) {
  return definePipeline({
    name: 'unit',
    stages: [
      {
        name: 'work',
        queue: { maxReceiveCount: 3, ...queue },
        consumer: {
          entry: 'functions/demo/simulated-work.ts',
          timeoutSeconds: 10,
          batchSize: 10,
          maxBatchingWindowSeconds: 0,
          maxConcurrency: 100,
          reservedConcurrency: 100,
          ...consumer,
        },
        flow: { recordProcessingMs: 100, depthLimit: 1_000_000, ...flow },
      },
    ],
    ingress: { throttle: { rateLimitPerSecond: 100_000, burstLimit: 50_000 } },
  });
}

/** Adds the pressure contract's stage fields (not in the definition schema yet) to a resolved pipeline. */
function withStageFields(pipeline: Pipeline, fields: Record<string, unknown>): Pipeline {
  return { ...pipeline, stages: pipeline.stages.map((stage) => ({ ...stage, ...fields })) } as Pipeline;
}

const noAccountLimit = { accountThrottle: { rateLimitPerSecond: 1e9, burstLimit: 1e9 } };

describe('simulate', () => {
  it("scales an SQS event source mapping from 5 batches by 300 a minute (Lambda's documented rule)", () => {
    // GIVEN far more work than the mapping can take (https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-scaling.html)
    const pipeline = onePipeline({ maxConcurrency: 1000, reservedConcurrency: 1000 });
    // WHEN 10,000 jobs a second arrive for 30 s
    const result = simulate(pipeline, {
      profile: { kind: 'constant', ratePerSecond: 10_000 },
      durationSeconds: 30,
      maxDrainSeconds: 0,
      ...noAccountLimit,
    });
    // THEN concurrency starts at 5 and grows by 5 a second
    const concurrency = result.series.stages[0]?.concurrency ?? [];
    expect(concurrency[0]).toBeGreaterThanOrEqual(5);
    expect(concurrency[0]).toBeLessThanOrEqual(10);
    expect(concurrency[19]).toBeGreaterThanOrEqual(100);
    expect(concurrency[19]).toBeLessThanOrEqual(106);
  });

  it('never runs more batches than the reserved concurrency', () => {
    // GIVEN reserved concurrency 20 with maximum concurrency 20
    const pipeline = onePipeline({ maxConcurrency: 20, reservedConcurrency: 20 });
    const result = simulate(pipeline, { profile: { kind: 'constant', ratePerSecond: 5_000 }, durationSeconds: 20 });
    // THEN the peak is 20
    expect(result.stages[0]?.counters.peakConcurrency).toBe(20);
  });

  it('throttles with the stage token bucket: burst plus rate × time', () => {
    // GIVEN a 100/s throttle with a burst of 50, and no depth check
    const pipeline = definePipeline({
      ...onePipelineInput(),
      ingress: { throttle: { rateLimitPerSecond: 100, burstLimit: 50 } },
    });
    // WHEN 1,000 requests a second are offered for 10 s
    const result = simulate(pipeline, {
      profile: { kind: 'constant', ratePerSecond: 1_000 },
      durationSeconds: 10,
      backpressure: false,
    });
    // THEN 50 + 100 × 10 pass (within a token of rounding), the rest are 429s
    expect(Math.abs(result.ingress.accepted - 1_050)).toBeLessThanOrEqual(1);
    expect(result.ingress.throttled).toBe(10_000 - result.ingress.accepted);
  });

  it('holds the depth at the hard limit plus what arrives during one depth-cache TTL', () => {
    // GIVEN a stage draining 100/s (1 batch of 10 × 100 ms … 10 batches), a hard limit of 500 and a 1 s depth cache
    const pipeline = onePipeline({ maxConcurrency: 10, reservedConcurrency: 10 }, { depthLimit: 500 });
    // WHEN 400 requests a second arrive for 60 s
    const result = simulate(pipeline, { profile: { kind: 'constant', ratePerSecond: 400 }, durationSeconds: 60 });
    // THEN the depth passes the limit by at most 400 × 1 s, and about (400 − 100) / 400 of the requests are rejected
    const stage = result.stages[0];
    expect(stage?.maxDepth).toBeGreaterThanOrEqual(500);
    expect(stage?.maxDepth).toBeLessThanOrEqual(500 + 400);
    expect(result.ingress.overHardLimit / result.ingress.offered).toBeGreaterThan(0.6);
    expect(result.ledger.lost).toBe(0);
  });

  it("grows the backlog at arrivals minus drain without backpressure, and its oldest age by Little's law", () => {
    // GIVEN a stage draining 100/s and 150/s offered for 100 s, no depth check
    const pipeline = onePipeline({ maxConcurrency: 10, reservedConcurrency: 10 });
    const result = simulate(pipeline, {
      profile: { kind: 'constant', ratePerSecond: 150 },
      durationSeconds: 100,
      backpressure: false,
    });
    // THEN the backlog peaks near 50 × 100 = 5,000 and the last arrivals wait about 5,000 / 100 = 50 s
    const stage = result.stages[0];
    expect(stage?.maxDepth).toBeGreaterThan(4_800);
    expect(stage?.maxDepth).toBeLessThan(5_300);
    expect(stage?.maxAgeSeconds).toBeGreaterThan(45);
    expect(stage?.maxAgeSeconds).toBeLessThan(55);
    expect(result.drainSeconds).toBeGreaterThan(45);
    expect(result.drainSeconds).toBeLessThan(55);
  });

  it('retries transient failures and dead-letters them on the last allowed receive', () => {
    // GIVEN every call failing and maxReceiveCount 3
    const pipeline = onePipeline();
    const result = simulate(pipeline, {
      profile: { kind: 'constant', ratePerSecond: 10 },
      durationSeconds: 10,
      defaultStage: { transientFailureRate: 1 },
    });
    // THEN each job is tried three times, then dead-lettered; none completes or is lost
    const counters = result.stages[0]?.counters;
    expect(counters?.attempts).toBe(result.ingress.accepted * 3);
    expect(counters?.deadLettered).toBe(result.ingress.accepted);
    expect(counters?.completed).toBe(0);
    expect(result.ledger.lost).toBe(0);
  });

  it('returns the records of a timed-out invocation after the visibility timeout, and SQS redrives them', () => {
    // GIVEN records that take 2 s each in a 1-second function: every invocation times out
    const pipeline = onePipeline({ timeoutSeconds: 1, batchSize: 1 });
    const result = simulate(pipeline, {
      profile: { kind: 'constant', ratePerSecond: 1 },
      durationSeconds: 5,
      defaultStage: { recordMs: 2_000 },
    });
    // THEN each record is received maxReceiveCount times and then moved to the DLQ by the redrive policy
    const counters = result.stages[0]?.counters;
    expect(counters?.timedOut).toBe(result.ingress.accepted * 3);
    expect(counters?.deadLettered).toBe(result.ingress.accepted);
    // AND it takes three visibility timeouts (6 × 1 s + 0 s window each) to get there
    expect(result.drainSeconds).toBeGreaterThanOrEqual(18 - 5);
  });

  it('defers work over a shared downstream rate limit instead of spending receives', () => {
    // GIVEN a downstream allowing 600 calls a minute (10/s, burst 5) and 100 jobs a second for 20 s
    const pipeline = withStageFields(onePipeline(), { downstream: { embeddings: { ratePerMinute: 600, burst: 5 } } });
    const result = simulate(pipeline, { profile: { kind: 'constant', ratePerSecond: 100 }, durationSeconds: 20 });
    // THEN no more than 5 + 10 × t records run by time t, the rest is deferred, and nothing is dead-lettered
    const counters = result.stages[0]?.counters;
    const simulated = result.simulatedSeconds;
    expect(counters?.attempts).toBeLessThanOrEqual(5 + 10 * simulated + 1);
    expect(counters?.deferred.limiter).toBeGreaterThan(0);
    expect(counters?.deadLettered).toBe(0);
    expect(result.ledger.lost).toBe(0);
  });

  it('opens the breaker during a downstream outage and the valve pauses the mapping', () => {
    // GIVEN a breaker with the contract's defaults and a 60 s outage from t = 10 s
    const pipeline = withStageFields(onePipeline({ maxConcurrency: 10, reservedConcurrency: 10 }), { breaker: {} });
    const result = simulate(pipeline, {
      profile: { kind: 'constant', ratePerSecond: 50 },
      durationSeconds: 120,
      defaultStage: { outages: [{ startSeconds: 10, lengthSeconds: 60 }] },
    });
    // THEN the breaker opened, records were deferred or paused rather than dead-lettered en masse, none lost
    const counters = result.stages[0]?.counters;
    expect(counters?.breakerOpened).toBeGreaterThan(0);
    expect(counters?.valvePausedSeconds).toBeGreaterThan(0);
    expect(counters?.deadLettered ?? 0).toBeLessThan(result.ingress.accepted * 0.1);
    expect(result.ledger.lost).toBe(0);
  });

  it('defers instead of forwarding while the next stage is over its depth limit', () => {
    // GIVEN a fast stage feeding a slow one with a depth limit of 200
    const pipeline = definePipeline({
      name: 'two',
      stages: [
        {
          name: 'fast',
          next: 'slow',
          consumer: { entry: 'x.ts', batchSize: 10, maxConcurrency: 10, reservedConcurrency: 10 },
          flow: { recordProcessingMs: 10, depthLimit: 1_000_000 },
        },
        {
          name: 'slow',
          consumer: { entry: 'y.ts', batchSize: 10, maxConcurrency: 2, reservedConcurrency: 2 },
          flow: { recordProcessingMs: 100, depthLimit: 200 },
        },
      ],
    });
    const result = simulate(pipeline, {
      profile: { kind: 'constant', ratePerSecond: 200 },
      durationSeconds: 30,
      backpressure: false,
    });
    const unchecked = simulate(pipeline, {
      profile: { kind: 'constant', ratePerSecond: 200 },
      durationSeconds: 30,
      backpressure: false,
      stageBackpressure: false,
    });
    // THEN the slow stage passes its limit by at most what the fast stage drains in one cached depth reading (1 s,
    // 1,000/s), where without the check its backlog grows by 200 − 20 a second
    const [fast, slow] = result.stages;
    expect(slow?.maxDepth).toBeLessThan(200 + 1_000 + 100);
    expect(unchecked.stages[1]?.maxDepth).toBeGreaterThan(5_000);
    expect((fast?.counters.deferred['next-stage'] ?? 0) + (fast?.counters.valvePausedSeconds ?? 0)).toBeGreaterThan(0);
    expect(result.ledger.lost).toBe(0);
  });

  it('costs the same wall time at 100,000 requests/s as at 10: jobs are counted, not objects', () => {
    const pipeline = onePipeline();
    const cheap = simulate(pipeline, { profile: { kind: 'constant', ratePerSecond: 10 }, durationSeconds: 60 });
    const heavy = simulate(pipeline, { profile: { kind: 'constant', ratePerSecond: 100_000 }, durationSeconds: 60 });
    // Not a timing assertion: the number of cohorts a queue holds is bounded by ticks, not by jobs.
    expect(heavy.ingress.offered).toBe(6_000_000);
    expect(cheap.series.t.length).toBeGreaterThan(0);
    expect(heavy.ledger.lost).toBe(0);
  });

  it('fails with every out-of-range scenario field named', () => {
    expect(() =>
      simulate(onePipeline(), {
        profile: { kind: 'constant', ratePerSecond: 1 },
        durationSeconds: -1,
        tickSeconds: 20,
        defaultStage: { transientFailureRate: 2 },
      }),
    ).toThrow(ScenarioError);
    expect(() =>
      simulate(onePipeline(), {
        profile: { kind: 'constant', ratePerSecond: 1 },
        durationSeconds: -1,
        tickSeconds: 20,
        defaultStage: { transientFailureRate: 2 },
      }),
    ).toThrow(
      /durationSeconds must be between 0\.01 and 2592000, but -1 was provided[\s\S]*tickSeconds must be between 0\.001 and 10, but 20[\s\S]*defaultStage\.transientFailureRate must be between 0 and 1, but 2/,
    );
  });
});

function onePipelineInput() {
  return {
    name: 'unit',
    stages: [
      {
        name: 'work',
        consumer: { entry: 'x.ts', batchSize: 10, maxConcurrency: 10, reservedConcurrency: 10 },
        flow: { depthLimit: 1_000_000 },
      },
    ],
  };
}
