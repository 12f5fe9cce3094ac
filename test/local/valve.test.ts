import { resolve } from 'node:path';
import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { afterEach, describe, expect, it } from 'vitest';
import { lazyClients } from '../../functions/runtime/aws-clients.ts';
import { CircuitBreaker } from '../../functions/runtime/circuit-breaker.ts';
import { createLogger } from '../../functions/runtime/log.ts';
import { valvePass } from '../../functions/valve/valve.ts';
import { CONTROL_TABLE } from '../../lib/definition/index.ts';
import { LOCAL_CREDENTIALS } from '../../lib/local/engines.ts';
import { EventSourcePoller } from '../../lib/local/event-source-poller.ts';
import { LocalFunction } from '../../lib/local/local-function.ts';
import { localValvePorts } from '../../lib/local/local-valve.ts';
import { engineEndpoints, localDynamoClient, localSqsClient } from '../helpers/engines.ts';
import { createQueuePair, createTable, sendBodies } from '../helpers/runtime-fixture.ts';

const stops: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const stop of stops.splice(0)) await stop();
});

async function visibleDepth(sqs: ReturnType<typeof localSqsClient>, queueUrl: string): Promise<number> {
  const result = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['ApproximateNumberOfMessages'] }),
  );
  return Number(result.Attributes?.ApproximateNumberOfMessages ?? 0);
}

async function until(condition: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('the valve on the local event source poller', () => {
  it('goes open → paused → half-open → closed with the stage breaker, and a paused poller receives nothing', async () => {
    // GIVEN a poller on a queue, a breaker in a control table, and the local valve ports
    const sqs = localSqsClient();
    const dynamo = localDynamoClient();
    const { region } = engineEndpoints();
    const queue = await createQueuePair(sqs);
    const table = await createTable(dynamo, CONTROL_TABLE);
    const fn = new LocalFunction({
      name: 'valve-scripted',
      entry: resolve('test/fixtures/handlers/scripted.ts'),
      handlerName: 'handler',
      timeoutSeconds: 10,
      memorySizeMiB: 256,
      reservedConcurrency: 2,
      environment: { AWS_REGION: region, ...LOCAL_CREDENTIALS_ENV },
    });
    const poller = new EventSourcePoller({
      sqs,
      queueUrl: queue.queueUrl,
      queueArn: queue.queueArn,
      region,
      batchSize: 10,
      maxBatchingWindowSeconds: 0,
      maxConcurrency: 2,
      function: fn,
    });
    stops.push(async () => {
      await poller.stop();
      await fn.stop();
    });
    poller.start();
    const settings = { failureRatio: 0.5, windowSeconds: 30, minimumCalls: 4, openSeconds: 30, halfOpenProbes: 1 };
    let now = Date.now();
    const breaker = new CircuitBreaker({
      clients: lazyClients({ sqs, dynamo }),
      tableName: table,
      pipeline: 'docs',
      stage: 'embed',
      settings,
      clock: () => now,
      logger: createLogger({ stage: 'embed' }),
      cacheMs: 0,
    });
    const ports = localValvePorts({
      pipeline: 'docs',
      controlTableName: table,
      sqs,
      dynamo,
      pollersOf: () => [poller],
    });
    const stage = [{ stage: 'embed', openSeconds: settings.openSeconds }];

    // WHEN the breaker is closed: the valve leaves the poller on and it drains the queue
    const [closed] = await valvePass(stage, ports, now);
    await sendBodies(
      sqs,
      queue.queueUrl,
      Array.from({ length: 5 }, () => JSON.stringify({ mode: 'ok' })),
    );
    await until(async () => poller.stats.deleted >= 5);
    expect(closed?.decision).toEqual({ enabled: true, reason: 'flowing' });

    // WHEN failures open the breaker
    for (let call = 0; call < 4; call++) breaker.record(false);
    await breaker.flush();
    const [opened] = await valvePass(stage, ports, now);

    // THEN the poller is paused, and records sent now stay in the queue, received by no one
    expect(opened).toEqual({ stage: 'embed', decision: { enabled: false, reason: 'breaker-open' }, switched: true });
    expect(poller.enabled).toBe(false);
    await until(async () => poller.receiving === 0);
    const receivedBefore = poller.stats.received;
    await sendBodies(
      sqs,
      queue.queueUrl,
      Array.from({ length: 5 }, () => JSON.stringify({ mode: 'ok' })),
    );
    await until(async () => (await visibleDepth(sqs, queue.queueUrl)) === 5);
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(poller.stats.received).toBe(receivedBefore);
    expect(await visibleDepth(sqs, queue.queueUrl)).toBe(5);

    // WHEN the open time is over: half-open first, the poller resumes and the probe can run
    now += settings.openSeconds * 1000;
    const [halfOpen] = await valvePass(stage, ports, now);
    expect(halfOpen).toEqual({
      stage: 'embed',
      decision: { enabled: true, reason: 'breaker-half-open' },
      switched: true,
    });
    expect(poller.enabled).toBe(true);
    await until(async () => poller.stats.deleted >= 10);

    // WHEN the probe succeeds, the breaker closes and the valve keeps the poller on
    expect(await breaker.admit()).toBeUndefined();
    breaker.record(true);
    await breaker.flush();
    const [closedAgain] = await valvePass(stage, ports, now + 1);
    expect(closedAgain).toEqual({ stage: 'embed', decision: { enabled: true, reason: 'flowing' }, switched: false });
    expect(poller.stats.pauses).toBe(1);
  });
});

const LOCAL_CREDENTIALS_ENV = {
  AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
  AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
};
