import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as z from 'zod';
import { DEAD_LETTER_ATTRIBUTES, definePipeline, SQS_LIMITS } from '../../lib/definition/index.ts';
import { type LocalPipeline, startLocalPipeline } from '../../lib/local/local-pipeline.ts';
import { engineEndpoints, uniqueName } from '../helpers/engines.ts';
import { receive } from '../helpers/runtime-fixture.ts';

const Order = z.strictObject({ orderId: z.string().min(1), quantity: z.int(), ms: z.int().optional() });

function ordersPipeline(depthLimit: number) {
  return definePipeline({
    name: 'orders',
    stages: [
      {
        name: 'take',
        queue: { maxReceiveCount: 3 },
        consumer: {
          entry: 'test/fixtures/handlers/slow-orders.ts',
          timeoutSeconds: 5,
          batchSize: 5,
          maxBatchingWindowSeconds: 0,
          maxConcurrency: 2,
        },
        flow: { ageSloSeconds: 60, depthLimit },
      },
    ],
    jobs: { enabled: true },
  });
}

const run = promisify(execFile);

async function post(url: string, body: unknown, headers: Record<string, string> = {}) {
  const response = await fetch(`${url}/jobs`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  return {
    status: response.status,
    headers: response.headers,
    body: (await response.json()) as Record<string, unknown>,
  };
}

async function until<T>(read: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value) || Date.now() > deadline) return value;
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('local pipeline end to end', () => {
  let local: LocalPipeline;
  beforeAll(async () => {
    const { sqsEndpoint, dynamoEndpoint, region } = engineEndpoints();
    local = await startLocalPipeline(ordersPipeline(1_000), {
      engines: { sqsEndpoint, dynamoEndpoint, region, kind: 'embedded', stop: async () => {} },
      prefix: uniqueName('e2e'),
      acceptSchema: Order,
    });
  });
  afterAll(() => local?.stop());

  it('accepts a job with 202, Location and a status URL, and the job completes', async () => {
    const accepted = await post(local.ingress.url, { orderId: 'o-1', quantity: 2 });
    expect(accepted.status).toBe(202);
    expect(accepted.body).toMatchObject({ status: 'accepted', jobId: expect.any(String) });
    expect(accepted.headers.get('location')).toBe(accepted.body.statusUrl);
    const job = await until(
      async () => (await fetch(accepted.body.statusUrl as string)).json() as Promise<{ status: string }>,
      (value) => value.status === 'completed',
    );
    expect(job.status).toBe('completed');
  });

  it('answers 400 naming the field for a body that does not match the schema, and enqueues nothing', async () => {
    const before = local.ingress.stats.accepted;
    const rejected = await post(local.ingress.url, { orderId: '', quantity: 'many' });
    expect(rejected.status).toBe(400);
    expect(rejected.body.message).toMatch(/orderId: .*; quantity: /);
    const extra = await post(local.ingress.url, { orderId: 'a', quantity: 1, colour: 'red' });
    expect(extra.status).toBe(400);
    expect(extra.body.message).toMatch(/must not have the field 'colour'/);
    expect(local.ingress.stats.accepted).toBe(before);
  });

  it('dead-letters a poison job with its reason, and its status says so', async () => {
    const accepted = await post(local.ingress.url, { orderId: 'o-bad', quantity: -1 });
    const job = await until(
      async () =>
        (await fetch(accepted.body.statusUrl as string)).json() as Promise<{
          status: string;
          lastError?: { message: string };
        }>,
      (value) => value.status === 'dead-lettered',
    );
    expect(job.lastError?.message).toMatch(/quantity must be positive/);
    const dlq = local.provisioned.stages.get('take')?.deadLetterQueueUrl as string;
    const [parked] = await receive(local.sqs, dlq, 1);
    expect(parked?.MessageAttributes?.[DEAD_LETTER_ATTRIBUTES.errorClass]?.StringValue).toBe('PermanentError');
  });

  it("gives the dead-letter queue SQS's maximum message size, as DurableQueue does", async () => {
    // A body near the source queue's limit plus the runtime's reason attributes must still fit the dead-letter queue;
    // SQS's maximum message size is 1 MiB (1,048,576 bytes):
    // https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/quotas-messages.html
    const stage = local.provisioned.stages.get('take');
    const attributes = async (queueUrl: string) =>
      (
        await local.sqs.send(
          new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['MaximumMessageSize'] }),
        )
      ).Attributes?.MaximumMessageSize;
    expect(await attributes(stage?.deadLetterQueueUrl as string)).toBe(String(SQS_LIMITS.maxMessageSizeBytes.max));
    expect(await attributes(stage?.queueUrl as string)).toBe(String(stage?.stage.queue.maxMessageSizeBytes));
  });

  it("processes a message that Debian's AWS CLI sends to the local SQS endpoint", async () => {
    // GIVEN /usr/bin/aws (Debian's awscli, query protocol) pointed at the local runtime's SQS endpoint
    const queueUrl = local.provisioned.stages.get('take')?.queueUrl as string;
    const body = JSON.stringify({ jobId: 'cli-job-1', schemaVersion: 1, data: { orderId: 'cli', quantity: 1 } });
    const env = {
      ...process.env,
      AWS_ACCESS_KEY_ID: 'local',
      AWS_SECRET_ACCESS_KEY: 'local',
      AWS_DEFAULT_REGION: engineEndpoints().region,
      AWS_PAGER: '',
    };
    // WHEN
    const { stdout } = await run(
      '/usr/bin/aws',
      [
        '--endpoint-url',
        local.sqsCliEndpoint as string,
        'sqs',
        'send-message',
        '--queue-url',
        queueUrl,
        '--message-body',
        body,
      ],
      { env },
    );
    // THEN the CLI got a message id, and the poller ran the job to completion
    expect(JSON.parse(stdout).MessageId).toEqual(expect.any(String));
    const job = await until(
      async () => (await fetch(`${local.ingress.url}/jobs/cli-job-1`)).json() as Promise<{ status?: string }>,
      (value) => value.status === 'completed',
    );
    expect(job.status).toBe('completed');
  });

  it('answers 200 unknown for a job id never issued, as the IngestApi does in direct mode (the default)', async () => {
    // GIVEN a definition without an ingress section: direct integration, whose status template answers 200 (jobStatusTemplate)
    // WHEN a job id that was never issued is read
    const response = await fetch(`${local.ingress.url}/jobs/never-issued`);
    // THEN the answer matches the deployed status route
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ jobId: 'never-issued', status: 'unknown' });
  });
});

describe('local pipeline under overload', () => {
  let local: LocalPipeline;
  beforeAll(async () => {
    const { sqsEndpoint, dynamoEndpoint, region } = engineEndpoints();
    local = await startLocalPipeline(ordersPipeline(20), {
      engines: { sqsEndpoint, dynamoEndpoint, region, kind: 'embedded', stop: async () => {} },
      prefix: uniqueName('overload'),
      acceptSchema: Order,
      burstLimit: 1_000,
      rateLimitPerSecond: 1_000,
    });
  });
  afterAll(() => local?.stop());

  it('sheds low priority past the soft limit and rejects everything past the hard limit, with 503 and Retry-After', async () => {
    // GIVEN a depth limit of 20 (soft limit 16) and slow jobs that keep the queue deep
    const depth = async () => {
      const queueUrl = local.provisioned.stages.get('take')?.queueUrl as string;
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
    const fill = async (count: number) => {
      for (let index = 0; index < count; index++)
        await post(local.ingress.url, { orderId: `slow-${index}`, quantity: 1, ms: 4_000 });
      await new Promise((r) => setTimeout(r, 1_100)); // past the depth cache TTL
    };
    // WHEN the depth is between the limits
    await fill(18);
    expect(await depth()).toBeGreaterThanOrEqual(16);
    const low = await post(local.ingress.url, { orderId: 'low', quantity: 1 }, { 'x-sluice-priority': 'low' });
    const high = await post(local.ingress.url, { orderId: 'high', quantity: 1 });
    // THEN low priority is shed and high priority admitted
    expect(low.status).toBe(503);
    expect(low.body.reason).toBe('shed-low-priority');
    expect(high.status).toBe(202);
    // WHEN the depth passes the hard limit
    await fill(5);
    expect(await depth()).toBeGreaterThanOrEqual(20);
    const rejected = await post(local.ingress.url, { orderId: 'high-2', quantity: 1 });
    // THEN even high priority is rejected with 503
    expect(rejected.status).toBe(503);
    expect(rejected.body.reason).toBe('over-hard-limit');
    for (const answer of [low, rejected]) {
      expect(answer.body).toMatchObject({ error: 'overloaded', retryAfterSeconds: expect.any(Number) });
      expect(Number(answer.headers.get('retry-after'))).toBe(answer.body.retryAfterSeconds);
    }
  });

  it('throttles with 429 past the token bucket', async () => {
    const { sqsEndpoint, dynamoEndpoint, region } = engineEndpoints();
    const throttled = await startLocalPipeline(ordersPipeline(1_000), {
      engines: { sqsEndpoint, dynamoEndpoint, region, kind: 'embedded', stop: async () => {} },
      prefix: uniqueName('throttle'),
      rateLimitPerSecond: 1,
      burstLimit: 2,
    });
    try {
      const statuses = [];
      for (let index = 0; index < 4; index++)
        statuses.push((await post(throttled.ingress.url, { orderId: `t${index}`, quantity: 1 })).status);
      expect(statuses.slice(0, 2)).toEqual([202, 202]);
      expect(statuses.slice(2)).toContain(429);
    } finally {
      await throttled.stop();
    }
  });
});
