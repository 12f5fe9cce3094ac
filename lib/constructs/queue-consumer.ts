import * as path from 'node:path';
import { Annotations, Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import {
  DEFAULTS,
  ENV,
  exceedsInvocationPayload,
  LAMBDA_LIMITS,
  requiredVisibilityTimeoutSeconds,
  worstCaseBatchPayloadBytes,
} from '../definition/index.ts';
import { sluiceBundling } from './bundling.ts';
import type { DurableQueue } from './durable-queue.ts';
import { InvalidPropsError } from './errors.ts';
import { queueConsumerProblems } from './validate-queue-consumer.ts';
import { knownNumber, knownSeconds } from './validate-range.ts';

/** Props of a {@link QueueConsumer}. */
export interface QueueConsumerProps {
  /** The queue the function consumes; its visibility timeout is raised to 6 × `timeout` + `maxBatchingWindow` if lower. */
  readonly queue: DurableQueue;
  /** Path of the handler's TypeScript or JavaScript file, bundled with the locally installed esbuild. */
  readonly entry: string;
  /**
   * Name of the exported handler function.
   * @default 'handler'
   */
  readonly handler?: string;
  /**
   * Function timeout (1–900 seconds).
   * @default Duration.seconds(30)
   */
  readonly timeout?: Duration;
  /**
   * Function memory (128–10,240 MiB).
   * @default 512
   */
  readonly memorySizeMiB?: number;
  /**
   * Records per invocation (1–10,000; 1–10 on FIFO). Above 10 needs a `maxBatchingWindow` of at least 1 second.
   * @default 10
   */
  readonly batchSize?: number;
  /**
   * How long the event source mapping gathers records before invoking (0–300 seconds; 0 on FIFO).
   * @default Duration.seconds(1) on a standard queue, Duration.seconds(0) on FIFO
   */
  readonly maxBatchingWindow?: Duration;
  /**
   * `ScalingConfig.MaximumConcurrency` of the event source mapping (2–1000): concurrent invocations this queue drives.
   * @default 5
   */
  readonly maxConcurrency?: number;
  /**
   * Reserved concurrency of the function; at least `maxConcurrency`, so the mapping is never throttled by the function
   * (a throttled batch goes back to the queue and counts a receive).
   * @default - the same as maxConcurrency
   */
  readonly reservedConcurrency?: number;
  /**
   * Extra environment variables for the handler. sluice's own (`SLUICE_*`) are set by the construct.
   * @default - none
   */
  readonly environment?: Readonly<Record<string, string>>;
  /**
   * How long the function's log group keeps logs.
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly logRetention?: logs.RetentionDays;
  /**
   * Instruction set of the function.
   * @default lambda.Architecture.ARM_64
   */
  readonly architecture?: lambda.Architecture;
  /**
   * Overrides for esbuild bundling (minify, source maps, externals…). Bundling always runs locally, never in Docker.
   * @default - minified ESM with source maps, the AWS SDK v3 left to the runtime
   */
  readonly bundling?: nodejs.BundlingOptions;
  /**
   * Names written to `SLUICE_PIPELINE` and `SLUICE_STAGE` for logs and metrics.
   * @default - the construct's id as the stage, no pipeline
   */
  readonly pipelineName?: string;
  /** @default - the construct's id */
  readonly stageName?: string;
}

/**
 * A Lambda function that consumes a {@link DurableQueue} through an SQS event source mapping with partial batch
 * responses always on, a batching window, `MaximumConcurrency`, and reserved concurrency that covers it.
 *
 * @example
 * new QueueConsumer(this, 'Resize', {
 *   queue,
 *   entry: 'functions/resize.ts',
 *   batchSize: 50,
 *   maxBatchingWindow: Duration.seconds(2),
 *   maxConcurrency: 20,
 * });
 */
export class QueueConsumer extends Construct {
  readonly function: nodejs.NodejsFunction;
  readonly logGroup: logs.LogGroup;
  readonly eventSource: SqsEventSource;
  readonly maxConcurrency: number;
  readonly reservedConcurrency: number;

  constructor(scope: Construct, id: string, props: QueueConsumerProps) {
    super(scope, id);
    const fifo = props.queue.fifo;
    const settings = {
      fifo,
      timeout: props.timeout ?? Duration.seconds(DEFAULTS.timeoutSeconds),
      memorySizeMiB: props.memorySizeMiB ?? DEFAULTS.memorySizeMiB,
      batchSize: props.batchSize ?? DEFAULTS.batchSize,
      maxBatchingWindow: props.maxBatchingWindow ?? Duration.seconds(fifo ? 0 : DEFAULTS.maxBatchingWindowSeconds),
      maxConcurrency: props.maxConcurrency ?? DEFAULTS.maxConcurrency,
      reservedConcurrency: props.reservedConcurrency ?? props.maxConcurrency ?? DEFAULTS.maxConcurrency,
    };
    const problems = queueConsumerProblems(settings);
    if (problems.length > 0) {
      throw new InvalidPropsError('QueueConsumer', this.node.path, problems);
    }
    this.maxConcurrency = settings.maxConcurrency;
    this.reservedConcurrency = settings.reservedConcurrency;

    const timeoutSeconds = knownSeconds(settings.timeout);
    const windowSeconds = knownSeconds(settings.maxBatchingWindow);
    if (timeoutSeconds !== undefined && windowSeconds !== undefined) {
      const required = requiredVisibilityTimeoutSeconds(timeoutSeconds, windowSeconds);
      const previous = props.queue.raiseVisibilityTimeout(required);
      if (previous !== undefined) {
        Annotations.of(this).addWarningV2(
          'sluice:visibilityTimeoutRaised',
          `The visibility timeout of ${props.queue.node.path} was raised from ${previous} to ${required} seconds: AWS recommends at least 6 × the function timeout (${timeoutSeconds} s) + the batching window (${windowSeconds} s)`,
        );
      }
    }
    const batchSize = knownNumber(settings.batchSize);
    if (batchSize !== undefined && exceedsInvocationPayload(batchSize, props.queue.maxMessageSizeBytes)) {
      Annotations.of(this).addWarningV2(
        'sluice:batchPayloadOverLimit',
        `batchSize (${batchSize}) × the queue's maxMessageSizeBytes (${props.queue.maxMessageSizeBytes}) can reach ${worstCaseBatchPayloadBytes(batchSize, props.queue.maxMessageSizeBytes)} bytes, above Lambda's ${LAMBDA_LIMITS.invocationPayloadBytes.max}-byte invocation payload; the event source mapping sends smaller batches when messages are large`,
      );
    }

    this.logGroup = new logs.LogGroup(this, 'LogGroup', {
      retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    // A role of its own with write access to its own log group only, instead of the broad AWSLambdaBasicExecutionRole.
    const role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `Runs the ${props.stageName ?? id} consumer of ${props.queue.node.path}`,
    });
    this.logGroup.grantWrite(role);

    this.function = new nodejs.NodejsFunction(this, 'Function', {
      entry: path.resolve(props.entry),
      handler: props.handler ?? 'handler',
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: props.architecture ?? lambda.Architecture.ARM_64,
      timeout: settings.timeout,
      memorySize: settings.memorySizeMiB,
      reservedConcurrentExecutions: settings.reservedConcurrency,
      logGroup: this.logGroup,
      loggingFormat: lambda.LoggingFormat.JSON,
      role,
      environment: {
        ...props.environment,
        [ENV.stageName]: props.stageName ?? id,
        ...(props.pipelineName === undefined ? {} : { [ENV.pipelineName]: props.pipelineName }),
        [ENV.queueUrl]: props.queue.queue.queueUrl,
        [ENV.deadLetterQueueUrl]: props.queue.deadLetterQueue.queueUrl,
        [ENV.maxReceiveCount]: String(props.queue.maxReceiveCount),
        [ENV.visibilityTimeoutSeconds]: String(props.queue.visibilityTimeoutSeconds),
        NODE_OPTIONS: '--enable-source-maps',
      },
      bundling: sluiceBundling(props.bundling),
    });
    props.queue.grantSendToDeadLetterQueue(this.function);
    this.eventSource = new SqsEventSource(props.queue.queue, {
      batchSize: settings.batchSize,
      ...(fifo ? {} : { maxBatchingWindow: settings.maxBatchingWindow }),
      maxConcurrency: settings.maxConcurrency,
      reportBatchItemFailures: true,
    });
    this.function.addEventSource(this.eventSource);
  }

  /** Adds an environment variable to the function (e.g. a table name wired in later). */
  addEnvironment(name: string, value: string): void {
    this.function.addEnvironment(name, value);
  }
}
