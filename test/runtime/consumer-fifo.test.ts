import type { SQSClient } from '@aws-sdk/client-sqs';
import type { SQSEvent } from 'aws-lambda';
import { beforeAll, describe, expect, it } from 'vitest';
import * as z from 'zod';
import { type ConsumerOptions, consumer, PermanentError } from '../../functions/runtime/index.ts';
import { DEAD_LETTER_ATTRIBUTES } from '../../lib/definition/index.ts';
import { toSqsEvent } from '../../lib/local/sqs-records.ts';
import { engineEndpoints, localSqsClient } from '../helpers/engines.ts';
import { createQueuePair, fakeContext, job, type QueuePair, receive, sendBodies } from '../helpers/runtime-fixture.ts';

// SQS FIFO delivers a message group's messages in order and holds the group's later messages while an earlier one is
// in flight (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/FIFO-queues-understanding-logic.html).
// Once the head of a group is in the dead-letter queue it no longer holds the group, so the later records run.

const Step = z.strictObject({ stepId: z.string() });

let sqs: SQSClient;
beforeAll(() => {
  sqs = localSqsClient();
});

/**
 * One FIFO batch holding `steps` of group `g1` in order. fauxqs hands out one message per group per receive (AWS may
 * hand out several of a group, in order), so each step comes from a real receive on its own FIFO queue.
 */
async function fifoBatch(steps: readonly string[]): Promise<{ queue: QueuePair; event: SQSEvent }> {
  const queues = await Promise.all(steps.map(() => createQueuePair(sqs, { fifo: true })));
  const messages = [];
  for (const [index, stepId] of steps.entries()) {
    const source = queues[index] as QueuePair;
    await sendBodies(sqs, source.queueUrl, [job({ stepId })], ['g1']);
    messages.push(...(await receive(sqs, source.queueUrl, 1)));
  }
  const queue = queues[0] as QueuePair;
  return { queue, event: toSqsEvent(messages, { queueArn: queue.queueArn, region: engineEndpoints().region }) };
}

function steps(queue: QueuePair, ran: string[], options: Partial<ConsumerOptions<typeof Step>> = {}) {
  return consumer({
    schema: Step,
    stage: 'steps',
    queueUrl: queue.queueUrl,
    deadLetterQueueUrl: queue.deadLetterQueueUrl,
    clients: { sqs },
    logSink: () => undefined,
    handler: (step) => {
      ran.push(step.stepId);
      if (step.stepId === 'a') throw new PermanentError('step a cannot run');
    },
    ...options,
  });
}

describe('consumer: FIFO group after a dead-lettered head', () => {
  it('runs the later records of a group once its failed head is in the dead-letter queue', async () => {
    // GIVEN group g1: a (fails permanently), b, c
    const { queue, event } = await fifoBatch(['a', 'b', 'c']);
    const ran: string[] = [];
    // WHEN
    const result = await steps(queue, ran)(event, fakeContext());
    // THEN a is parked with its reason, and b and c ran in order
    expect(result.batchItemFailures).toEqual([]);
    expect(ran).toEqual(['a', 'b', 'c']);
    const [parked] = await receive(sqs, queue.deadLetterQueueUrl, 1);
    expect(JSON.parse(parked?.Body as string).data.stepId).toBe('a');
    expect(parked?.MessageAttributes?.[DEAD_LETTER_ATTRIBUTES.errorMessage]?.StringValue).toBe('step a cannot run');
  });

  it('keeps the group held when its head could not be dead-lettered', async () => {
    // GIVEN the same group and a dead-letter queue that does not exist
    const { queue, event } = await fifoBatch(['a', 'b', 'c']);
    const ran: string[] = [];
    // WHEN
    const result = await steps(queue, ran, { deadLetterQueueUrl: `${queue.deadLetterQueueUrl}-missing` })(
      event,
      fakeContext(),
    );
    // THEN b and c did not run, and all three come back
    expect(ran).toEqual(['a']);
    expect(result.batchItemFailures).toHaveLength(3);
  });
});
