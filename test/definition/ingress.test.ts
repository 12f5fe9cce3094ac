import { describe, expect, it } from 'vitest';
import { definePipeline, type IngressInput, type PipelineInput, validatePipeline } from '../../lib/definition/index.ts';

/** Two stages: `ingest` drains 5 × 1 record / 100 ms = 50 records/s, age SLO 60 s → depth limit 3,000. */
function pipelineWith(ingress: IngressInput | undefined): PipelineInput {
  return {
    name: 'docs',
    stages: [
      { name: 'ingest', next: 'embed', consumer: { entry: 'functions/x.ts' }, flow: { ageSloSeconds: 60 } },
      { name: 'embed', consumer: { entry: 'functions/y.ts' } },
    ],
    ...(ingress === undefined ? {} : { ingress }),
  };
}

function problemsOf(input: unknown): readonly string[] {
  const result = validatePipeline(input);
  if (result.success) throw new Error('expected the definition to be rejected');
  return result.problems;
}

describe('ingress defaults', () => {
  it('has no ingress when the definition has no ingress section', () => {
    expect(definePipeline(pipelineWith(undefined)).ingress).toBeUndefined();
  });

  it('applies defaults from the first stage', () => {
    // WHEN
    const pipeline = definePipeline(pipelineWith({}));
    const { ingress } = pipeline;

    // THEN
    expect(ingress).toEqual({
      stage: 'ingest',
      // whole-pipeline admission weighs the stage after it
      downstream: [
        {
          stage: 'embed',
          depthLimit: pipeline.stages[1]?.flow.depthLimit,
          ageSloSeconds: pipeline.stages[1]?.flow.ageSloSeconds,
          drainRatePerSecond: pipeline.stages[1]?.flow.drainRatePerSecond,
        },
      ],
      integration: 'direct',
      schemaVersion: 1,
      throttle: { rateLimitPerSecond: 1000, burstLimit: 500 },
      clients: [],
      backpressure: {
        softLimit: 2400,
        hardLimit: 3000,
        overload: 'reject',
        depthCacheTtlSeconds: 1,
        authorizerResultTtlSeconds: 5,
        maxRetryAfterSeconds: 120,
        drainRatePerSecond: 50,
      },
      overflow: {
        enabled: false,
        retentionSeconds: 14 * 24 * 3600,
        drainRatePerSecond: 25,
        lowWatermark: 1200,
        maxDepth: 30_000,
      },
      priority: { enabled: false, header: 'x-sluice-priority', defaultLane: 'high', lowLaneMaxConcurrency: 2 },
    });
  });

  it('adds the low lane to the drain rate when priority lanes are on', () => {
    // GIVEN the low lane's consumer runs 3 concurrent batches of 1 record / 100 ms: 30 records/s
    const { ingress } = definePipeline(pipelineWith({ priority: { enabled: true, lowLaneMaxConcurrency: 3 } }));

    // THEN
    expect(ingress?.backpressure.drainRatePerSecond).toBe(80);
  });

  it('accepts into the named stage', () => {
    const { ingress } = definePipeline(pipelineWith({ stage: 'embed' }));

    expect(ingress?.stage).toBe('embed');
  });

  it('enables the overflow buffer with the buffer policy', () => {
    const { ingress } = definePipeline(pipelineWith({ backpressure: { overload: 'buffer' } }));

    expect(ingress?.overflow.enabled).toBe(true);
  });

  it('warns when an overflow section is given without the buffer policy', () => {
    const pipeline = definePipeline(pipelineWith({ overflow: { drainRatePerSecond: 10 } }));

    expect(pipeline.warnings).toEqual([expect.objectContaining({ id: 'overflowUnused', path: 'ingress.overflow' })]);
  });

  it('warns when a throttle is above the default account quota', () => {
    const pipeline = definePipeline(pipelineWith({ throttle: { rateLimitPerSecond: 20_000, burstLimit: 100 } }));

    expect(pipeline.warnings.map((warning) => warning.id)).toEqual(['throttleAboveAccountQuota']);
  });
});

describe('ingress validation', () => {
  it('fails if the ingress stage does not exist', () => {
    expect(problemsOf(pipelineWith({ stage: 'nope' }))).toContainEqual(
      expect.stringMatching(/^ingress\.stage must be one of the stages \(ingest, embed\), but 'nope' was provided$/),
    );
  });

  it('fails if the soft limit is above the hard limit', () => {
    expect(problemsOf(pipelineWith({ backpressure: { softLimit: 500, hardLimit: 400 } }))).toContainEqual(
      expect.stringMatching(/softLimit must be between 1 and the hard limit \(400\), but 500 was provided/),
    );
  });

  it('fails if a given soft limit is above the derived hard limit', () => {
    expect(problemsOf(pipelineWith({ backpressure: { softLimit: 5000 } }))).toContainEqual(
      expect.stringMatching(/softLimit must be between 1 and the hard limit \(3000\), but 5000 was provided/),
    );
  });

  it('fails if the low watermark is not below the soft limit', () => {
    expect(
      problemsOf(
        pipelineWith({ backpressure: { softLimit: 100, overload: 'buffer' }, overflow: { lowWatermark: 100 } }),
      ),
    ).toContainEqual(expect.stringMatching(/overflow\.lowWatermark must be between 0 and 99 .*but 100 was provided/));
  });

  it('fails if the authorizer result TTL is above 10 seconds', () => {
    expect(problemsOf(pipelineWith({ backpressure: { authorizerResultTtlSeconds: 300 } }))).toContainEqual(
      'ingress.backpressure.authorizerResultTtlSeconds must be an integer between 0 and 10 seconds, but 300 was provided',
    );
  });

  it('fails if the overload policy is unknown', () => {
    expect(problemsOf(pipelineWith({ backpressure: { overload: 'drop' as 'reject' } }))).toContainEqual(
      expect.stringMatching(/^ingress\.backpressure\.overload must be one of reject, buffer, but "drop" was provided$/),
    );
  });

  it('fails if two clients share a name', () => {
    const client = { name: 'acme', rateLimitPerSecond: 10, burstLimit: 20 };
    expect(problemsOf(pipelineWith({ clients: [client, client] }))).toContainEqual(
      "ingress.clients[1].name must be unique, but 'acme' was provided twice",
    );
  });

  it('fails if a client quota period is unknown', () => {
    const client = { name: 'acme', rateLimitPerSecond: 10, burstLimit: 20, quota: { limit: 5, period: 'YEAR' } };
    expect(problemsOf(pipelineWith({ clients: [client as never] }))).toContainEqual(
      expect.stringMatching(/^ingress\.clients\[0\]\.quota\.period must be one of DAY, WEEK, MONTH, but "YEAR"/),
    );
  });

  it('fails if the ingress stage has a FIFO queue', () => {
    const input = pipelineWith({});
    const fifo = { ...input, stages: [{ ...input.stages[0], queue: { fifo: true } }, input.stages[1]] };
    expect(problemsOf(fifo)).toContainEqual(
      expect.stringMatching(/^ingress\.stage must name a stage with a standard queue/),
    );
  });

  it('fails if function mode has no job table to record into', () => {
    expect(problemsOf(pipelineWith({ integration: 'function' }))).toContainEqual(
      expect.stringMatching(/^ingress\.integration 'function' needs jobs\.enabled: true/),
    );
  });

  it('accepts function mode with job status on', () => {
    const pipeline = definePipeline({ ...pipelineWith({ integration: 'function' }), jobs: { enabled: true } });

    expect(pipeline.ingress?.integration).toBe('function');
  });

  it('fails if the priority header is not a header name', () => {
    expect(problemsOf(pipelineWith({ priority: { enabled: true, header: 'X Priority' } }))).toContainEqual(
      expect.stringMatching(/^ingress\.priority\.header must be a lower-case HTTP header name/),
    );
  });

  it('reports ingress and stage problems at once', () => {
    // GIVEN an unknown ingress stage and a stage with a bad batch size
    const input = pipelineWith({ stage: 'nope', throttle: { burstLimit: -1 } });
    const broken = { ...input, stages: [{ ...input.stages[0], consumer: { entry: 'x.ts', batchSize: 0 } }] };

    // THEN
    const problems = problemsOf(broken);
    expect(problems).toContainEqual(expect.stringMatching(/^ingress\.stage must be one of/));
    expect(problems).toContainEqual(expect.stringMatching(/^ingress\.throttle\.burstLimit must be an integer/));
    expect(problems).toContainEqual(expect.stringMatching(/^stages\[0\]\.consumer\.batchSize must be an integer/));
  });
});
