import type { SQSClient } from '@aws-sdk/client-sqs';
import { beforeAll, describe, expect, it } from 'vitest';
import * as z from 'zod';
import { consumer, microBatcher, PoisonItemError, TransientError } from '../../functions/runtime/index.ts';
import { DEAD_LETTER_ATTRIBUTES } from '../../lib/definition/index.ts';
import { localSqsClient } from '../helpers/engines.ts';
import { createQueuePair, fakeContext, job, receive, receiveEvent, sendBodies } from '../helpers/runtime-fixture.ts';

/** An embedding stand-in: rejects a whole call that contains a poison text, like an API answering 400. */
function embeddingService(poison: ReadonlySet<string>) {
  const calls: number[] = [];
  const call = async (texts: string[]) => {
    calls.push(texts.length);
    if (texts.some((text) => poison.has(text))) throw new Error('400: input contains an unsupported token');
    return texts.map((text) => text.length);
  };
  return { call, calls };
}

/** Adds n items at once to a fresh batcher; returns the number of calls and which items failed. */
async function run(n: number, poison: readonly number[]) {
  const texts = Array.from({ length: n }, (_, index) => `text-${index}`);
  const service = embeddingService(new Set(poison.map((index) => texts[index] as string)));
  const batcher = microBatcher('embeddings', { maxItems: n, call: service.call });
  const outcomes = await Promise.allSettled(texts.map((text) => batcher.add(text)));
  const failed = outcomes.flatMap((outcome, index) => (outcome.status === 'rejected' ? [index] : []));
  const reasons = outcomes.flatMap((outcome) => (outcome.status === 'rejected' ? [outcome.reason] : []));
  const results = outcomes.flatMap((outcome) => (outcome.status === 'fulfilled' ? [outcome.value] : []));
  return { calls: batcher.calls, failed, reasons, results };
}

const log2Ceil = (n: number) => Math.ceil(Math.log2(n));

describe('micro-batcher: poison isolation by bisection', () => {
  it('isolates one poison item among 96, at every position, in at most ⌈log2 n⌉ + 1 calls after the failed one', async () => {
    const n = 96;
    const bound = 1 + log2Ceil(n) + 1; // the failed call, then ⌈log2 n⌉ + 1
    let most = 0;
    for (let position = 0; position < n; position++) {
      const { calls, failed, reasons, results } = await run(n, [position]);
      expect(failed).toEqual([position]);
      expect(reasons[0]).toBeInstanceOf(PoisonItemError);
      expect(results).toHaveLength(n - 1);
      expect(calls, `poison at ${position}`).toBeLessThanOrEqual(bound);
      most = Math.max(most, calls);
    }
    expect(bound).toBe(9);
    expect(most).toBe(9);
  });

  it('with two poison items among 96, isolates exactly both in at most 1 + 2 × (⌈log2 n⌉ + 1) calls', async () => {
    const n = 96;
    const bound = 1 + 2 * (log2Ceil(n) + 1);
    for (let first = 0; first < n; first++) {
      for (let second = first + 1; second < n; second++) {
        const { calls, failed } = await run(n, [first, second]);
        expect(failed).toEqual([first, second]);
        expect(calls).toBeLessThanOrEqual(bound);
      }
    }
  });

  it('makes one call when nothing is poisoned, and does not bisect a transient failure', async () => {
    expect((await run(96, [])).calls).toBe(1);
    const batcher = microBatcher('embeddings', {
      maxItems: 4,
      call: async () => {
        throw new TransientError('embedding service throttled (429)');
      },
    });
    const outcomes = await Promise.allSettled([1, 2, 3, 4].map((item) => batcher.add(item)));
    expect(batcher.calls).toBe(1);
    expect(outcomes.every((outcome) => outcome.status === 'rejected' && outcome.reason instanceof TransientError)).toBe(
      true,
    );
  });

  it('splits calls by maxItems and maxBytes, and flushes a partial call after maxWaitMs', async () => {
    const sizes: number[] = [];
    const batcher = microBatcher('embeddings', {
      maxItems: 3,
      maxBytes: 10,
      maxWaitMs: 5,
      sizeOf: (text: string) => text.length,
      call: async (texts: string[]) => {
        sizes.push(texts.length);
        return texts;
      },
    });
    // 7 one-byte items: calls of 3, 3 and (after the wait) 1; then two 6-byte items do not fit one 10-byte call
    await Promise.all(['a', 'b', 'c', 'd', 'e', 'f', 'g'].map((text) => batcher.add(text)));
    await Promise.all(['123456', 'abcdef'].map((text) => batcher.add(text)));
    expect(sizes).toEqual([3, 3, 1, 1, 1]);
  });

  it('fails only the item an array result marks as an Error', async () => {
    const batcher = microBatcher('embeddings', {
      maxItems: 3,
      call: async (texts: string[]) => texts.map((text) => (text === 'bad' ? new Error('too long') : text.length)),
    });
    const outcomes = await Promise.allSettled(['a', 'bad', 'ccc'].map((text) => batcher.add(text)));
    expect(outcomes.map((outcome) => outcome.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(batcher.calls).toBe(1);
  });
});

let sqs: SQSClient;
beforeAll(() => {
  sqs = localSqsClient();
});

describe('micro-batcher in the consumer: ctx.batch(name).add(item)', () => {
  it('gathers the items of 96 records into one call, and a poison item fails only its own record', async () => {
    // GIVEN 96 records, one of which carries a poison text
    const queue = await createQueuePair(sqs);
    const poison = 'text-37';
    const service = embeddingService(new Set([poison]));
    const embedded: number[] = [];
    const run = consumer({
      schema: z.strictObject({ text: z.string() }),
      stage: 'embed',
      queueUrl: queue.queueUrl,
      deadLetterQueueUrl: queue.deadLetterQueueUrl,
      clients: { sqs },
      recordConcurrency: 96,
      batchers: { embeddings: { maxItems: 96, maxWaitMs: 1_000, call: service.call } },
      logSink: () => undefined,
      handler: async (chunk, ctx) => {
        embedded.push(await ctx.batch<string, number>('embeddings').add(chunk.text));
      },
    });
    await sendBodies(
      sqs,
      queue.queueUrl,
      Array.from({ length: 96 }, (_, index) => job({ text: `text-${index}` })),
    );
    // WHEN the batch runs
    const result = await run(await receiveEvent(sqs, queue, 96), fakeContext());
    // THEN 95 records succeed, the poison one is dead-lettered with its reason, within ⌈log2 96⌉ + 2 calls
    expect(result.batchItemFailures).toEqual([]);
    expect(embedded).toHaveLength(95);
    expect(service.calls[0]).toBe(96);
    expect(service.calls.length).toBeLessThanOrEqual(9);
    const [parked] = await receive(sqs, queue.deadLetterQueueUrl, 1);
    expect(JSON.parse(parked?.Body ?? '{}').data.text).toBe(poison);
    expect(parked?.MessageAttributes?.[DEAD_LETTER_ATTRIBUTES.errorClass]?.StringValue).toBe('PoisonItemError');
    expect(parked?.MessageAttributes?.[DEAD_LETTER_ATTRIBUTES.errorMessage]?.StringValue).toMatch(/unsupported token/);
  });

  it('fails if a batcher is misconfigured, or an undeclared one is used', async () => {
    expect(() =>
      consumer({
        schema: z.strictObject({}),
        handler: () => undefined,
        batchers: { embeddings: { maxItems: 0, maxWaitMs: -1, call: async () => [] } },
      }),
    ).toThrow(
      /batchers.embeddings.maxItems must be an integer of at least 1, but 0[\s\S]*maxWaitMs must be between 0 and 60000, but -1/,
    );
  });
});
