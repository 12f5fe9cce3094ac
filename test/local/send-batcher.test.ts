import { describe, expect, it } from 'vitest';
import { SendBatcher } from '../../lib/local/send-batcher.ts';
import { localSqsClient } from '../helpers/engines.ts';
import { createQueuePair, receive } from '../helpers/runtime-fixture.ts';

describe('SendBatcher', () => {
  it('delivers every one of many concurrent sends, each caller told when its own message is in', async () => {
    // GIVEN
    const sqs = localSqsClient();
    const queue = await createQueuePair(sqs);
    const batcher = new SendBatcher(sqs);
    // WHEN 25 sends arrive at once
    await Promise.all(
      Array.from({ length: 25 }, (_, index) => batcher.send(queue.queueUrl, { MessageBody: `m${index}` })),
    );
    // THEN all 25 are on the queue
    const bodies = (await receive(sqs, queue.queueUrl, 25)).map((message) => message.Body).sort();
    expect(bodies).toHaveLength(25);
    expect(new Set(bodies).size).toBe(25);
  });

  it('rejects each send SQS does not take, so the ingress can answer 503 instead of 202', async () => {
    const sqs = localSqsClient();
    const queue = await createQueuePair(sqs);
    const batcher = new SendBatcher(sqs);
    await expect(batcher.send(`${queue.queueUrl}-missing`, { MessageBody: 'lost?' })).rejects.toThrow();
  });
});
