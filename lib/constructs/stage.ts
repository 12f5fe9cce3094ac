import { Duration } from 'aws-cdk-lib';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { ENV, pressureEnvironmentOf, type ResolvedStage, usesControlTable } from '../definition/index.ts';
import type { ControlTable } from './control-table.ts';
import { DurableQueue } from './durable-queue.ts';
import type { JobTables } from './job-tables.ts';
import { QueueAlarms } from './queue-alarms.ts';
import { QueueConsumer } from './queue-consumer.ts';

/** Props of a {@link Stage}. */
export interface StageProps {
  /** The stage as resolved by `definePipeline` (every default applied, every derived value computed). */
  readonly stage: ResolvedStage;
  /**
   * Name of the pipeline, for the consumer's logs and metrics.
   * @default - none
   */
  readonly pipelineName?: string;
  /**
   * The next stage's queue: the consumer may send to it, and finds its URL in `SLUICE_NEXT_QUEUE_URL`.
   * @default - the stage is the last
   */
  readonly next?: DurableQueue;
  /**
   * The next stage's hard depth limit: the consumer defers records instead of running them while the next queue is
   * at or over it (`SLUICE_NEXT_DEPTH_LIMIT`).
   * @default - no next-stage check
   */
  readonly nextDepthLimit?: number;
  /**
   * The pipeline's control table, for the stage's rate limiters, breaker and tenant bulkhead.
   * @default - none (the stage must declare none of them)
   */
  readonly controlTable?: ControlTable;
  /**
   * The pipeline's tenant key (`SLUICE_TENANT_KEY`): what the consumer forwards carries it as message group id.
   * @default - none
   */
  readonly tenantKey?: string;
  /**
   * Where the stage's alarms notify.
   * @default - QueueAlarms creates an encrypted topic
   */
  readonly alarmTopic?: sns.ITopic;
  /**
   * The job status and idempotency tables the consumer may use.
   * @default - none
   */
  readonly tables?: JobTables;
}

/** One stage of a pipeline: a {@link DurableQueue}, the {@link QueueConsumer} that drains it, and its {@link QueueAlarms}. */
export class Stage extends Construct {
  readonly queue: DurableQueue;
  readonly consumer: QueueConsumer;
  readonly alarms: QueueAlarms;

  constructor(scope: Construct, id: string, props: StageProps) {
    super(scope, id);
    const { stage } = props;
    this.queue = new DurableQueue(this, 'Queue', {
      fifo: stage.queue.fifo,
      contentBasedDeduplication: stage.queue.contentBasedDeduplication,
      maxReceiveCount: stage.queue.maxReceiveCount,
      visibilityTimeout: Duration.seconds(stage.queue.visibilityTimeoutSeconds),
      retentionPeriod: Duration.seconds(stage.queue.retentionPeriodSeconds),
      maxMessageSizeBytes: stage.queue.maxMessageSizeBytes,
      deliveryDelay: Duration.seconds(stage.queue.deliveryDelaySeconds),
    });
    this.consumer = new QueueConsumer(this, 'Consumer', {
      queue: this.queue,
      entry: stage.consumer.entry,
      handler: stage.consumer.handler,
      timeout: Duration.seconds(stage.consumer.timeoutSeconds),
      memorySizeMiB: stage.consumer.memorySizeMiB,
      batchSize: stage.consumer.batchSize,
      maxBatchingWindow: Duration.seconds(stage.consumer.maxBatchingWindowSeconds),
      maxConcurrency: stage.consumer.maxConcurrency,
      reservedConcurrency: stage.consumer.reservedConcurrency,
      environment: stage.consumer.environment,
      stageName: stage.name,
      ...(props.pipelineName === undefined ? {} : { pipelineName: props.pipelineName }),
    });
    if (props.next) {
      props.next.grantSendMessages(this.consumer.function);
      this.consumer.addEnvironment(ENV.nextQueueUrl, props.next.queue.queueUrl);
    }
    // Pressure: the next stage's limit, the control table when the stage keeps state there, and the right to send
    // deferred records back to its own queue with a delay.
    const pressured = props.nextDepthLimit !== undefined || usesControlTable(stage);
    const controlTableName =
      props.controlTable && usesControlTable(stage)
        ? props.controlTable.grantReadWrite(this.consumer.function)
        : undefined;
    const environment = pressureEnvironmentOf(stage, {
      ...(controlTableName === undefined ? {} : { controlTableName }),
      ...(props.next && props.nextDepthLimit !== undefined ? { nextDepthLimit: props.nextDepthLimit } : {}),
      ...(props.tenantKey === undefined ? {} : { tenantKey: props.tenantKey }),
    });
    for (const [name, value] of Object.entries(environment)) this.consumer.addEnvironment(name, value);
    if (pressured) this.queue.queue.grantSendMessages(this.consumer.function);
    if (props.next && props.nextDepthLimit !== undefined) {
      props.next.queue.grant(this.consumer.function, 'sqs:GetQueueAttributes');
    }
    if (props.tables) {
      for (const [name, value] of Object.entries(props.tables.grantTo(this.consumer.function))) {
        this.consumer.addEnvironment(name, value);
      }
    }
    this.alarms = new QueueAlarms(this, 'Alarms', {
      queue: this.queue,
      ageSlo: Duration.seconds(stage.flow.ageSloSeconds),
      depthLimit: stage.flow.depthLimit,
      ...(props.alarmTopic === undefined ? {} : { topic: props.alarmTopic }),
    });
  }
}
