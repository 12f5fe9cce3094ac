import {
  CreateTableCommand,
  type DynamoDBClient,
  ResourceInUseException,
  UpdateTimeToLiveCommand,
} from '@aws-sdk/client-dynamodb';
import { CreateQueueCommand, GetQueueAttributesCommand, type SQSClient } from '@aws-sdk/client-sqs';
import {
  CONTROL_TABLE,
  IDEMPOTENCY_TABLE,
  JOB_TABLE,
  type Pipeline,
  type ResolvedStage,
  SQS_LIMITS,
  type TableShape,
} from '../definition/index.ts';
import { localQueueNames } from './queue-names.ts';

/**
 * Creates, on the local engines (or any SQS/DynamoDB endpoint), the queues and tables the CDK constructs create on
 * AWS for the same pipeline definition: each stage's queue and dead-letter queue with the same redrive policy,
 * visibility timeout, retention and FIFO settings, and the job and idempotency tables with TTL. Safe to run again
 * against persisted engines: existing queues and tables are reused.
 */

/** A stage's queues as provisioned. */
export interface ProvisionedStage {
  readonly stage: ResolvedStage;
  readonly queueUrl: string;
  readonly queueArn: string;
  readonly deadLetterQueueUrl: string;
  readonly deadLetterQueueArn: string;
}

/** The ingress's extra queues, as `PipelineIngress` creates them. */
export interface ProvisionedIngress {
  /** The stage requests are accepted into. */
  readonly stage: string;
  /** The low lane (its own queue and dead-letter queue), with priority lanes on. */
  readonly lowLane?: ProvisionedStage;
  /** The overflow queue no worker consumes, with the `buffer` overload policy. */
  readonly overflowQueueUrl?: string;
}

/** Everything provisioned for one pipeline. */
export interface ProvisionedPipeline {
  readonly pipeline: Pipeline;
  readonly stages: ReadonlyMap<string, ProvisionedStage>;
  readonly ingress?: ProvisionedIngress;
  readonly jobTableName?: string;
  readonly idempotencyTableName?: string;
  /** The control table of the limiters, breakers and bulkheads, when the pipeline has one. */
  readonly controlTableName?: string;
}

/** Options of {@link provisionPipeline}. */
export interface ProvisionOptions {
  readonly sqs: SQSClient;
  readonly dynamo: DynamoDBClient;
  /** Prefix of every queue and table name. @default the pipeline's name */
  readonly prefix?: string;
}

/** Creates (or reuses) every queue and table of `pipeline`. */
export async function provisionPipeline(pipeline: Pipeline, options: ProvisionOptions): Promise<ProvisionedPipeline> {
  const prefix = options.prefix ?? pipeline.name;
  const stages = new Map<string, ProvisionedStage>();
  for (const stage of pipeline.stages) {
    stages.set(
      stage.name,
      await provisionStage(options.sqs, localQueueNames(prefix, stage.name, stage.queue.fifo), stage),
    );
  }
  const ingress = pipeline.ingress ? await provisionIngress(options.sqs, prefix, pipeline) : undefined;
  const [jobTableName, idempotencyTableName, controlTableName] = await Promise.all([
    pipeline.jobs.enabled ? ensureTable(options.dynamo, `${prefix}-jobs`, JOB_TABLE) : undefined,
    pipeline.idempotency.enabled ? ensureTable(options.dynamo, `${prefix}-idempotency`, IDEMPOTENCY_TABLE) : undefined,
    pipeline.controlTable ? ensureTable(options.dynamo, `${prefix}-control`, CONTROL_TABLE) : undefined,
  ]);
  return {
    pipeline,
    stages,
    ...(ingress === undefined ? {} : { ingress }),
    ...(jobTableName === undefined ? {} : { jobTableName }),
    ...(idempotencyTableName === undefined ? {} : { idempotencyTableName }),
    ...(controlTableName === undefined ? {} : { controlTableName }),
  };
}

async function provisionIngress(sqs: SQSClient, prefix: string, pipeline: Pipeline): Promise<ProvisionedIngress> {
  const ingress = pipeline.ingress;
  const stage = pipeline.stages.find((candidate) => candidate.name === ingress?.stage);
  if (!ingress || !stage) {
    throw new Error(`the ingress stage '${ingress?.stage}' is not a stage of pipeline ${pipeline.name}`);
  }
  const lowLane = ingress.priority.enabled
    ? await provisionStage(sqs, localQueueNames(prefix, `${stage.name}-low`, stage.queue.fifo), stage)
    : undefined;
  let overflowQueueUrl: string | undefined;
  if (ingress.overflow.enabled) {
    const deadLetterQueueUrl = await createQueue(sqs, `${prefix}-${stage.name}-overflow-dlq`, {
      MessageRetentionPeriod: String(stage.queue.deadLetterRetentionSeconds),
    });
    overflowQueueUrl = await createQueue(sqs, `${prefix}-${stage.name}-overflow`, {
      MessageRetentionPeriod: String(ingress.overflow.retentionSeconds),
      MaximumMessageSize: String(stage.queue.maxMessageSizeBytes),
      RedrivePolicy: JSON.stringify({
        deadLetterTargetArn: await queueArn(sqs, deadLetterQueueUrl),
        maxReceiveCount: stage.queue.maxReceiveCount,
      }),
    });
  }
  return { stage: stage.name, ...(lowLane ? { lowLane } : {}), ...(overflowQueueUrl ? { overflowQueueUrl } : {}) };
}

async function provisionStage(
  sqs: SQSClient,
  names: ReturnType<typeof localQueueNames>,
  stage: ResolvedStage,
): Promise<ProvisionedStage> {
  const { queue } = stage;
  const fifo: Record<string, string> = queue.fifo ? { FifoQueue: 'true' } : {};
  // The dead-letter queue takes SQS's maximum message size, as DurableQueue's does: a body near the source's limit
  // plus the runtime's reason attributes must still fit
  // (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/quotas-messages.html).
  const deadLetterQueueUrl = await createQueue(sqs, names.deadLetterQueueName, {
    ...fifo,
    MessageRetentionPeriod: String(queue.deadLetterRetentionSeconds),
    MaximumMessageSize: String(SQS_LIMITS.maxMessageSizeBytes.max),
  });
  const deadLetterQueueArn = await queueArn(sqs, deadLetterQueueUrl);
  const queueUrl = await createQueue(sqs, names.queueName, {
    ...fifo,
    ...(queue.fifo && queue.contentBasedDeduplication ? { ContentBasedDeduplication: 'true' } : {}),
    VisibilityTimeout: String(queue.visibilityTimeoutSeconds),
    MessageRetentionPeriod: String(queue.retentionPeriodSeconds),
    MaximumMessageSize: String(queue.maxMessageSizeBytes),
    DelaySeconds: String(queue.deliveryDelaySeconds),
    RedrivePolicy: JSON.stringify({ deadLetterTargetArn: deadLetterQueueArn, maxReceiveCount: queue.maxReceiveCount }),
  });
  return { stage, queueUrl, queueArn: await queueArn(sqs, queueUrl), deadLetterQueueUrl, deadLetterQueueArn };
}

async function createQueue(sqs: SQSClient, name: string, attributes: Record<string, string>): Promise<string> {
  const result = await sqs.send(new CreateQueueCommand({ QueueName: name, Attributes: attributes }));
  if (!result.QueueUrl) {
    throw new Error(`CreateQueue returned no URL for ${name}`);
  }
  return result.QueueUrl;
}

async function queueArn(sqs: SQSClient, queueUrl: string): Promise<string> {
  const result = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }));
  const arn = result.Attributes?.QueueArn;
  if (!arn) {
    throw new Error(`GetQueueAttributes returned no QueueArn for ${queueUrl}`);
  }
  return arn;
}

/** Creates the table `name` of `shape` with TTL on, as JobTables does, or reuses it when it exists. */
export async function ensureTable(dynamo: DynamoDBClient, name: string, shape: TableShape): Promise<string> {
  try {
    await dynamo.send(
      new CreateTableCommand({
        TableName: name,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [{ AttributeName: shape.partitionKey, AttributeType: 'S' }],
        KeySchema: [{ AttributeName: shape.partitionKey, KeyType: 'HASH' }],
      }),
    );
    await dynamo.send(
      new UpdateTimeToLiveCommand({
        TableName: name,
        TimeToLiveSpecification: { AttributeName: shape.ttlAttribute, Enabled: true },
      }),
    );
  } catch (error) {
    if (!(error instanceof ResourceInUseException)) {
      throw error;
    }
  }
  return name;
}
