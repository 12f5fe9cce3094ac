import { describe, expect, it } from 'vitest';
import {
  type AdmissionSettings,
  admissionSettingsOf,
  decideAdmission,
  laneOf,
  retryAfterSecondsFor,
} from '../../functions/authorizer/decide.ts';
import { definePipeline } from '../../lib/definition/index.ts';

const settings: AdmissionSettings = {
  softLimit: 800,
  hardLimit: 1000,
  overload: 'reject',
  drainRatePerSecond: 100,
  maxRetryAfterSeconds: 60,
  overflowMaxDepth: 5000,
  overflowDrainRatePerSecond: 20,
  priorityEnabled: true,
};

describe('decideAdmission', () => {
  it('admits both lanes below the soft limit', () => {
    expect(decideAdmission({ depth: 799, lane: 'low', settings })).toEqual({
      admit: true,
      lane: 'low',
      target: 'queue',
    });
    expect(decideAdmission({ depth: 799, lane: 'high', settings })).toEqual({
      admit: true,
      lane: 'high',
      target: 'queue',
    });
  });

  it('sheds low priority from the soft limit, with Retry-After from the excess and drain rate', () => {
    // GIVEN 200 messages at or above the soft limit (800..999), drained at 100/s → 2 s
    expect(decideAdmission({ depth: 999, lane: 'low', settings })).toEqual({
      admit: false,
      status: 503,
      retryAfterSeconds: 2,
      reason: 'shed-low-priority',
      stage: 'ingress',
    });
  });

  it('admits high priority between the soft and the hard limit', () => {
    expect(decideAdmission({ depth: 999, lane: 'high', settings })).toMatchObject({ admit: true, target: 'queue' });
  });

  it('rejects every lane from the hard limit with the reject policy', () => {
    expect(decideAdmission({ depth: 1000, lane: 'high', settings })).toEqual({
      admit: false,
      status: 503,
      retryAfterSeconds: 1,
      reason: 'over-hard-limit',
      stage: 'ingress',
    });
  });

  it('caps Retry-After at maxRetryAfterSeconds', () => {
    const decision = decideAdmission({ depth: 1_000_000, lane: 'high', settings });

    expect(decision).toMatchObject({ admit: false, retryAfterSeconds: 60 });
  });

  it('routes to the overflow queue from the hard limit with the buffer policy', () => {
    const buffer = { ...settings, overload: 'buffer' as const };

    expect(decideAdmission({ depth: 1500, overflowDepth: 10, lane: 'high', settings: buffer })).toEqual({
      admit: true,
      lane: 'high',
      target: 'overflow',
    });
  });

  it('rejects with the buffer policy once the overflow queue is full', () => {
    // GIVEN 100 messages over the overflow bound, drained back at 20/s → 5 s (+1 for the inclusive bound → 6)
    const buffer = { ...settings, overload: 'buffer' as const };

    expect(decideAdmission({ depth: 1500, overflowDepth: 5100, lane: 'high', settings: buffer })).toEqual({
      admit: false,
      status: 503,
      retryAfterSeconds: 6,
      reason: 'overflow-full',
      stage: 'ingress',
    });
  });

  it("applies the hard limit to the request's own lane: a full low lane does not reject high priority", () => {
    // GIVEN 1,200 messages in all, 1,000 of them on the low lane and 200 on the high lane
    expect(decideAdmission({ depth: 1200, laneDepth: 200, lane: 'high', settings })).toMatchObject({
      admit: true,
      target: 'queue',
    });
    expect(decideAdmission({ depth: 1200, laneDepth: 1000, lane: 'low', settings })).toMatchObject({
      admit: false,
      reason: 'over-hard-limit',
      stage: 'ingress',
    });
  });

  it('rejects high priority once its own lane reaches the hard limit', () => {
    expect(decideAdmission({ depth: 1000, laneDepth: 1000, lane: 'high', settings })).toMatchObject({
      admit: false,
      reason: 'over-hard-limit',
      stage: 'ingress',
    });
  });

  it('treats every request as high priority when lanes are off', () => {
    const noLanes = { ...settings, priorityEnabled: false };

    expect(decideAdmission({ depth: 900, lane: 'low', settings: noLanes })).toEqual({
      admit: true,
      lane: 'high',
      target: 'queue',
    });
  });
});

describe('retryAfterSecondsFor', () => {
  it('rounds up and is at least 1 second', () => {
    expect(retryAfterSecondsFor(1, 100, 60)).toBe(1);
    expect(retryAfterSecondsFor(101, 100, 60)).toBe(2);
  });

  it('gives the maximum when nothing drains', () => {
    expect(retryAfterSecondsFor(10, 0, 45)).toBe(45);
  });
});

describe('laneOf', () => {
  it('reads high and low in any case', () => {
    expect(laneOf(' LOW ', 'high')).toBe('low');
    expect(laneOf('High', 'low')).toBe('high');
  });

  it('falls back to the default lane for a missing or unknown value', () => {
    expect(laneOf(undefined, 'low')).toBe('low');
    expect(laneOf('urgent', 'high')).toBe('high');
  });
});

describe('admissionSettingsOf', () => {
  it('takes the thresholds of a resolved ingress', () => {
    // GIVEN
    const pipeline = definePipeline({
      name: 'docs',
      stages: [{ name: 'ingest', consumer: { entry: 'x.ts' }, flow: { depthLimit: 1000 } }],
      ingress: { backpressure: { overload: 'buffer' }, priority: { enabled: true } },
    });

    // THEN
    expect(admissionSettingsOf(pipeline.ingress ?? expect.fail('no ingress'))).toEqual({
      stage: 'ingest',
      downstream: [],
      softLimit: 800,
      hardLimit: 1000,
      overload: 'buffer',
      drainRatePerSecond: 50 + 20,
      maxRetryAfterSeconds: 120,
      overflowMaxDepth: 10_000,
      overflowDrainRatePerSecond: 35,
      priorityEnabled: true,
    });
  });
});

describe('whole-pipeline admission', () => {
  // GIVEN an ingress stage and three stages after it, the last drained at 10/s with a limit of 100
  const pipelineSettings: AdmissionSettings = {
    ...settings,
    stage: 'scan',
    downstream: [
      { stage: 'extract', depthLimit: 1000, ageSloSeconds: 10, drainRatePerSecond: 100 },
      { stage: 'chunk', depthLimit: 1000, ageSloSeconds: 10, drainRatePerSecond: 100 },
      { stage: 'embed', depthLimit: 100, ageSloSeconds: 10, drainRatePerSecond: 10 },
    ],
  };

  it('rejects when only the last stage is over its limit, naming it, with Retry-After from its drain', () => {
    // WHEN the ingress stage and the middle stages are empty and embed holds 120 (21 over, at 10/s → 3 s)
    const decision = decideAdmission({
      depth: 0,
      lane: 'high',
      settings: pipelineSettings,
      downstreamDepths: [0, 0, 120],
    });

    // THEN
    expect(decision).toEqual({
      admit: false,
      status: 503,
      retryAfterSeconds: 3,
      reason: 'downstream-over-limit',
      stage: 'embed',
    });
  });

  it('admits while every stage is under its limit', () => {
    const decision = decideAdmission({
      depth: 0,
      lane: 'high',
      settings: pipelineSettings,
      downstreamDepths: [999, 999, 99],
    });
    expect(decision).toEqual({ admit: true, lane: 'high', target: 'queue' });
  });

  it('names the most pressured stage when several are over', () => {
    // extract at 1.5 × its limit, embed at 1.2 ×
    const decision = decideAdmission({
      depth: 0,
      lane: 'high',
      settings: pipelineSettings,
      downstreamDepths: [1500, 0, 120],
    });
    expect(decision).toMatchObject({ admit: false, stage: 'extract', reason: 'downstream-over-limit' });
  });

  it('rejects on the expected wait when a stage drains slower than its depth limit implies', () => {
    // GIVEN a limit of 1000 but only 10/s for a 10 s SLO: 100 queued already wait the whole SLO
    const slow: AdmissionSettings = {
      ...settings,
      downstream: [{ stage: 'index', depthLimit: 1000, ageSloSeconds: 10, drainRatePerSecond: 10 }],
    };

    // WHEN / THEN
    expect(decideAdmission({ depth: 0, lane: 'high', settings: slow, downstreamDepths: [100] })).toMatchObject({
      admit: false,
      stage: 'index',
    });
    expect(decideAdmission({ depth: 0, lane: 'high', settings: slow, downstreamDepths: [99] })).toMatchObject({
      admit: true,
    });
  });

  it('does not buffer a request refused for a downstream stage', () => {
    const buffering: AdmissionSettings = { ...pipelineSettings, overload: 'buffer' };
    const decision = decideAdmission({
      depth: 2000,
      lane: 'high',
      settings: buffering,
      overflowDepth: 0,
      downstreamDepths: [0, 0, 100],
    });
    expect(decision).toMatchObject({ admit: false, reason: 'downstream-over-limit', stage: 'embed' });
  });

  it('takes the downstream stages from the definition, following next', () => {
    // GIVEN
    const pipeline = definePipeline({
      name: 'chain',
      stages: [
        { name: 'a', next: 'b', consumer: { entry: 'functions/a.ts' } },
        { name: 'c', consumer: { entry: 'functions/c.ts' }, flow: { depthLimit: 7 } },
        { name: 'b', next: 'c', consumer: { entry: 'functions/b.ts' } },
      ],
      ingress: { stage: 'a' },
    });

    // WHEN
    const admission = admissionSettingsOf(pipeline.ingress as NonNullable<typeof pipeline.ingress>);

    // THEN
    expect(admission.stage).toBe('a');
    expect(admission.downstream?.map((stage) => [stage.stage, stage.depthLimit])).toEqual([
      ['b', pipeline.stages[2]?.flow.depthLimit],
      ['c', 7],
    ]);
  });
});
