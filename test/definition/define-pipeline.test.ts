import { describe, expect, it } from 'vitest';
import {
  definePipeline,
  PipelineDefinitionError,
  type PipelineInput,
  type StageInput,
  validatePipeline,
} from '../../lib/definition/index.ts';

type StageOverrides = Omit<Partial<StageInput>, 'consumer'> & { consumer?: Partial<StageInput['consumer']> };

function pipelineWith(stage: StageOverrides): PipelineInput {
  return {
    name: 'docs',
    stages: [{ name: 'ingest', ...stage, consumer: { entry: 'functions/x.ts', ...stage.consumer } }],
  };
}

function problemsOf(input: unknown): readonly string[] {
  const result = validatePipeline(input);
  if (result.success) throw new Error('expected the definition to be rejected');
  return result.problems;
}

describe('definePipeline defaults', () => {
  it('applies AWS-guided defaults to a minimal stage', () => {
    // WHEN
    const pipeline = definePipeline(pipelineWith({}));

    // THEN
    const [stage] = pipeline.stages;
    expect(stage?.queue).toEqual({
      fifo: false,
      contentBasedDeduplication: false,
      maxReceiveCount: 5,
      visibilityTimeoutSeconds: 6 * 30 + 1,
      retentionPeriodSeconds: 4 * 24 * 3600,
      maxMessageSizeBytes: 256 * 1024,
      deliveryDelaySeconds: 0,
      deadLetterRetentionSeconds: 14 * 24 * 3600,
    });
    expect(stage?.consumer).toMatchObject({
      handler: 'handler',
      timeoutSeconds: 30,
      batchSize: 10,
      maxBatchingWindowSeconds: 1,
      maxConcurrency: 5,
      reservedConcurrency: 5,
      recordConcurrency: 1,
    });
    expect(pipeline.warnings).toEqual([]);
  });

  it("derives the depth limit from the age SLO and drain rate (Little's law)", () => {
    // GIVEN 10 concurrent invocations, 4 records at a time, 200 ms each: 200 records/s
    const input = pipelineWith({
      consumer: { maxConcurrency: 10, recordConcurrency: 4, batchSize: 10 },
      flow: { ageSloSeconds: 60, recordProcessingMs: 200 },
    });

    // WHEN
    const [stage] = definePipeline(input).stages;

    // THEN
    expect(stage?.flow.drainRatePerSecond).toBe(200);
    expect(stage?.flow.depthLimit).toBe(12_000);
    expect(stage?.flow.depthLimitDerived).toBe(true);
  });

  it('keeps a depth limit that is given', () => {
    const [stage] = definePipeline(pipelineWith({ flow: { depthLimit: 500 } })).stages;

    expect(stage?.flow.depthLimit).toBe(500);
    expect(stage?.flow.depthLimitDerived).toBe(false);
  });

  it('raises a visibility timeout below 6 × timeout + window, with a warning', () => {
    // WHEN
    const pipeline = definePipeline(
      pipelineWith({
        queue: { visibilityTimeoutSeconds: 60 },
        consumer: { timeoutSeconds: 20, maxBatchingWindowSeconds: 5 },
      }),
    );

    // THEN
    expect(pipeline.stages[0]?.queue.visibilityTimeoutSeconds).toBe(125);
    expect(pipeline.warnings).toEqual([
      expect.objectContaining({
        id: 'visibilityTimeoutRaised',
        message: expect.stringMatching(/raised from 60 to 125 seconds/),
      }),
    ]);
  });

  it('keeps a visibility timeout above the minimum', () => {
    const pipeline = definePipeline(pipelineWith({ queue: { visibilityTimeoutSeconds: 900 } }));

    expect(pipeline.stages[0]?.queue.visibilityTimeoutSeconds).toBe(900);
    expect(pipeline.warnings).toEqual([]);
  });

  it('defaults the batching window of a FIFO stage to 0', () => {
    const [stage] = definePipeline(pipelineWith({ queue: { fifo: true } })).stages;

    expect(stage?.consumer.maxBatchingWindowSeconds).toBe(0);
  });

  it('warns when a full batch of maximum-size messages exceeds 6 MB', () => {
    const pipeline = definePipeline(
      pipelineWith({ queue: { maxMessageSizeBytes: 1024 * 1024 }, consumer: { batchSize: 10 } }),
    );

    expect(pipeline.warnings.map((warning) => warning.id)).toEqual(['batchPayloadOverLimit']);
  });
});

describe('definePipeline validation', () => {
  it.each([
    [
      'a pipeline name with capitals',
      { name: 'Docs', stages: [{ name: 'a', consumer: { entry: 'x.ts' } }] },
      /^name must be 1 to 40 characters.*but "Docs" was provided/,
    ],
    ['no stages', { name: 'docs', stages: [] }, /^stages must hold between 1 and 100 stages, but \[\] was provided/],
    [
      'a timeout above 900 seconds',
      pipelineWith({ consumer: { timeoutSeconds: 901 } }),
      /stages\[0\]\.consumer\.timeoutSeconds must be an integer between 1 and 900 seconds, but 901 was provided/,
    ],
    [
      'memory below 128 MiB',
      pipelineWith({ consumer: { memorySizeMiB: 64 } }),
      /memorySizeMiB must be an integer between 128 and 10240 MiB, but 64 was provided/,
    ],
    [
      'a batch size above 10000',
      pipelineWith({ consumer: { batchSize: 10_001 } }),
      /batchSize must be an integer between 1 and 10000, but 10001 was provided/,
    ],
    [
      'a batching window above 300 seconds',
      pipelineWith({ consumer: { maxBatchingWindowSeconds: 400 } }),
      /maxBatchingWindowSeconds must be an integer between 0 and 300 seconds, but 400 was provided/,
    ],
    [
      'a max concurrency of 1',
      pipelineWith({ consumer: { maxConcurrency: 1 } }),
      /maxConcurrency must be an integer between 2 and 1000, but 1 was provided/,
    ],
    [
      'a maxReceiveCount of 0',
      pipelineWith({ queue: { maxReceiveCount: 0 } }),
      /queue\.maxReceiveCount must be an integer between 1 and 1000, but 0 was provided/,
    ],
    [
      'a retention above 14 days',
      pipelineWith({ queue: { retentionPeriodSeconds: 1_209_601 } }),
      /retentionPeriodSeconds must be an integer between 60 and 1209600 seconds, but 1209601 was provided/,
    ],
    [
      'a message size above 1 MiB',
      pipelineWith({ queue: { maxMessageSizeBytes: 2_000_000 } }),
      /maxMessageSizeBytes must be an integer between 1024 and 1048576 bytes, but 2000000 was provided/,
    ],
    [
      'a batch size above 10 without a window',
      pipelineWith({ consumer: { batchSize: 100, maxBatchingWindowSeconds: 0 } }),
      /maxBatchingWindowSeconds must be between 1 and 300 seconds when stages\[0\]\.consumer\.batchSize is above 10 \(100\), but 0 was provided/,
    ],
    [
      'a FIFO batch size above 10',
      pipelineWith({ queue: { fifo: true }, consumer: { batchSize: 20 } }),
      /batchSize must be between 1 and 10 on a FIFO queue, but 20 was provided/,
    ],
    [
      'a batching window on a FIFO queue',
      pipelineWith({ queue: { fifo: true }, consumer: { maxBatchingWindowSeconds: 2 } }),
      /maxBatchingWindowSeconds must be 0 on a FIFO queue.*but 2 was provided/,
    ],
    [
      'reserved concurrency below max concurrency',
      pipelineWith({ consumer: { maxConcurrency: 10, reservedConcurrency: 4 } }),
      /reservedConcurrency must be between stages\[0\]\.consumer\.maxConcurrency \(10\) and 10000.*but 4 was provided/,
    ],
    [
      'an age SLO beyond the retention period',
      pipelineWith({ queue: { retentionPeriodSeconds: 3600 }, flow: { ageSloSeconds: 7200 } }),
      /flow\.ageSloSeconds must be below the queue's retention period \(3600 seconds\).*but 7200 was provided/,
    ],
    [
      'content-based deduplication on a standard queue',
      pipelineWith({ queue: { contentBasedDeduplication: true } }),
      /contentBasedDeduplication needs queue\.fifo: true/,
    ],
    [
      'a misspelt field',
      pipelineWith({ consumer: { batchsize: 5 } as never }),
      /stages\[0\]\.consumer has unknown field 'batchsize'/,
    ],
    [
      'a missing handler entry',
      { name: 'docs', stages: [{ name: 'a', consumer: {} }] },
      /stages\[0\]\.consumer\.entry is required/,
    ],
    [
      'a timeout given as text',
      pipelineWith({ consumer: { timeoutSeconds: '30' as never } }),
      /timeoutSeconds must be an integer between 1 and 900 seconds, but "30" was provided/,
    ],
    [
      'a fractional batch size',
      pipelineWith({ consumer: { batchSize: 2.5 } }),
      /batchSize must be an integer between 1 and 10000, but 2.5 was provided/,
    ],
  ])('fails if the definition has %s', (_case, input, message) => {
    // WHEN / THEN
    expect(problemsOf(input)).toEqual(expect.arrayContaining([expect.stringMatching(message)]));
  });

  it('fails if two stages share a name', () => {
    const input = {
      name: 'docs',
      stages: [
        { name: 'a', consumer: { entry: 'x.ts' } },
        { name: 'a', consumer: { entry: 'y.ts' } },
      ],
    };

    expect(problemsOf(input)).toEqual([
      "stages[1].name must be unique within the pipeline, but 'a' was provided twice",
    ]);
  });

  it('fails if a stage forwards to a stage that does not exist', () => {
    const input = { name: 'docs', stages: [{ name: 'a', next: 'b', consumer: { entry: 'x.ts' } }] };

    expect(problemsOf(input)).toEqual(["stages[0].next must be one of the stages (a), but 'b' was provided"]);
  });

  it('fails if stages forward to each other in a cycle', () => {
    const input = {
      name: 'docs',
      stages: [
        { name: 'a', next: 'b', consumer: { entry: 'x.ts' } },
        { name: 'b', next: 'a', consumer: { entry: 'y.ts' } },
      ],
    };

    expect(problemsOf(input)).toEqual(['stages[].next must not form a cycle, but a → b → a was provided']);
  });

  it('reports every problem at once', () => {
    // GIVEN three independent mistakes
    const input = pipelineWith({ consumer: { timeoutSeconds: 0, memorySizeMiB: 1, batchSize: 0 } });

    // WHEN
    const problems = problemsOf(input);

    // THEN
    expect(problems).toHaveLength(3);
  });

  it('throws a PipelineDefinitionError that lists the problems', () => {
    expect(() => definePipeline(pipelineWith({ consumer: { timeoutSeconds: 0, batchSize: 0 } }))).toThrow(
      /Pipeline definition 'docs' is invalid \(2 problems\):\n {2}- .*timeoutSeconds.*\n {2}- .*batchSize/,
    );
    expect(() => definePipeline(pipelineWith({ consumer: { timeoutSeconds: 0 } }))).toThrow(PipelineDefinitionError);
  });
});
