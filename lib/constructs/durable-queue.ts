import { Duration, Names, RemovalPolicy, Stack } from 'aws-cdk-lib';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { DEFAULTS, SQS_LIMITS } from '../definition/index.ts';
import { InvalidPropsError } from './errors.ts';
import { durableQueueProblems } from './validate-durable-queue.ts';

/** Props of a {@link DurableQueue}. */
export interface DurableQueueProps {
  /**
   * Name of the queue; the dead-letter queue is named after it with `-dlq`. On a FIFO queue `.fifo` is added when missing.
   * @default - a name unique to the construct's path in the app
   */
  readonly queueName?: string;
  /**
   * Whether the queue (and its dead-letter queue) is FIFO.
   * @default false
   */
  readonly fifo?: boolean;
  /**
   * FIFO only: deduplicate on a SHA-256 of the body when a producer sends no deduplication id.
   * @default false
   */
  readonly contentBasedDeduplication?: boolean;
  /**
   * Receives after which a message moves to the dead-letter queue (1–1000).
   * @default 5
   */
  readonly maxReceiveCount?: number;
  /**
   * How long a received message stays hidden. A `QueueConsumer` raises it to 6 × its timeout + batching window.
   * @default Duration.seconds(30)
   */
  readonly visibilityTimeout?: Duration;
  /**
   * How long SQS keeps an unprocessed message (1 minute–14 days).
   * @default Duration.days(4)
   */
  readonly retentionPeriod?: Duration;
  /**
   * Largest message the queue accepts (1,024–1,048,576 bytes). The dead-letter queue always takes SQS's maximum
   * (1,048,576), so a message dead-lettered with its reason attributes fits.
   * @default 262144
   */
  readonly maxMessageSizeBytes?: number;
  /**
   * Delay before a new message becomes visible (0–15 minutes).
   * @default Duration.seconds(0)
   */
  readonly deliveryDelay?: Duration;
  /**
   * A customer-managed KMS key for both queues. Without one, both use SQS-managed server-side encryption (SSE-SQS),
   * stated explicitly in the template.
   * @default - SSE-SQS
   */
  readonly encryptionKey?: kms.IKey;
  /**
   * What happens to the queues when they leave the stack. Messages in a deleted queue are lost.
   * @default RemovalPolicy.DESTROY
   */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * An SQS queue that never loses a message quietly: a dead-letter queue with a redrive policy (receives beyond
 * `maxReceiveCount` park the message there for 14 days), a redrive-allow policy that lets only this queue use the
 * dead-letter queue, encryption at rest stated explicitly, and a queue policy that denies requests without TLS.
 *
 * @example
 * const queue = new DurableQueue(this, 'Uploads', { maxReceiveCount: 5, visibilityTimeout: Duration.minutes(3) });
 * queue.grantSendMessages(producerRole);
 */
export class DurableQueue extends Construct {
  /** The queue producers send to and consumers read from. */
  readonly queue: sqs.Queue;
  /** Where messages go after `maxReceiveCount` receives, or at once when the runtime finds a permanent failure. */
  readonly deadLetterQueue: sqs.Queue;
  readonly fifo: boolean;
  readonly maxReceiveCount: number;
  readonly maxMessageSizeBytes: number;

  constructor(scope: Construct, id: string, props: DurableQueueProps = {}) {
    super(scope, id);
    const problems = durableQueueProblems(props);
    if (problems.length > 0) {
      throw new InvalidPropsError('DurableQueue', this.node.path, problems);
    }
    this.fifo = props.fifo ?? false;
    this.maxReceiveCount = props.maxReceiveCount ?? DEFAULTS.maxReceiveCount;
    this.maxMessageSizeBytes = props.maxMessageSizeBytes ?? DEFAULTS.maxMessageSizeBytes;
    const encryption = props.encryptionKey
      ? { encryption: sqs.QueueEncryption.KMS, encryptionMasterKey: props.encryptionKey }
      : { encryption: sqs.QueueEncryption.SQS_MANAGED };
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.DESTROY;
    // Both queues are named up front: the dead-letter queue's redrive-allow policy names the source queue's ARN, and a
    // reference to the queue's own ARN would be a cycle (the queue references the dead-letter queue's ARN).
    const baseName = props.queueName?.replace(/\.fifo$/, '') ?? Names.uniqueResourceName(this, { maxLength: 60 });
    const queueName = `${baseName}${this.fifo ? '.fifo' : ''}`;

    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetterQueue', {
      queueName: `${baseName}-dlq${this.fifo ? '.fifo' : ''}`,
      ...(this.fifo ? { fifo: true } : {}),
      retentionPeriod: Duration.seconds(DEFAULTS.deadLetterRetentionSeconds),
      // SQS's maximum, whatever the source's: the runtime dead-letters a message with its body plus the reason
      // attributes, and attributes count toward the message size
      // (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/quotas-messages.html). A body at
      // the source's limit then still fits with its reasons instead of arriving via redrive without them.
      maxMessageSizeBytes: SQS_LIMITS.maxMessageSizeBytes.max,
      enforceSSL: true,
      removalPolicy,
      ...encryption,
    });
    this.queue = new sqs.Queue(this, 'Queue', {
      queueName,
      ...(this.fifo ? { fifo: true, contentBasedDeduplication: props.contentBasedDeduplication ?? false } : {}),
      visibilityTimeout: props.visibilityTimeout ?? Duration.seconds(30),
      retentionPeriod: props.retentionPeriod ?? Duration.seconds(DEFAULTS.retentionPeriodSeconds),
      maxMessageSizeBytes: this.maxMessageSizeBytes,
      deliveryDelay: props.deliveryDelay ?? Duration.seconds(DEFAULTS.deliveryDelaySeconds),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: this.maxReceiveCount },
      enforceSSL: true,
      removalPolicy,
      ...encryption,
    });
    // Only this queue may redrive into the dead-letter queue.
    const dlq = this.deadLetterQueue.node.defaultChild as sqs.CfnQueue;
    dlq.redriveAllowPolicy = {
      redrivePermission: 'byQueue',
      sourceQueueArns: [Stack.of(this).formatArn({ service: 'sqs', resource: queueName })],
    };
  }

  /** The queue's visibility timeout in seconds as synthesized (after any raise by a consumer). */
  get visibilityTimeoutSeconds(): number {
    return (this.queue.node.defaultChild as sqs.CfnQueue).visibilityTimeout as number;
  }

  /**
   * Raises the visibility timeout to at least `seconds` (a consumer calls this with 6 × timeout + window).
   * Returns the previous value when it raised it, `undefined` when it was already high enough.
   */
  raiseVisibilityTimeout(seconds: number): number | undefined {
    const cfn = this.queue.node.defaultChild as sqs.CfnQueue;
    const current = cfn.visibilityTimeout as number;
    if (current >= seconds) {
      return undefined;
    }
    cfn.visibilityTimeout = seconds;
    return current;
  }

  /** Lets `grantee` send to the queue: sqs:SendMessage, sqs:GetQueueAttributes, sqs:GetQueueUrl (+ kms when a key is set). */
  grantSendMessages(grantee: iam.IGrantable): iam.Grant {
    return this.queue.grantSendMessages(grantee);
  }

  /**
   * Lets `grantee` consume the queue: sqs:ReceiveMessage, sqs:ChangeMessageVisibility, sqs:GetQueueUrl,
   * sqs:DeleteMessage, sqs:GetQueueAttributes (+ kms:Decrypt when a key is set).
   */
  grantConsumeMessages(grantee: iam.IGrantable): iam.Grant {
    return this.queue.grantConsumeMessages(grantee);
  }

  /** Lets `grantee` send to the dead-letter queue (sqs:SendMessage, sqs:GetQueueAttributes, sqs:GetQueueUrl). */
  grantSendToDeadLetterQueue(grantee: iam.IGrantable): iam.Grant {
    return this.deadLetterQueue.grantSendMessages(grantee);
  }

  /** Lets `grantee` read the queue's attributes (sqs:GetQueueAttributes, sqs:GetQueueUrl), e.g. its depth. */
  grantReadAttributes(grantee: iam.IGrantable): iam.Grant {
    return this.queue.grant(grantee, 'sqs:GetQueueAttributes', 'sqs:GetQueueUrl');
  }

  /** Age of the oldest message in the queue (`ApproximateAgeOfOldestMessage`, seconds, Maximum over 1 minute). */
  metricApproximateAgeOfOldestMessage(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.queue.metricApproximateAgeOfOldestMessage({ statistic: 'Maximum', ...props });
  }

  /** Messages waiting in the queue (`ApproximateNumberOfMessagesVisible`, Maximum over 1 minute). */
  metricApproximateNumberOfMessagesVisible(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.queue.metricApproximateNumberOfMessagesVisible({ statistic: 'Maximum', ...props });
  }

  /** Messages received but not yet deleted (`ApproximateNumberOfMessagesNotVisible`, Maximum over 1 minute). */
  metricApproximateNumberOfMessagesNotVisible(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.queue.metricApproximateNumberOfMessagesNotVisible({ statistic: 'Maximum', ...props });
  }

  /** Messages parked in the dead-letter queue (`ApproximateNumberOfMessagesVisible` of the DLQ, Maximum). */
  metricDeadLetterMessagesVisible(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ statistic: 'Maximum', ...props });
  }
}
