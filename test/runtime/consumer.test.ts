import type { SQSClient } from '@aws-sdk/client-sqs';
import { beforeAll, describe, expect, it } from 'vitest';
import * as z from 'zod';
import { type ConsumerOptions, consumer, PermanentError, TransientError } from '../../functions/runtime/index.ts';
import { DEAD_LETTER_ATTRIBUTES } from '../../lib/definition/index.ts';
import { toSqsEvent } from '../../lib/local/sqs-records.ts';
import { engineEndpoints, localSqsClient } from '../helpers/engines.ts';
import {
  createQueuePair,
  fakeContext,
  job,
  type QueuePair,
  receive,
  receiveEvent,
  sendBodies,
} from '../helpers/runtime-fixture.ts';

const Order = z.strictObject({ orderId: z.string().min(1), quantity: z.int().min(1).max(100) });
type Order = z.infer<typeof Order>;

let sqs: SQSClient;
beforeAll(() => {
  sqs = localSqsClient();
});

function orders(
  queue: QueuePair,
  handler: ConsumerOptions<typeof Order>['handler'],
  options: Partial<ConsumerOptions<typeof Order>> = {},
) {
  const lines: string[] = [];
  const run = consumer({
    schema: Order,
    handler,
    stage: 'orders',
    queueUrl: queue.queueUrl,
    deadLetterQueueUrl: queue.deadLetterQueueUrl,
    clients: { sqs },
    backoff: { baseSeconds: 1, maxSeconds: 1 },
    logSink: (line) => lines.push(line),
    ...options,
  });
  return { run, lines };
}

function attribute(
  message: { MessageAttributes?: Record<string, { StringValue?: string }> },
  name: string,
): string | undefined {
  return message.MessageAttributes?.[name]?.StringValue;
}

describe('consumer: per-record outcomes', () => {
  it('runs valid records and reports no failure', async () => {
    // GIVEN two valid orders on the queue
    const queue = await createQueuePair(sqs);
    const seen: Order[] = [];
    const { run } = orders(queue, (order) => {
      seen.push(order);
    });
    await sendBodies(sqs, queue.queueUrl, [job({ orderId: 'a', quantity: 1 }), job({ orderId: 'b', quantity: 2 })]);
    // WHEN
    const result = await run(await receiveEvent(sqs, queue, 2), fakeContext());
    // THEN
    expect(result.batchItemFailures).toEqual([]);
    expect(seen.map((order) => order.orderId).sort()).toEqual(['a', 'b']);
  });

  it('dead-letters malformed JSON at once with its reason, and reports it done', async () => {
    const queue = await createQueuePair(sqs);
    const { run } = orders(queue, () => undefined);
    await sendBodies(sqs, queue.queueUrl, ['{not json']);
    const result = await run(await receiveEvent(sqs, queue, 1), fakeContext());
    expect(result.batchItemFailures).toEqual([]);
    const [parked] = await receive(sqs, queue.deadLetterQueueUrl, 1);
    expect(parked?.Body).toBe('{not json');
    expect(attribute(parked ?? {}, DEAD_LETTER_ATTRIBUTES.errorClass)).toBe('MalformedMessageError');
    expect(attribute(parked ?? {}, DEAD_LETTER_ATTRIBUTES.errorMessage)).toMatch(/body is not valid JSON/);
    expect(attribute(parked ?? {}, DEAD_LETTER_ATTRIBUTES.stage)).toBe('orders');
    expect(attribute(parked ?? {}, DEAD_LETTER_ATTRIBUTES.receiveCount)).toBe('1');
    expect(attribute(parked ?? {}, DEAD_LETTER_ATTRIBUTES.firstSeenAt)).toMatch(/^\d{4}-\d\d-\d\dT/);
  });

  it('dead-letters a schema violation with each issue as path: message', async () => {
    const queue = await createQueuePair(sqs);
    const { run } = orders(queue, () => undefined);
    await sendBodies(sqs, queue.queueUrl, [job({ orderId: '', quantity: 500 })]);
    await run(await receiveEvent(sqs, queue, 1), fakeContext());
    const [parked] = await receive(sqs, queue.deadLetterQueueUrl, 1);
    expect(attribute(parked ?? {}, DEAD_LETTER_ATTRIBUTES.errorClass)).toBe('SchemaValidationError');
    expect(attribute(parked ?? {}, DEAD_LETTER_ATTRIBUTES.errorMessage)).toMatch(/orderId: .*; quantity: .*100/);
  });

  it('dead-letters a job of an unsupported schema version', async () => {
    const queue = await createQueuePair(sqs);
    const { run } = orders(queue, () => undefined);
    await sendBodies(sqs, queue.queueUrl, [job({ orderId: 'a', quantity: 1 }, { schemaVersion: 3 })]);
    await run(await receiveEvent(sqs, queue, 1), fakeContext());
    const [parked] = await receive(sqs, queue.deadLetterQueueUrl, 1);
    expect(attribute(parked ?? {}, DEAD_LETTER_ATTRIBUTES.errorMessage)).toMatch(
      /schemaVersion 3 is not supported .* reads version 1/,
    );
  });

  it('upgrades an older schema version with migrate', async () => {
    const queue = await createQueuePair(sqs);
    const seen: Order[] = [];
    const { run } = orders(queue, (order) => void seen.push(order), {
      schemaVersion: 2,
      migrate: (data, from) => (from === 1 ? { orderId: (data as { id: string }).id, quantity: 1 } : data),
    });
    await sendBodies(sqs, queue.queueUrl, [job({ id: 'legacy' }, { schemaVersion: 1 })]);
    const result = await run(await receiveEvent(sqs, queue, 1), fakeContext());
    expect(result.batchItemFailures).toEqual([]);
    expect(seen).toEqual([{ orderId: 'legacy', quantity: 1 }]);
  });

  it('dead-letters a PermanentError thrown by the handler', async () => {
    const queue = await createQueuePair(sqs);
    const { run } = orders(queue, () => {
      throw new PermanentError('order a was cancelled');
    });
    await sendBodies(sqs, queue.queueUrl, [job({ orderId: 'a', quantity: 1 })]);
    const result = await run(await receiveEvent(sqs, queue, 1), fakeContext());
    expect(result.batchItemFailures).toEqual([]);
    const [parked] = await receive(sqs, queue.deadLetterQueueUrl, 1);
    expect(attribute(parked ?? {}, DEAD_LETTER_ATTRIBUTES.errorClass)).toBe('PermanentError');
    expect(attribute(parked ?? {}, DEAD_LETTER_ATTRIBUTES.errorMessage)).toBe('order a was cancelled');
  });

  it('retries a TransientError after its backoff, as a batch item failure', async () => {
    // GIVEN a handler that fails transiently once
    const queue = await createQueuePair(sqs);
    let calls = 0;
    const { run } = orders(queue, () => {
      calls++;
      if (calls === 1) {
        throw new TransientError('inventory service throttled');
      }
    });
    await sendBodies(sqs, queue.queueUrl, [job({ orderId: 'a', quantity: 1 })]);
    const first = await receiveEvent(sqs, queue, 1);
    // WHEN
    const result = await run(first, fakeContext());
    // THEN it is reported failed and comes back on a later receive
    expect(result.batchItemFailures).toEqual([{ itemIdentifier: first.Records[0]?.messageId }]);
    const again = await receiveEvent(sqs, queue, 1);
    expect(again.Records[0]?.attributes.ApproximateReceiveCount).toBe('2');
    expect((await run(again, fakeContext())).batchItemFailures).toEqual([]);
  });

  it('treats an unknown error as transient', async () => {
    const queue = await createQueuePair(sqs);
    const { run } = orders(queue, () => {
      throw new Error('something odd');
    });
    await sendBodies(sqs, queue.queueUrl, [job({ orderId: 'a', quantity: 1 })]);
    const result = await run(await receiveEvent(sqs, queue, 1), fakeContext());
    expect(result.batchItemFailures).toHaveLength(1);
  });

  it('follows classify when it calls an error permanent', async () => {
    const queue = await createQueuePair(sqs);
    const { run } = orders(
      queue,
      () => {
        throw Object.assign(new Error('card declined'), { code: 'DECLINED' });
      },
      { classify: (error) => ((error as { code?: string }).code === 'DECLINED' ? 'permanent' : undefined) },
    );
    await sendBodies(sqs, queue.queueUrl, [job({ orderId: 'a', quantity: 1 })]);
    expect((await run(await receiveEvent(sqs, queue, 1), fakeContext())).batchItemFailures).toEqual([]);
    const [parked] = await receive(sqs, queue.deadLetterQueueUrl, 1);
    expect(attribute(parked ?? {}, DEAD_LETTER_ATTRIBUTES.errorMessage)).toBe('card declined');
  });

  it('dead-letters a transient failure on the last allowed receive, with its reason', async () => {
    const queue = await createQueuePair(sqs);
    const { run } = orders(
      queue,
      () => {
        throw new TransientError('still throttled');
      },
      { maxReceiveCount: 1 },
    );
    await sendBodies(sqs, queue.queueUrl, [job({ orderId: 'a', quantity: 1 })]);
    expect((await run(await receiveEvent(sqs, queue, 1), fakeContext())).batchItemFailures).toEqual([]);
    const [parked] = await receive(sqs, queue.deadLetterQueueUrl, 1);
    expect(attribute(parked ?? {}, DEAD_LETTER_ATTRIBUTES.errorClass)).toBe('TransientError');
  });

  it('reports a record failed when its dead-letter send fails, so it is never lost', async () => {
    const queue = await createQueuePair(sqs);
    const { run } = orders(queue, () => undefined, { deadLetterQueueUrl: `${queue.deadLetterQueueUrl}-missing` });
    await sendBodies(sqs, queue.queueUrl, ['{not json']);
    const event = await receiveEvent(sqs, queue, 1);
    expect((await run(event, fakeContext())).batchItemFailures).toEqual([
      { itemIdentifier: event.Records[0]?.messageId },
    ]);
  });

  it('runs the other records of a batch while one is poison', async () => {
    const queue = await createQueuePair(sqs);
    const seen: string[] = [];
    const { run } = orders(queue, (order) => void seen.push(order.orderId));
    await sendBodies(sqs, queue.queueUrl, [
      job({ orderId: 'a', quantity: 1 }),
      'poison',
      job({ orderId: 'b', quantity: 1 }),
      job({ orderId: 'c', quantity: 0 }),
      job({ orderId: 'd', quantity: 1 }),
    ]);
    const result = await run(await receiveEvent(sqs, queue, 5), fakeContext());
    expect(result.batchItemFailures).toEqual([]);
    expect(seen.sort()).toEqual(['a', 'b', 'd']);
    expect(await receive(sqs, queue.deadLetterQueueUrl, 2)).toHaveLength(2);
  });
});

describe('consumer: FIFO, concurrency and time', () => {
  it('skips the later records of a FIFO group after a failure, while other groups go on', async () => {
    // GIVEN group g1: a (fails), b, c and group g2: x, y
    const queue = await createQueuePair(sqs, { fifo: true });
    const ran: string[] = [];
    const { run } = orders(queue, (order) => {
      ran.push(order.orderId);
      if (order.orderId === 'a') {
        throw new TransientError('a failed');
      }
    });
    // fauxqs hands out one message per group per receive (AWS may hand out several of a group, in order), so the
    // batch is assembled from real receives on three FIFO queues, one message per group each, in AWS's group order.
    const extra = [await createQueuePair(sqs, { fifo: true }), await createQueuePair(sqs, { fifo: true })];
    const rounds = [
      [queue, ['a', 'x']],
      [extra[0], ['b', 'y']],
      [extra[1], ['c']],
    ] as const;
    const messages = [];
    for (const [source, ids] of rounds) {
      const groups = ids.map((id) => (['a', 'b', 'c'].includes(id) ? 'g1' : 'g2'));
      await sendBodies(
        sqs,
        (source as QueuePair).queueUrl,
        ids.map((orderId) => job({ orderId, quantity: 1 })),
        groups,
      );
      messages.push(...(await receive(sqs, (source as QueuePair).queueUrl, ids.length)));
    }
    expect(messages).toHaveLength(5);
    const event = toSqsEvent(messages, { queueArn: queue.queueArn, region: engineEndpoints().region });
    // WHEN
    const result = await run(event, fakeContext());
    // THEN a, b, c are reported failed and b, c never ran; x and y succeeded
    const byId = new Map(event.Records.map((record) => [record.messageId, JSON.parse(record.body).data.orderId]));
    expect(result.batchItemFailures.map((failure) => byId.get(failure.itemIdentifier)).sort()).toEqual(['a', 'b', 'c']);
    expect(ran.sort()).toEqual(['a', 'x', 'y']);
  });

  it('runs at most recordConcurrency records at once', async () => {
    const queue = await createQueuePair(sqs);
    let running = 0;
    let peak = 0;
    const { run } = orders(
      queue,
      async () => {
        running++;
        peak = Math.max(peak, running);
        await new Promise((resolve) => setTimeout(resolve, 20));
        running--;
      },
      { recordConcurrency: 3 },
    );
    await sendBodies(
      sqs,
      queue.queueUrl,
      Array.from({ length: 10 }, (_, index) => job({ orderId: `o${index}`, quantity: 1 })),
    );
    const result = await run(await receiveEvent(sqs, queue, 10), fakeContext());
    expect(result.batchItemFailures).toEqual([]);
    expect(peak).toBe(3);
  });

  it('releases unstarted records when the remaining time is under the margin', async () => {
    // GIVEN an invocation with 1 s left and a 2 s margin
    const queue = await createQueuePair(sqs);
    let ran = 0;
    const { run } = orders(queue, () => void ran++, { timeoutMarginMs: 2_000 });
    await sendBodies(sqs, queue.queueUrl, [job({ orderId: 'a', quantity: 1 }), job({ orderId: 'b', quantity: 1 })]);
    const event = await receiveEvent(sqs, queue, 2);
    // WHEN
    const result = await run(event, fakeContext(1_000));
    // THEN nothing ran, both are failed, and both are visible again at once (visibility 0, not the 30 s timeout)
    expect(ran).toBe(0);
    expect(result.batchItemFailures).toHaveLength(2);
    expect(await receive(sqs, queue.queueUrl, 2, 3_000)).toHaveLength(2);
  });

  it('sends forwarded jobs to the next queue with the correlation id and derived job ids', async () => {
    const queue = await createQueuePair(sqs);
    const next = await createQueuePair(sqs);
    const { run } = orders(
      queue,
      (order, ctx) => {
        ctx.forward({ line: 1, orderId: order.orderId });
        ctx.forward({ line: 2, orderId: order.orderId });
      },
      { nextQueueUrl: next.queueUrl },
    );
    await sendBodies(sqs, queue.queueUrl, [
      job({ orderId: 'a', quantity: 1 }, { jobId: 'order-a', correlationId: 'req-1' }),
    ]);
    expect((await run(await receiveEvent(sqs, queue, 1), fakeContext())).batchItemFailures).toEqual([]);
    const forwarded = (await receive(sqs, next.queueUrl, 2)).map((message) => JSON.parse(message.Body as string));
    expect(forwarded.map((envelope) => envelope.jobId).sort()).toEqual(['order-a.0', 'order-a.1']);
    expect(forwarded.every((envelope) => envelope.correlationId === 'req-1')).toBe(true);
  });

  it('makes no AWS call on the success path without tables', async () => {
    // GIVEN clients that fail any call
    const queue = await createQueuePair(sqs);
    const failing = { send: () => Promise.reject(new Error('no network expected')) } as unknown as SQSClient;
    await sendBodies(sqs, queue.queueUrl, [job({ orderId: 'a', quantity: 1 })]);
    const event = await receiveEvent(sqs, queue, 1);
    const { run } = orders(queue, () => undefined, { clients: { sqs: failing } });
    // WHEN / THEN
    expect((await run(event, fakeContext())).batchItemFailures).toEqual([]);
  });

  it('writes one EMF document per batch with the outcome counts', async () => {
    const queue = await createQueuePair(sqs);
    const { run, lines } = orders(queue, () => undefined);
    await sendBodies(sqs, queue.queueUrl, [job({ orderId: 'a', quantity: 1 }), 'poison']);
    await run(await receiveEvent(sqs, queue, 2), fakeContext());
    const documents = lines.map((line) => JSON.parse(line)).filter((entry) => entry._aws);
    expect(documents).toHaveLength(1);
    expect(documents[0]).toMatchObject({ Stage: 'orders', Records: 2, Succeeded: 1, DeadLettered: 1, Retried: 0 });
    expect(documents[0].ProcessingTime).toHaveLength(1);
  });

  it('fails at module load if recordConcurrency is 0', () => {
    expect(() => consumer({ schema: Order, handler: () => undefined, recordConcurrency: 0 })).toThrow(
      /recordConcurrency must be an integer between 1 and 1000, but 0 was provided/,
    );
  });
});
