import { resolve } from 'node:path';
import { GetQueueAttributesCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { LOCAL_CREDENTIALS } from '../../lib/local/engines.ts';
import { EventSourcePoller } from '../../lib/local/event-source-poller.ts';
import { LocalFunction } from '../../lib/local/local-function.ts';
import { engineEndpoints, localSqsClient } from '../helpers/engines.ts';
import { createQueuePair, type QueuePair, sendBodies } from '../helpers/runtime-fixture.ts';

let sqs: SQSClient;
const running: Array<{ poller: EventSourcePoller; fn: LocalFunction }> = [];
beforeAll(() => {
  sqs = localSqsClient();
});
afterEach(async () => {
  for (const { poller, fn } of running.splice(0)) {
    await poller.stop();
    await fn.stop();
  }
});

function mapping(
  queue: QueuePair,
  options: {
    batchSize?: number;
    window?: number;
    maxConcurrency?: number;
    reserved?: number;
    timeoutSeconds?: number;
  } = {},
) {
  const { region } = engineEndpoints();
  const fn = new LocalFunction({
    name: 'scripted',
    entry: resolve('test/fixtures/handlers/scripted.ts'),
    handlerName: 'handler',
    timeoutSeconds: options.timeoutSeconds ?? 10,
    memorySizeMiB: 256,
    reservedConcurrency: options.reserved ?? options.maxConcurrency ?? 5,
    environment: {
      AWS_REGION: region,
      AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
    },
  });
  const poller = new EventSourcePoller({
    sqs,
    queueUrl: queue.queueUrl,
    queueArn: queue.queueArn,
    region,
    batchSize: options.batchSize ?? 10,
    maxBatchingWindowSeconds: options.window ?? 0,
    maxConcurrency: options.maxConcurrency ?? 5,
    function: fn,
  });
  running.push({ poller, fn });
  poller.start();
  return { poller, fn };
}

async function depth(queue: QueuePair): Promise<{ visible: number; inFlight: number }> {
  const result = await sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: queue.queueUrl,
      AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
    }),
  );
  return {
    visible: Number(result.Attributes?.ApproximateNumberOfMessages),
    inFlight: Number(result.Attributes?.ApproximateNumberOfMessagesNotVisible),
  };
}

async function until(condition: () => boolean | Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) {
      throw new Error('condition not met in time');
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

const records = (mode: string, count: number, extra: Record<string, unknown> = {}) =>
  Array.from({ length: count }, () => JSON.stringify({ mode, ...extra }));

describe('event source poller', () => {
  it('deletes every record of a successful batch, never more than batchSize per invocation', async () => {
    const queue = await createQueuePair(sqs);
    const { poller } = mapping(queue, { batchSize: 4, window: 1 });
    await sendBodies(sqs, queue.queueUrl, records('ok', 20));
    await until(() => poller.stats.deleted === 20);
    expect(poller.stats.largestBatch).toBeLessThanOrEqual(4);
    expect(await depth(queue)).toEqual({ visible: 0, inFlight: 0 });
  });

  it('gathers records into one batch within the batching window', async () => {
    const queue = await createQueuePair(sqs);
    await sendBodies(sqs, queue.queueUrl, records('ok', 8));
    const { poller } = mapping(queue, { batchSize: 8, window: 2, maxConcurrency: 2 });
    await until(() => poller.stats.deleted === 8);
    expect(poller.stats.largestBatch).toBeGreaterThan(1);
  });

  it('deletes all but the records reported in batchItemFailures', async () => {
    const queue = await createQueuePair(sqs, { visibilityTimeoutSeconds: 60 });
    const { poller } = mapping(queue, { batchSize: 10, window: 1, maxConcurrency: 2 });
    await sendBodies(sqs, queue.queueUrl, [...records('ok', 3), ...records('fail', 2)]);
    await until(() => poller.stats.deleted + poller.stats.failedRecords >= 5);
    expect(poller.stats.deleted).toBe(3);
    expect(await depth(queue)).toEqual({ visible: 0, inFlight: 2 });
  });

  it('fails the whole batch when an itemIdentifier is not in it', async () => {
    const queue = await createQueuePair(sqs, { visibilityTimeoutSeconds: 60 });
    await sendBodies(sqs, queue.queueUrl, [...records('ok', 2), ...records('bad-id', 1)]);
    const { poller } = mapping(queue, { batchSize: 10, window: 2, maxConcurrency: 2 });
    await until(() => poller.stats.failedBatches >= 1);
    expect(poller.stats.deleted).toBe(0);
    expect((await depth(queue)).inFlight).toBe(3);
  });

  it('returns the whole batch to the queue when the handler throws', async () => {
    const queue = await createQueuePair(sqs, { visibilityTimeoutSeconds: 60 });
    await sendBodies(sqs, queue.queueUrl, [...records('ok', 2), ...records('throw', 1)]);
    const { poller, fn } = mapping(queue, { batchSize: 10, window: 2, maxConcurrency: 2 });
    await until(() => fn.stats.errors >= 1);
    expect(poller.stats.deleted).toBe(0);
    expect((await depth(queue)).inFlight).toBe(3);
  });

  it('abandons an invocation at the function timeout, deletes nothing, and redelivers after the visibility timeout', async () => {
    const queue = await createQueuePair(sqs, { visibilityTimeoutSeconds: 2 });
    await sendBodies(sqs, queue.queueUrl, records('sleep', 1, { ms: 5_000 }));
    const { poller, fn } = mapping(queue, { batchSize: 1, timeoutSeconds: 1, maxConcurrency: 2 });
    await until(() => fn.stats.timeouts >= 1);
    expect(poller.stats.deleted).toBe(0);
    // Received again after the 2 s visibility timeout.
    await until(() => poller.stats.received >= 2, 10_000);
  });

  it('runs no more batches at once than MaximumConcurrency', async () => {
    const queue = await createQueuePair(sqs);
    await sendBodies(sqs, queue.queueUrl, records('sleep', 12, { ms: 300 }));
    const { poller } = mapping(queue, { batchSize: 1, maxConcurrency: 3, reserved: 10 });
    await until(() => poller.stats.deleted === 12);
    expect(poller.stats.peakConcurrency).toBe(3);
  });

  it('is held to the function reserved concurrency when it is lower', async () => {
    const queue = await createQueuePair(sqs);
    await sendBodies(sqs, queue.queueUrl, records('sleep', 8, { ms: 300 }));
    const { poller } = mapping(queue, { batchSize: 1, maxConcurrency: 5, reserved: 2 });
    await until(() => poller.stats.deleted === 8);
    expect(poller.stats.peakConcurrency).toBe(2);
  });
});
