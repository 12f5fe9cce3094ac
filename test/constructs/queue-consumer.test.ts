import { Duration } from 'aws-cdk-lib';
import { Annotations, Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { DurableQueue } from '../../lib/constructs/durable-queue.ts';
import { QueueConsumer, type QueueConsumerProps } from '../../lib/constructs/queue-consumer.ts';
import { ECHO_ENTRY, templateOf, testStack } from '../helpers/stacks.ts';

function consumerStack(
  props: Partial<QueueConsumerProps> = {},
  queueProps: { fifo?: boolean; maxMessageSizeBytes?: number } = {},
) {
  const stack = testStack();
  const queue = new DurableQueue(stack, 'Jobs', queueProps);
  const consumer = new QueueConsumer(stack, 'Worker', { queue, entry: ECHO_ENTRY, ...props });
  return { stack, queue, consumer };
}

describe('QueueConsumer defaults', () => {
  // GIVEN a consumer with only a queue and an entry
  const { stack } = consumerStack();
  const template = templateOf(stack);

  it('runs nodejs24.x on arm64 with 512 MiB and 30 s', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      Runtime: 'nodejs24.x',
      Architectures: ['arm64'],
      MemorySize: 512,
      Timeout: 30,
    });
  });

  it('reserves concurrency equal to the mapping maximum concurrency', () => {
    template.hasResourceProperties('AWS::Lambda::Function', { ReservedConcurrentExecutions: 5 });
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', { ScalingConfig: { MaximumConcurrency: 5 } });
  });

  it('always reports batch item failures, with a batch of 10 and a 1 s window', () => {
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      BatchSize: 10,
      MaximumBatchingWindowInSeconds: 1,
    });
  });

  it('raises the queue visibility timeout to 6 × timeout + window', () => {
    template.hasResourceProperties('AWS::SQS::Queue', { VisibilityTimeout: 181, RedrivePolicy: Match.anyValue() });
    Annotations.fromStack(stack).hasWarning('/Test/Worker', Match.stringLikeRegexp('raised from 30 to 181 seconds'));
  });

  it('tells the runtime its queue, dead-letter queue, receive limit and visibility timeout', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          SLUICE_STAGE: 'Worker',
          SLUICE_QUEUE_URL: Match.anyValue(),
          SLUICE_DLQ_URL: Match.anyValue(),
          SLUICE_MAX_RECEIVE_COUNT: '5',
          SLUICE_VISIBILITY_TIMEOUT_SECONDS: '181',
        }),
      },
    });
  });

  it('writes to a log group of its own with one month retention, without the managed basic execution role', () => {
    template.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 30 });
    template.hasResourceProperties('AWS::Lambda::Function', {
      LoggingConfig: { LogFormat: 'JSON', LogGroup: Match.anyValue() },
    });
    template.hasResourceProperties('AWS::IAM::Role', { ManagedPolicyArns: Match.absent() });
  });
});

describe('QueueConsumer options', () => {
  it('passes batch size, window and concurrency to the mapping', () => {
    const { stack } = consumerStack({
      batchSize: 100,
      maxBatchingWindow: Duration.seconds(5),
      maxConcurrency: 50,
      reservedConcurrency: 60,
    });
    const template = templateOf(stack);
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      BatchSize: 100,
      MaximumBatchingWindowInSeconds: 5,
      ScalingConfig: { MaximumConcurrency: 50 },
    });
    template.hasResourceProperties('AWS::Lambda::Function', { ReservedConcurrentExecutions: 60 });
  });

  it('leaves the batching window out on FIFO queues', () => {
    const { stack } = consumerStack({}, { fifo: true });
    templateOf(stack).hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      MaximumBatchingWindowInSeconds: Match.absent(),
    });
  });

  it('warns when a full batch can exceed the 6 MB invocation payload', () => {
    const { stack } = consumerStack({ batchSize: 100 }, { maxMessageSizeBytes: 262_144 });
    Annotations.fromStack(stack).hasWarning('/Test/Worker', Match.stringLikeRegexp('26214400 bytes, above Lambda'));
  });

  it('bundles the handler with the local esbuild as an ESM file', () => {
    // GIVEN a stack that really bundles
    const stack = testStack({ bundle: true });
    const queue = new DurableQueue(stack, 'Jobs');
    // WHEN
    new QueueConsumer(stack, 'Worker', { queue, entry: ECHO_ENTRY });
    // THEN the function points at a bundled asset with an .mjs handler file
    const functions = templateOf(stack).findResources('AWS::Lambda::Function');
    const fn = Object.values(functions)[0];
    expect(fn?.Properties.Handler).toBe('index.handler');
    expect(fn?.Properties.Code.S3Key).toMatch(/\.zip$/);
  });
});

describe('QueueConsumer validation', () => {
  it('fails if batch size is above 10 without a batching window', () => {
    expect(() => consumerStack({ batchSize: 50, maxBatchingWindow: Duration.seconds(0) })).toThrow(
      /maxBatchingWindow must be between 1 and 300 seconds when batchSize is above 10 \(50\), but 0 was provided/,
    );
  });

  it('fails if a FIFO consumer asks for more than 10 records', () => {
    expect(() => consumerStack({ batchSize: 20 }, { fifo: true })).toThrow(
      /batchSize must be between 1 and 10 on a FIFO queue, but 20 was provided/,
    );
  });

  it('fails if a FIFO consumer asks for a batching window', () => {
    expect(() => consumerStack({ maxBatchingWindow: Duration.seconds(2) }, { fifo: true })).toThrow(
      /maxBatchingWindow must be 0 on a FIFO queue .* but 2 was provided/,
    );
  });

  it('fails if max concurrency is below 2', () => {
    expect(() => consumerStack({ maxConcurrency: 1 })).toThrow(
      /maxConcurrency must be an integer between 2 and 1000, but 1 was provided/,
    );
  });

  it('fails if max concurrency is above 1000', () => {
    expect(() => consumerStack({ maxConcurrency: 1001, reservedConcurrency: 2000 })).toThrow(
      /maxConcurrency must be an integer between 2 and 1000, but 1001 was provided/,
    );
  });

  it('fails if reserved concurrency is below max concurrency', () => {
    expect(() => consumerStack({ maxConcurrency: 10, reservedConcurrency: 5 })).toThrow(
      /reservedConcurrency must be between maxConcurrency \(10\) and 10000, .* but 5 was provided/,
    );
  });

  it('fails if the timeout is over 15 minutes', () => {
    expect(() => consumerStack({ timeout: Duration.minutes(16) })).toThrow(
      /timeout must be an integer between 1 and 900 seconds, but 960 was provided/,
    );
  });

  it('fails if memory is below 128 MiB', () => {
    expect(() => consumerStack({ memorySizeMiB: 64 })).toThrow(
      /memorySizeMiB must be an integer between 128 and 10240 MiB, but 64 was provided/,
    );
  });

  it('fails if the batching window is over 300 seconds', () => {
    expect(() => consumerStack({ maxBatchingWindow: Duration.seconds(400) })).toThrow(
      /maxBatchingWindow must be an integer between 0 and 300 seconds, but 400 was provided/,
    );
  });

  it('fails if batch size is above 10,000', () => {
    expect(() => consumerStack({ batchSize: 20_000, maxBatchingWindow: Duration.seconds(5) })).toThrow(
      /batchSize must be an integer between 1 and 10000, but 20000 was provided/,
    );
  });
});
