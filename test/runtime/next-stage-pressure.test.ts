import { SQSClient } from '@aws-sdk/client-sqs';
import { beforeAll, describe, expect, it } from 'vitest';
import * as z from 'zod';
import { DEFERRAL_ATTRIBUTES } from '../../functions/runtime/deferral.ts';
import { consumer } from '../../functions/runtime/index.ts';
import { LOCAL_CREDENTIALS } from '../../lib/local/engines.ts';
import { engineEndpoints, localSqsClient } from '../helpers/engines.ts';
import { createQueuePair, fakeContext, job, receive, receiveEvent, sendBodies } from '../helpers/runtime-fixture.ts';

const Chunk = z.strictObject({ text: z.string() });

let sqs: SQSClient;
beforeAll(() => {
  sqs = localSqsClient();
});

/** An SQS client that counts the GetQueueAttributes calls it makes (what the consumer pays per cache period). */
function countingSqsClient(): { client: SQSClient; depthReads: () => number } {
  const { sqsEndpoint, region } = engineEndpoints();
  const client = new SQSClient({ endpoint: sqsEndpoint, region, credentials: LOCAL_CREDENTIALS });
  let reads = 0;
  client.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName === 'GetQueueAttributesCommand') reads++;
      return next(args);
    },
    { step: 'initialize' },
  );
  return { client, depthReads: () => reads };
}

describe('next-stage pressure', () => {
  it('defers records without running them while the next stage is at its depth limit, reading the depth once per second', async () => {
    // GIVEN a next stage holding 3 messages, with a hard limit of 3
    const [queue, next] = await Promise.all([createQueuePair(sqs), createQueuePair(sqs)]);
    await sendBodies(sqs, next.queueUrl, [job({ text: 'x' }), job({ text: 'y' }), job({ text: 'z' })]);
    const { client, depthReads } = countingSqsClient();
    let now = 1_000_000;
    let runs = 0;
    const run = consumer({
      schema: Chunk,
      stage: 'chunk',
      queueUrl: queue.queueUrl,
      nextQueueUrl: next.queueUrl,
      clients: { sqs: client },
      pressure: { nextDepthLimit: 3, deferral: { baseSeconds: 0, maxSeconds: 0 }, clock: () => now },
      logSink: () => undefined,
      handler: (chunk, ctx) => {
        runs++;
        ctx.forward(chunk);
      },
    });
    await sendBodies(sqs, queue.queueUrl, [job({ text: 'a' }), job({ text: 'b' })]);

    // WHEN three batches arrive within the same second
    for (let batch = 0; batch < 3; batch++) {
      const event = await receiveEvent(sqs, queue, 2);
      // THEN no record runs, none is reported failed, and each comes back as a first receive with its deferral
      expect((await run(event, fakeContext())).batchItemFailures).toEqual([]);
    }
    expect(runs).toBe(0);
    expect(depthReads()).toBe(1);
    const held = await receive(sqs, queue.queueUrl, 2);
    expect(held.map((message) => message.Attributes?.ApproximateReceiveCount)).toEqual(['1', '1']);
    expect(held.map((message) => message.MessageAttributes?.[DEFERRAL_ATTRIBUTES.reason]?.StringValue)).toEqual([
      'next-stage',
      'next-stage',
    ]);
    expect(held.map((message) => message.MessageAttributes?.[DEFERRAL_ATTRIBUTES.count]?.StringValue)).toEqual([
      '3',
      '3',
    ]);

    // WHEN the next stage drains below its limit and the cached depth expires
    await receive(sqs, next.queueUrl, 1).then(async ([message]) => {
      const { DeleteMessageCommand } = await import('@aws-sdk/client-sqs');
      await sqs.send(new DeleteMessageCommand({ QueueUrl: next.queueUrl, ReceiptHandle: message?.ReceiptHandle }));
    });
    now += 1_000;
    // (the two received messages become visible again after their visibility timeout; send fresh ones instead)
    await sendBodies(sqs, queue.queueUrl, [job({ text: 'c' })]);
    const event = await receiveEvent(sqs, queue, 1);
    // THEN the record runs and forwards, after one more depth read
    expect((await run(event, fakeContext())).batchItemFailures).toEqual([]);
    expect(runs).toBe(1);
    expect(depthReads()).toBe(2);
  });

  it("counts the next stage's delayed (deferred) messages towards its depth", async () => {
    // GIVEN a next stage whose 2 messages are all delayed, as its own deferred records are, with a hard limit of 2
    // (GetQueueAttributes reports them as ApproximateNumberOfMessagesDelayed, not as visible messages:
    // https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_GetQueueAttributes.html)
    const [queue, next] = await Promise.all([createQueuePair(sqs), createQueuePair(sqs)]);
    const { SendMessageCommand } = await import('@aws-sdk/client-sqs');
    for (const text of ['x', 'y']) {
      await sqs.send(
        new SendMessageCommand({ QueueUrl: next.queueUrl, MessageBody: job({ text }), DelaySeconds: 900 }),
      );
    }
    let runs = 0;
    const run = consumer({
      schema: Chunk,
      stage: 'chunk',
      queueUrl: queue.queueUrl,
      nextQueueUrl: next.queueUrl,
      clients: { sqs },
      pressure: { nextDepthLimit: 2, deferral: { baseSeconds: 0, maxSeconds: 0 } },
      logSink: () => undefined,
      handler: (chunk, ctx) => {
        runs++;
        ctx.forward(chunk);
      },
    });
    await sendBodies(sqs, queue.queueUrl, [job({ text: 'a' })]);

    // WHEN a record arrives
    const event = await receiveEvent(sqs, queue, 1);

    // THEN it is deferred, not run: the next stage is at its limit even though nothing in it is visible
    expect((await run(event, fakeContext())).batchItemFailures).toEqual([]);
    expect(runs).toBe(0);
  });

  it('fails if nextDepthLimit is set without a next queue, or is not a positive integer', () => {
    expect(() => consumer({ schema: Chunk, handler: () => undefined, pressure: { nextDepthLimit: 10 } })).toThrow(
      /nextDepthLimit needs the next stage's queue: pass nextQueueUrl or set SLUICE_NEXT_QUEUE_URL/,
    );
    expect(() =>
      consumer({
        schema: Chunk,
        handler: () => undefined,
        nextQueueUrl: 'https://q',
        pressure: { nextDepthLimit: 0.5 },
      }),
    ).toThrow(/nextDepthLimit \(SLUICE_NEXT_DEPTH_LIMIT\) must be an integer of at least 1, but 0.5 was provided/);
  });
});
