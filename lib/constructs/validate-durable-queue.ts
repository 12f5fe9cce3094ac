import { Token } from 'aws-cdk-lib';
import { SQS_LIMITS } from '../definition/index.ts';
import type { DurableQueueProps } from './durable-queue.ts';
import { checkRange, knownSeconds } from './validate-range.ts';

const QUEUE_NAME = /^[A-Za-z0-9_-]+$/;

/** Every problem with a `DurableQueue`'s props, each naming the prop, the allowed range and the value given. */
export function durableQueueProblems(props: DurableQueueProps): string[] {
  const problems: string[] = [];
  const fifo = props.fifo ?? false;
  checkRange(problems, 'maxReceiveCount', props.maxReceiveCount, SQS_LIMITS.maxReceiveCount);
  checkRange(
    problems,
    'visibilityTimeout',
    knownSeconds(props.visibilityTimeout),
    SQS_LIMITS.visibilityTimeoutSeconds,
    ' seconds',
  );
  checkRange(
    problems,
    'retentionPeriod',
    knownSeconds(props.retentionPeriod),
    SQS_LIMITS.retentionPeriodSeconds,
    ' seconds',
  );
  checkRange(problems, 'deliveryDelay', knownSeconds(props.deliveryDelay), SQS_LIMITS.deliveryDelaySeconds, ' seconds');
  checkRange(problems, 'maxMessageSizeBytes', props.maxMessageSizeBytes, SQS_LIMITS.maxMessageSizeBytes, ' bytes');
  if (props.contentBasedDeduplication && !fifo) {
    problems.push(
      'contentBasedDeduplication must be false on a standard queue (set fifo: true to use it), but true was provided',
    );
  }
  const name = props.queueName;
  if (name !== undefined && !Token.isUnresolved(name)) {
    const base = name.endsWith('.fifo') ? name.slice(0, -'.fifo'.length) : name;
    // The dead-letter queue adds '-dlq', so the base must leave room for it within SQS's 80 characters.
    const maxBase = SQS_LIMITS.queueNameLength.max - (fifo ? '.fifo'.length : 0) - '-dlq'.length;
    if (!QUEUE_NAME.test(base) || base.length > maxBase) {
      problems.push(
        `queueName must be 1 to ${maxBase} letters, digits, hyphens or underscores${fifo ? " (plus '.fifo')" : ''}, but '${name}' was provided`,
      );
    }
    if (name.endsWith('.fifo') && !fifo) {
      problems.push(
        `queueName may end in '.fifo' only when fifo is true, but '${name}' was provided for a standard queue`,
      );
    }
  }
  return problems;
}
