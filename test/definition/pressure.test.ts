import { describe, expect, it } from 'vitest';
import {
  BREAKER_DEFAULTS,
  definePipeline,
  type PipelineInput,
  PRESSURE_ENV,
  pressureEnvironmentOf,
  validatePipeline,
} from '../../lib/definition/index.ts';
import { examplePipeline } from '../../lib/example/pipeline.ts';

function twoStages(extra: Record<string, unknown> = {}, pipelineExtra: Record<string, unknown> = {}): PipelineInput {
  return {
    name: 'docs',
    ...pipelineExtra,
    stages: [
      { name: 'chunk', next: 'embed', consumer: { entry: 'functions/x.ts' } },
      { name: 'embed', consumer: { entry: 'functions/y.ts' }, ...extra },
    ],
  } as PipelineInput;
}

function problemsOf(input: unknown): readonly string[] {
  const result = validatePipeline(input);
  if (result.success) throw new Error('expected the definition to be rejected');
  return result.problems;
}

describe('pressure settings in the definition', () => {
  it('resolves a downstream burst to ten seconds of its rate', () => {
    // WHEN
    const pipeline = definePipeline(twoStages({ downstream: { embeddings: { ratePerMinute: 3_000 } } }));

    // THEN
    expect(pipeline.stages[1]?.downstream).toEqual({ embeddings: { ratePerMinute: 3_000, burst: 500 } });
  });

  it('keeps a burst of at least 1 for a slow downstream', () => {
    const pipeline = definePipeline(twoStages({ downstream: { slow: { ratePerMinute: 1 } } }));
    expect(pipeline.stages[1]?.downstream.slow?.burst).toBe(1);
  });

  it('caps the drain rate (and so the derived depth limit) at the slowest downstream', () => {
    // GIVEN 5 × 1 × 1000 / 100 = 50 records a second from concurrency, 10 a second from the downstream
    const pipeline = definePipeline(
      twoStages({ downstream: { embeddings: { ratePerMinute: 600 } }, flow: { ageSloSeconds: 30 } }),
    );

    // THEN
    expect(pipeline.stages[1]?.flow.drainRatePerSecond).toBe(10);
    expect(pipeline.stages[1]?.flow.depthLimit).toBe(300);
  });

  it('applies the breaker defaults', () => {
    const pipeline = definePipeline(twoStages({ breaker: {} }));
    expect(pipeline.stages[1]?.breaker).toEqual(BREAKER_DEFAULTS);
    expect(BREAKER_DEFAULTS).toEqual({
      failureRatio: 0.5,
      windowSeconds: 30,
      minimumCalls: 20,
      openSeconds: 30,
      halfOpenProbes: 3,
    });
  });

  it('resolves a tenant bulkhead with the pipeline tenant key', () => {
    const pipeline = definePipeline(twoStages({ tenants: { maxInFlight: 4 } }, { tenantKey: 'tenantId' }));
    expect(pipeline.tenantKey).toBe('tenantId');
    expect(pipeline.stages[1]?.tenants).toEqual({ key: 'tenantId', maxInFlight: 4 });
  });

  it('has a control table when a stage has a next stage', () => {
    expect(definePipeline(twoStages()).controlTable).toBe(true);
  });

  it('has no control table for a single stage without limiter, breaker or bulkhead', () => {
    const pipeline = definePipeline({ name: 'one', stages: [{ name: 'only', consumer: { entry: 'functions/x.ts' } }] });
    expect(pipeline.controlTable).toBe(false);
  });

  it('fails if tenants is set without the pipeline tenantKey', () => {
    expect(problemsOf(twoStages({ tenants: { maxInFlight: 4 } }))).toContainEqual(
      expect.stringMatching(/^stages\[1\]\.tenants needs the pipeline's tenantKey/),
    );
  });

  it('fails if a breaker failure ratio is out of range, naming field, range and value', () => {
    expect(problemsOf(twoStages({ breaker: { failureRatio: 1.5 } }))).toContainEqual(
      'stages[1].breaker.failureRatio must be a number above 0 and at most 1, but 1.5 was provided',
    );
  });

  it('fails if a breaker window is not a whole number of seconds in range', () => {
    expect(problemsOf(twoStages({ breaker: { windowSeconds: 0 } }))).toContainEqual(
      'stages[1].breaker.windowSeconds must be an integer between 1 and 3600 seconds, but 0 was provided',
    );
  });

  it('fails if a downstream rate is not a positive integer', () => {
    expect(problemsOf(twoStages({ downstream: { embeddings: { ratePerMinute: 0 } } }))).toContainEqual(
      'stages[1].downstream.embeddings.ratePerMinute must be an integer between 1 and 100000000 tokens a minute, but 0 was provided',
    );
  });

  it('fails if a downstream name is not lower-case kebab', () => {
    expect(problemsOf(twoStages({ downstream: { Embeddings: { ratePerMinute: 60 } } })).join('\n')).toMatch(
      /stages\[1\]\.downstream.*Embeddings.*lower-case letters/,
    );
  });

  it('fails if a burst cannot hold one second of the rate', () => {
    expect(problemsOf(twoStages({ downstream: { embeddings: { ratePerMinute: 6_000, burst: 50 } } }))).toContainEqual(
      'stages[1].downstream.embeddings.burst must be at least one second of the rate (100 tokens at 6000 a minute), but 50 was provided',
    );
  });

  it('fails if the tenant key is not a field name', () => {
    expect(problemsOf(twoStages({}, { tenantKey: 'tenant id' }))).toContainEqual(
      'tenantKey must be a top-level field name of the job data (a JavaScript identifier), but "tenant id" was provided',
    );
  });
});

describe('pressureEnvironmentOf', () => {
  it('sets the control table, downstreams, breaker, tenant and next depth limit', () => {
    // GIVEN
    const pipeline = definePipeline(
      twoStages(
        {
          downstream: { embeddings: { ratePerMinute: 120 } },
          breaker: { openSeconds: 5 },
          tenants: { maxInFlight: 2 },
        },
        { tenantKey: 'tenantId' },
      ),
    );
    const stage = pipeline.stages[1];
    if (!stage) throw new Error('no stage');

    // WHEN
    const environment = pressureEnvironmentOf(stage, { controlTableName: 'docs-control', nextDepthLimit: 700 });

    // THEN
    expect(environment).toEqual({
      [PRESSURE_ENV.controlTable]: 'docs-control',
      [PRESSURE_ENV.downstreams]: JSON.stringify({ embeddings: { ratePerMinute: 120, burst: 20 } }),
      [PRESSURE_ENV.breaker]: JSON.stringify({ ...BREAKER_DEFAULTS, openSeconds: 5 }),
      [PRESSURE_ENV.tenant]: JSON.stringify({ key: 'tenantId', maxInFlight: 2 }),
      [PRESSURE_ENV.nextDepthLimit]: '700',
    });
  });

  it('sets nothing for a stage without pressure settings or wiring', () => {
    const stage = definePipeline(twoStages()).stages[0];
    if (!stage) throw new Error('no stage');
    expect(pressureEnvironmentOf(stage, {})).toEqual({});
  });
});

describe('the example pipeline', () => {
  it('is the reference document pipeline: scan → extract → chunk → embed → index', () => {
    expect(examplePipeline.stages.map((stage) => [stage.name, stage.next])).toEqual([
      ['scan', 'extract'],
      ['extract', 'chunk'],
      ['chunk', 'embed'],
      ['embed', 'index'],
      ['index', undefined],
    ]);
    expect(examplePipeline.ingress?.stage).toBe('scan');
  });

  it('limits embed to the embedding service: 3,000 texts a minute, so 50 a second drain', () => {
    const embed = examplePipeline.stages.find((stage) => stage.name === 'embed');
    expect(embed?.downstream.embeddings?.ratePerMinute).toBe(3_000);
    expect(embed?.flow.drainRatePerSecond).toBe(50);
    expect(embed?.breaker).toBeDefined();
  });
});
