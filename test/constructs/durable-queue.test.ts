import { Duration } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import * as kms from 'aws-cdk-lib/aws-kms';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { describe, expect, it } from 'vitest';
import { DurableQueue } from '../../lib/constructs/durable-queue.ts';
import { templateOf, testStack } from '../helpers/stacks.ts';

describe('DurableQueue defaults', () => {
  // GIVEN a queue with no props
  const stack = testStack();
  const durable = new DurableQueue(stack, 'Jobs');
  const template = templateOf(stack);
  const dlqId = stack.getLogicalId(durable.deadLetterQueue.node.defaultChild as never);

  it('redrives to its dead-letter queue after 5 receives', () => {
    template.hasResourceProperties('AWS::SQS::Queue', {
      RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': [dlqId, 'Arn'] }, maxReceiveCount: 5 },
    });
  });

  it('keeps dead letters for 14 days', () => {
    template.hasResourceProperties('AWS::SQS::Queue', {
      MessageRetentionPeriod: 1_209_600,
      RedriveAllowPolicy: Match.anyValue(),
    });
  });

  it('lets only its own queue redrive into the dead-letter queue', () => {
    const queueName = (durable.queue.node.defaultChild as sqs.CfnQueue).queueName;
    template.hasResourceProperties('AWS::SQS::Queue', {
      RedriveAllowPolicy: {
        redrivePermission: 'byQueue',
        sourceQueueArns: [
          Match.objectLike({ 'Fn::Join': ['', Match.arrayWith([`:sqs:eu-west-1:123456789012:${queueName}`])] }),
        ],
      },
    });
  });

  it('states SSE-SQS encryption on both queues', () => {
    const queues = template.findResources('AWS::SQS::Queue');
    expect(Object.values(queues)).toHaveLength(2);
    for (const queue of Object.values(queues)) {
      expect(queue.Properties.SqsManagedSseEnabled).toBe(true);
    }
  });

  it('denies requests without TLS on both queues', () => {
    const policies = template.findResources('AWS::SQS::QueuePolicy', {
      Properties: {
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
          ]),
        },
      },
    });
    expect(Object.keys(policies)).toHaveLength(2);
  });

  it('keeps messages 4 days with a 30 second visibility timeout and 256 KiB messages', () => {
    template.hasResourceProperties('AWS::SQS::Queue', {
      MessageRetentionPeriod: 345_600,
      VisibilityTimeout: 30,
      MaximumMessageSize: 262_144,
      RedrivePolicy: Match.anyValue(),
    });
  });
});

describe('DurableQueue options', () => {
  it('makes both queues FIFO with content-based deduplication', () => {
    // GIVEN
    const stack = testStack();
    // WHEN
    new DurableQueue(stack, 'Orders', { queueName: 'orders', fifo: true, contentBasedDeduplication: true });
    // THEN
    const template = templateOf(stack);
    template.hasResourceProperties('AWS::SQS::Queue', {
      QueueName: 'orders.fifo',
      FifoQueue: true,
      ContentBasedDeduplication: true,
    });
    template.hasResourceProperties('AWS::SQS::Queue', { QueueName: 'orders-dlq.fifo', FifoQueue: true });
  });

  it('uses a customer-managed key when given one', () => {
    const stack = testStack();
    const key = new kms.Key(stack, 'Key', { enableKeyRotation: true });
    new DurableQueue(stack, 'Secret', { encryptionKey: key });
    const queues = templateOf(stack).findResources('AWS::SQS::Queue');
    for (const queue of Object.values(queues)) {
      expect(queue.Properties.KmsMasterKeyId).toBeDefined();
    }
  });

  it("gives the dead-letter queue SQS's maximum message size, so a body at the source's limit fits with its reasons", () => {
    // GIVEN a queue at the default 256 KiB
    const stack = testStack();

    // WHEN
    const durable = new DurableQueue(stack, 'Jobs');

    // THEN message attributes count toward the size
    // (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/quotas-messages.html)
    const template = templateOf(stack);
    const sizeOf = (queue: sqs.Queue) =>
      template.toJSON().Resources[stack.getLogicalId(queue.node.defaultChild as sqs.CfnQueue)].Properties
        .MaximumMessageSize;
    expect(sizeOf(durable.queue)).toBe(262_144);
    expect(sizeOf(durable.deadLetterQueue)).toBe(1_048_576);
  });

  it('raises the visibility timeout only upwards', () => {
    const stack = testStack();
    const durable = new DurableQueue(stack, 'Jobs', { visibilityTimeout: Duration.seconds(200) });
    expect(durable.raiseVisibilityTimeout(100)).toBeUndefined();
    expect(durable.raiseVisibilityTimeout(300)).toBe(200);
    expect(durable.visibilityTimeoutSeconds).toBe(300);
  });
});

describe('DurableQueue validation', () => {
  it('fails if maxReceiveCount is 0', () => {
    expect(() => new DurableQueue(testStack(), 'Q', { maxReceiveCount: 0 })).toThrow(
      /maxReceiveCount must be an integer between 1 and 1000, but 0 was provided/,
    );
  });

  it('fails if the retention period is longer than 14 days', () => {
    expect(() => new DurableQueue(testStack(), 'Q', { retentionPeriod: Duration.days(15) })).toThrow(
      /retentionPeriod must be an integer between 60 and 1209600 seconds, but 1296000 was provided/,
    );
  });

  it('fails if the visibility timeout is over 12 hours', () => {
    expect(() => new DurableQueue(testStack(), 'Q', { visibilityTimeout: Duration.hours(13) })).toThrow(
      /visibilityTimeout must be an integer between 0 and 43200 seconds, but 46800 was provided/,
    );
  });

  it('fails if the delivery delay is over 15 minutes', () => {
    expect(() => new DurableQueue(testStack(), 'Q', { deliveryDelay: Duration.minutes(16) })).toThrow(
      /deliveryDelay must be an integer between 0 and 900 seconds, but 960 was provided/,
    );
  });

  it('fails if the maximum message size is under 1 KiB', () => {
    expect(() => new DurableQueue(testStack(), 'Q', { maxMessageSizeBytes: 100 })).toThrow(
      /maxMessageSizeBytes must be an integer between 1024 and 1048576 bytes, but 100 was provided/,
    );
  });

  it('fails if content-based deduplication is asked of a standard queue', () => {
    expect(() => new DurableQueue(testStack(), 'Q', { contentBasedDeduplication: true })).toThrow(
      /contentBasedDeduplication must be false on a standard queue/,
    );
  });

  it('fails if the queue name has characters SQS rejects', () => {
    expect(() => new DurableQueue(testStack(), 'Q', { queueName: 'my queue!' })).toThrow(
      /queueName must be 1 to 76 letters, digits, hyphens or underscores, but 'my queue!' was provided/,
    );
  });

  it('fails if a standard queue is named .fifo', () => {
    expect(() => new DurableQueue(testStack(), 'Q', { queueName: 'jobs.fifo' })).toThrow(
      /queueName may end in '.fifo' only when fifo is true/,
    );
  });

  it('fails listing every problem at once', () => {
    expect(() => new DurableQueue(testStack(), 'Q', { maxReceiveCount: 0, maxMessageSizeBytes: 1 })).toThrow(
      /has 2 invalid props:\n- maxReceiveCount .*\n- maxMessageSizeBytes/,
    );
  });
});
