import { Duration } from 'aws-cdk-lib';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { ENV, type JsonSchema, type ResolvedIngress, type ResolvedStage } from '../definition/index.ts';
import { DurableQueue } from './durable-queue.ts';
import { IngestApi } from './ingest-api.ts';
import type { JobTables } from './job-tables.ts';
import { OverflowDrainer } from './overflow-drainer.ts';
import { QueueAlarms } from './queue-alarms.ts';
import { QueueConsumer } from './queue-consumer.ts';
import type { Stage } from './stage.ts';

/** Receives of a parked message before its own dead-letter queue keeps it (the drainer retries failed sends). */
const OVERFLOW_MAX_RECEIVE_COUNT = 100;

/** Props of a {@link PipelineIngress}. */
export interface PipelineIngressProps {
  readonly ingress: ResolvedIngress;
  /** The resolved definition of the stage requests are accepted into. */
  readonly stageDefinition: ResolvedStage;
  /** The built stage requests are accepted into (its queue is the high lane). */
  readonly stage: Stage;
  readonly pipelineName: string;
  /** The pipeline's tenant key, sent as the message group id by the ingress. @default - none */
  readonly tenantKey?: string;
  /** Draft-04 JSON schema of request bodies (`requestJsonSchema(zodSchema).schema`). */
  readonly requestSchema: JsonSchema;
  /**
   * Function mode only: the accept handler's source file.
   * @default - none
   */
  readonly acceptEntry?: string;
  /**
   * The next stage's queue, which the low lane's consumer may send to as the stage's consumer does.
   * @default - the stage is the last
   */
  readonly next?: DurableQueue;
  /**
   * The pipeline's tables: the status route reads the job table; the low lane's consumer uses both.
   * @default - none
   */
  readonly tables?: JobTables;
  /** @default - QueueAlarms creates a topic */
  readonly alarmTopic?: sns.ITopic;
  /**
   * Set API Gateway's account-level CloudWatch role (see `IngestApiProps.cloudWatchRole`).
   * @default false
   */
  readonly cloudWatchRole?: boolean;
}

/**
 * Everything in front of and beside a pipeline's accept stage: the {@link IngestApi}, with priority lanes a low lane
 * (its own queue, consumer with its own concurrency, and alarms), and with the `buffer` policy an overflow queue and
 * its {@link OverflowDrainer}.
 */
export class PipelineIngress extends Construct {
  readonly api: IngestApi;
  readonly lowLane?: { readonly queue: DurableQueue; readonly consumer: QueueConsumer; readonly alarms: QueueAlarms };
  readonly overflowQueue?: DurableQueue;
  /** Parked requests aging toward expiry (half the retention), the overflow bound, and its dead-letter queue. */
  readonly overflowAlarms?: QueueAlarms;
  readonly drainer?: OverflowDrainer;

  constructor(scope: Construct, id: string, props: PipelineIngressProps) {
    super(scope, id);
    const { ingress, stageDefinition: definition } = props;

    if (ingress.priority.enabled) {
      const queue = new DurableQueue(this, 'LowLaneQueue', {
        maxReceiveCount: definition.queue.maxReceiveCount,
        visibilityTimeout: Duration.seconds(definition.queue.visibilityTimeoutSeconds),
        retentionPeriod: Duration.seconds(definition.queue.retentionPeriodSeconds),
        maxMessageSizeBytes: definition.queue.maxMessageSizeBytes,
      });
      const concurrency = ingress.priority.lowLaneMaxConcurrency;
      const consumer = new QueueConsumer(this, 'LowLaneConsumer', {
        queue,
        entry: definition.consumer.entry,
        handler: definition.consumer.handler,
        timeout: Duration.seconds(definition.consumer.timeoutSeconds),
        memorySizeMiB: definition.consumer.memorySizeMiB,
        batchSize: definition.consumer.batchSize,
        maxBatchingWindow: Duration.seconds(definition.consumer.maxBatchingWindowSeconds),
        maxConcurrency: concurrency,
        reservedConcurrency: concurrency,
        environment: definition.consumer.environment,
        stageName: definition.name,
        pipelineName: props.pipelineName,
      });
      if (props.next) {
        props.next.grantSendMessages(consumer.function);
        consumer.addEnvironment(ENV.nextQueueUrl, props.next.queue.queueUrl);
      }
      if (props.tables) {
        for (const [name, value] of Object.entries(props.tables.grantTo(consumer.function))) {
          consumer.addEnvironment(name, value);
        }
      }
      const alarms = new QueueAlarms(this, 'LowLaneAlarms', {
        queue,
        ageSlo: Duration.seconds(definition.flow.ageSloSeconds),
        depthLimit: ingress.backpressure.hardLimit,
        ...(props.alarmTopic === undefined ? {} : { topic: props.alarmTopic }),
      });
      this.lowLane = { queue, consumer, alarms };
    }

    if (ingress.overflow.enabled) {
      this.overflowQueue = new DurableQueue(this, 'OverflowQueue', {
        retentionPeriod: Duration.seconds(ingress.overflow.retentionSeconds),
        maxMessageSizeBytes: definition.queue.maxMessageSizeBytes,
        maxReceiveCount: OVERFLOW_MAX_RECEIVE_COUNT,
      });
      this.overflowAlarms = new QueueAlarms(this, 'OverflowAlarms', {
        queue: this.overflowQueue,
        ageSlo: Duration.seconds(Math.floor(ingress.overflow.retentionSeconds / 2)),
        depthLimit: ingress.overflow.maxDepth,
        ...(props.alarmTopic === undefined ? {} : { topic: props.alarmTopic }),
      });
      this.drainer = new OverflowDrainer(this, 'Drainer', {
        overflowQueue: this.overflowQueue.queue,
        queue: props.stage.queue.queue,
        ...(this.lowLane ? { lowLaneQueue: this.lowLane.queue.queue } : {}),
        ratePerSecond: ingress.overflow.drainRatePerSecond,
        lowWatermark: ingress.overflow.lowWatermark,
      });
    }

    const jobTable = props.tables?.jobTable;
    this.api = new IngestApi(this, 'Api', {
      ingress,
      queue: props.stage.queue.queue,
      ...(this.lowLane ? { lowLaneQueue: this.lowLane.queue.queue } : {}),
      ...(this.overflowQueue ? { overflowQueue: this.overflowQueue.queue } : {}),
      requestSchema: props.requestSchema,
      ...(props.tenantKey === undefined ? {} : { tenantKey: props.tenantKey }),
      maxMessageSizeBytes: definition.queue.maxMessageSizeBytes,
      ...(jobTable ? { jobTable } : {}),
      ...(props.acceptEntry ? { acceptEntry: props.acceptEntry } : {}),
      apiName: `sluice-${props.pipelineName}`,
      cloudWatchRole: props.cloudWatchRole ?? false,
    });
  }
}
