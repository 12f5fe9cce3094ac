import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { beforeAll, describe, expect, it } from 'vitest';
import * as z from 'zod';
import { DEFERRAL_ATTRIBUTES } from '../../functions/runtime/deferral.ts';
import { consumer } from '../../functions/runtime/index.ts';
import { type LimiterSettings, limiterKey, takeTokens } from '../../functions/runtime/rate-limiter.ts';
import { CONTROL_TABLE } from '../../lib/definition/index.ts';
import { LOCAL_CREDENTIALS } from '../../lib/local/engines.ts';
import { engineEndpoints, localDynamoClient, localSqsClient, uniqueName } from '../helpers/engines.ts';
import {
  createQueuePair,
  createTable,
  fakeContext,
  job,
  receive,
  receiveEvent,
  sendBodies,
} from '../helpers/runtime-fixture.ts';

let sqs: SQSClient;
let dynamo: DynamoDBClient;
let controlTable: string;
beforeAll(async () => {
  sqs = localSqsClient();
  dynamo = localDynamoClient();
  controlTable = await createTable(dynamo, CONTROL_TABLE);
});

/** A DynamoDB client of its own, as another container would have. */
function containerClient(): DynamoDBClient {
  const { dynamoEndpoint, region } = engineEndpoints();
  return new DynamoDBClient({ endpoint: dynamoEndpoint, region, credentials: LOCAL_CREDENTIALS });
}

/** Most grants with a timestamp in any window [t, t + w], over every grant t. */
function maxInWindow(grants: readonly number[], windowMs: number): number {
  const sorted = [...grants].sort((a, b) => a - b);
  let most = 0;
  let end = 0;
  for (let start = 0; start < sorted.length; start++) {
    while (end < sorted.length && (sorted[end] as number) <= (sorted[start] as number) + windowMs) end++;
    most = Math.max(most, end - start);
  }
  return most;
}

describe('shared rate limiter (token bucket on DynamoDB)', () => {
  it('never grants more than rate × window + burst over any window, to concurrent takers in several containers', async () => {
    // GIVEN 20 tokens per second (one per 50 ms), a burst of 5, and 4 containers × 4 concurrent takers
    const settings: LimiterSettings = { ratePerMinute: 1_200, burst: 5 };
    const key = limiterKey('test', uniqueName('bucket'));
    const grants: number[] = [];
    let refused = 0;
    const deadline = Date.now() + 2_500;
    const taker = async (client: DynamoDBClient) => {
      while (Date.now() < deadline) {
        const now = Date.now();
        const result = await takeTokens(client, controlTable, key, settings, 1, now, grants.length > 0);
        if (result.granted) {
          grants.push(now);
        } else {
          refused++;
          await new Promise((resolve) => setTimeout(resolve, Math.min(result.waitMs, 20)));
        }
      }
    };
    const clients = [containerClient(), containerClient(), containerClient(), containerClient()];
    // WHEN they all take as fast as they can
    await Promise.all(clients.flatMap((client) => [taker(client), taker(client), taker(client), taker(client)]));
    // THEN there was contention, and every sliding window stays within its bound
    expect(refused).toBeGreaterThan(0);
    expect(grants.length).toBeGreaterThan(settings.burst);
    for (const windowMs of [0, 10, 50, 100, 250, 500, 1_000, 2_000, 2_500]) {
      const bound = Math.floor((windowMs * settings.ratePerMinute) / 60_000) + settings.burst;
      expect(maxInWindow(grants, windowMs), `window ${windowMs} ms`).toBeLessThanOrEqual(bound);
    }
  });

  it('refills by elapsed time and says how long to wait when empty', async () => {
    // GIVEN a bucket of 3 tokens refilled at one per second, on a virtual clock
    const settings: LimiterSettings = { ratePerMinute: 60, burst: 3 };
    const key = limiterKey('test', uniqueName('bucket'));
    const take = (n: number, now: number) => takeTokens(dynamo, controlTable, key, settings, n, now);
    // WHEN the burst is taken at once
    expect(await take(3, 10_000)).toEqual({ granted: true });
    // THEN the next token is 1 s away
    expect(await take(1, 10_000)).toEqual({ granted: false, waitMs: 1_000 });
    expect(await take(1, 10_400)).toEqual({ granted: false, waitMs: 600 });
    // AND after 2 s two tokens are back, not three
    expect(await take(3, 12_000)).toEqual({ granted: false, waitMs: 1_000 });
    expect(await take(2, 12_000)).toEqual({ granted: true });
    // AND a long idle period refills to the burst, no more
    expect(await take(3, 100_000)).toEqual({ granted: true });
    expect((await take(1, 100_000)).granted).toBe(false);
  });

  it('defers the record through ctx.limiter(name).take() when the bucket stays empty, without spending its retry budget', async () => {
    // GIVEN a limiter of 1 token a minute shared by the stage
    const queue = await createQueuePair(sqs);
    const lines: string[] = [];
    let embedded = 0;
    const run = consumer({
      schema: z.strictObject({ text: z.string() }),
      stage: 'embed',
      pipeline: uniqueName('docs'),
      queueUrl: queue.queueUrl,
      clients: { sqs, dynamo },
      pressure: {
        controlTableName: controlTable,
        downstream: { embeddings: { ratePerMinute: 1, burst: 1 } },
        limiterMaxWaitMs: 100,
        deferral: { baseSeconds: 0, maxSeconds: 0 },
      },
      logSink: (line) => lines.push(line),
      handler: async (_job, ctx) => {
        await ctx.limiter('embeddings').take();
        embedded++;
      },
    });
    await sendBodies(sqs, queue.queueUrl, [job({ text: 'a' }), job({ text: 'b' })]);
    // WHEN two records want one token each
    const result = await run(await receiveEvent(sqs, queue, 2), fakeContext());
    // THEN one runs, the other is deferred (a first receive again, reason rate-limit), none failed
    expect(result.batchItemFailures).toEqual([]);
    expect(embedded).toBe(1);
    const [held] = await receive(sqs, queue.queueUrl, 1);
    expect(held?.Attributes?.ApproximateReceiveCount).toBe('1');
    expect(held?.MessageAttributes?.[DEFERRAL_ATTRIBUTES.reason]?.StringValue).toBe('rate-limit');
    expect(lines.some((line) => line.includes('"Reason":"rate-limit"') && line.includes('"Deferred":1'))).toBe(true);
  });

  it('fails if a take asks for more than the burst, or an undeclared limiter is used', async () => {
    const queue = await createQueuePair(sqs);
    const errors: string[] = [];
    const run = consumer({
      schema: z.strictObject({ text: z.string() }),
      stage: 'embed',
      queueUrl: queue.queueUrl,
      deadLetterQueueUrl: queue.deadLetterQueueUrl,
      clients: { sqs, dynamo },
      pressure: { controlTableName: controlTable, downstream: { embeddings: { ratePerMinute: 60, burst: 5 } } },
      logSink: (line) => errors.push(line),
      handler: async (data, ctx) => {
        if (data.text === 'big') await ctx.limiter('embeddings').take(6);
        else await ctx.limiter('vectors').take();
      },
    });
    await sendBodies(sqs, queue.queueUrl, [job({ text: 'big' }), job({ text: 'other' })]);
    await run(await receiveEvent(sqs, queue, 2), fakeContext());
    const text = errors.join('\n');
    expect(text).toMatch(
      /take\(n\) on rate limiter 'embeddings' needs n above 0 and at most its burst of 5, but 6 was provided/,
    );
    expect(text).toMatch(/Stage 'embed' has no rate limiter named 'vectors'; it has embeddings/);
  });

  it('fails if downstream limiters are declared without a control table or with a bad rate', () => {
    expect(() =>
      consumer({
        schema: z.strictObject({}),
        handler: () => undefined,
        pressure: { downstream: { embeddings: { ratePerMinute: 60 } } },
      }),
    ).toThrow(/downstream rate limiters need the control table: pass controlTableName or set SLUICE_CONTROL_TABLE/);
    expect(() =>
      consumer({
        schema: z.strictObject({}),
        handler: () => undefined,
        pressure: { controlTableName: 't', downstream: { Embeddings: { ratePerMinute: 0 } } },
      }),
    ).toThrow(
      /must match \[a-z\]\[a-z0-9-\]\*, but "Embeddings"[\s\S]*downstream.Embeddings.ratePerMinute must be a number above 0, but 0 was provided/,
    );
  });
});
