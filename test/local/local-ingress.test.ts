import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as z from 'zod';
import { definePipeline } from '../../lib/definition/index.ts';
import { type LocalPipeline, startLocalPipeline } from '../../lib/local/local-pipeline.ts';
import { engineEndpoints, uniqueName } from '../helpers/engines.ts';

const Order = z.strictObject({ orderId: z.string().min(1), quantity: z.int(), ms: z.int().optional() });

/** One slow stage behind an ingress with two clients, priority lanes and the buffer overload policy. */
const pipeline = definePipeline({
  name: 'shop',
  stages: [
    {
      name: 'take',
      consumer: {
        entry: 'test/fixtures/handlers/slow-orders.ts',
        timeoutSeconds: 10,
        batchSize: 5,
        maxBatchingWindowSeconds: 0,
        maxConcurrency: 2,
      },
      flow: { ageSloSeconds: 60, depthLimit: 10 },
    },
  ],
  jobs: { enabled: true },
  ingress: {
    clients: [
      { name: 'web', rateLimitPerSecond: 1_000, burstLimit: 1_000 },
      { name: 'batch', rateLimitPerSecond: 1_000, burstLimit: 1_000, quota: { limit: 2, period: 'DAY' } },
    ],
    backpressure: { softLimit: 6, hardLimit: 10, overload: 'buffer', depthCacheTtlSeconds: 0.1 },
    overflow: { lowWatermark: 2, drainRatePerSecond: 50 },
    priority: { enabled: true, lowLaneMaxConcurrency: 2 },
  },
});

describe('local ingress with clients, priority lanes and the overflow buffer', () => {
  let local: LocalPipeline;
  beforeAll(async () => {
    const { sqsEndpoint, dynamoEndpoint, region } = engineEndpoints();
    local = await startLocalPipeline(pipeline, {
      engines: { sqsEndpoint, dynamoEndpoint, region, kind: 'embedded', stop: async () => {} },
      prefix: uniqueName('shop'),
      acceptSchema: Order,
    });
  });
  afterAll(() => local?.stop());

  const post = async (body: unknown, headers: Record<string, string> = {}) => {
    const response = await fetch(`${local.ingress.url}/jobs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };
  const depth = async (queueUrl: string) => {
    const result = await local.sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl: queueUrl,
        AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
      }),
    );
    return (
      Number(result.Attributes?.ApproximateNumberOfMessages) +
      Number(result.Attributes?.ApproximateNumberOfMessagesNotVisible)
    );
  };

  it('answers 403 without a known API key, as API Gateway does for a usage plan', async () => {
    expect((await post({ orderId: 'a', quantity: 1 })).status).toBe(403);
    expect((await post({ orderId: 'a', quantity: 1 }, { 'x-api-key': 'stolen' })).status).toBe(403);
  });

  it('answers 429 quota_exceeded once a client has used its quota', async () => {
    const key = { 'x-api-key': local.ingress.apiKeys.batch as string };
    expect((await post({ orderId: 'q1', quantity: 1 }, key)).status).toBe(202);
    expect((await post({ orderId: 'q2', quantity: 1 }, key)).status).toBe(202);
    const third = await post({ orderId: 'q3', quantity: 1 }, key);
    expect(third.status).toBe(429);
    expect(third.body.error).toBe('quota_exceeded');
  });

  it('routes low-priority requests to the low lane, whose own consumer completes them', async () => {
    const key = { 'x-api-key': local.ingress.apiKeys.web as string };
    const accepted = await post({ orderId: 'low-1', quantity: 1 }, { ...key, 'x-sluice-priority': 'low' });
    expect(accepted.status).toBe(202);
    const deadline = Date.now() + 15_000;
    let status = '';
    while (status !== 'completed' && Date.now() < deadline) {
      status = ((await (await fetch(accepted.body.statusUrl as string)).json()) as { status: string }).status;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(status).toBe('completed');
    expect(local.pollers.get('take-low')?.stats.deleted).toBeGreaterThanOrEqual(1);
  });

  it('parks requests over the hard limit on the overflow queue, and the drainer brings them back', async () => {
    // GIVEN the stage past its hard limit of 10 with slow jobs
    const key = { 'x-api-key': local.ingress.apiKeys.web as string };
    for (let index = 0; index < 14; index++) await post({ orderId: `slow-${index}`, quantity: 1, ms: 1_500 }, key);
    await new Promise((resolve) => setTimeout(resolve, 200));
    // WHEN more arrive
    const parked = await post({ orderId: 'parked', quantity: 1 }, key);
    // THEN they are accepted into the overflow queue
    expect(parked.status).toBe(202);
    expect(local.ingress.stats.buffered).toBeGreaterThan(0);
    const overflowUrl = local.provisioned.ingress?.overflowQueueUrl as string;
    expect(await depth(overflowUrl)).toBeGreaterThan(0);
    // AND once the stage drains below its low watermark the drainer moves them back and they complete
    const deadline = Date.now() + 60_000;
    let status = '';
    while (status !== 'completed' && Date.now() < deadline) {
      status = ((await (await fetch(parked.body.statusUrl as string)).json()) as { status: string }).status;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    expect(status).toBe('completed');
    expect(await depth(overflowUrl)).toBe(0);
  }, 90_000);
});
