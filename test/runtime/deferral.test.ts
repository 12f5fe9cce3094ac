import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { beforeAll, describe, expect, it } from 'vitest';
import * as z from 'zod';
import { DEFERRAL_ATTRIBUTES, deferralDelaySeconds } from '../../functions/runtime/deferral.ts';
import { consumer, DeferError, getJob } from '../../functions/runtime/index.ts';
import { DEAD_LETTER_ATTRIBUTES, IDEMPOTENCY_TABLE, JOB_TABLE } from '../../lib/definition/index.ts';
import { toSqsEvent } from '../../lib/local/sqs-records.ts';
import { engineEndpoints, localDynamoClient, localSqsClient } from '../helpers/engines.ts';
import {
  createQueuePair,
  createTable,
  fakeContext,
  job,
  receive,
  receiveEvent,
  sendBodies,
} from '../helpers/runtime-fixture.ts';

const Embed = z.strictObject({ text: z.string() });

let sqs: SQSClient;
let dynamo: DynamoDBClient;
let jobTable: string;
let idempotencyTable: string;
beforeAll(async () => {
  sqs = localSqsClient();
  dynamo = localDynamoClient();
  [jobTable, idempotencyTable] = await Promise.all([
    createTable(dynamo, JOB_TABLE),
    createTable(dynamo, IDEMPOTENCY_TABLE),
  ]);
});

describe('deferral: pressure never spends the retry budget', () => {
  it('a record deferred by pressure 20 times is neither dead-lettered nor counted as a retry', async () => {
    // GIVEN a queue that dead-letters after 3 receives, and a handler held back by pressure 20 times
    const queue = await createQueuePair(sqs, { maxReceiveCount: 3 });
    let runs = 0;
    const lines: string[] = [];
    const run = consumer({
      schema: Embed,
      stage: 'embed',
      queueUrl: queue.queueUrl,
      deadLetterQueueUrl: queue.deadLetterQueueUrl,
      maxReceiveCount: 3,
      clients: { sqs, dynamo },
      jobs: { tableName: jobTable },
      idempotency: { tableName: idempotencyTable },
      // No delay, so the test does not wait; the delay itself is SQS's DelaySeconds (tested by the pure function).
      pressure: { deferral: { baseSeconds: 0, maxSeconds: 0 } },
      logSink: (line) => lines.push(line),
      handler: () => {
        runs++;
        if (runs <= 20) throw new DeferError('rate-limit', 'embedding bucket empty');
      },
    });
    const jobId = `deferred-${Date.now()}`;
    await sendBodies(sqs, queue.queueUrl, [job({ text: 'hello' }, { jobId })]);

    // WHEN it is received and deferred 20 times
    for (let deferral = 1; deferral <= 20; deferral++) {
      const event = await receiveEvent(sqs, queue, 1);
      const record = event.Records[0];
      // THEN every delivery is a first receive, and carries the deferrals so far
      expect(record?.attributes.ApproximateReceiveCount).toBe('1');
      expect(record?.messageAttributes[DEFERRAL_ATTRIBUTES.count]?.stringValue).toBe(
        deferral === 1 ? undefined : String(deferral - 1),
      );
      expect((await run(event, fakeContext())).batchItemFailures).toEqual([]);
      expect(
        (await getJob(jobId, { tableName: jobTable, clients: { sqs: async () => sqs, dynamo: async () => dynamo } }))
          ?.state,
      ).not.toBe('failed');
    }

    // THEN the 21st delivery carries 20 deferrals and a reason, is still a first receive, and completes
    const last = await receiveEvent(sqs, queue, 1);
    const record = last.Records[0];
    expect(record?.messageAttributes[DEFERRAL_ATTRIBUTES.count]?.stringValue).toBe('20');
    expect(record?.messageAttributes[DEFERRAL_ATTRIBUTES.reason]?.stringValue).toBe('rate-limit');
    expect(record?.attributes.ApproximateReceiveCount).toBe('1');
    expect(JSON.parse(record?.body ?? '{}').jobId).toBe(jobId);
    expect((await run(last, fakeContext())).batchItemFailures).toEqual([]);
    expect(runs).toBe(21);
    expect(await receive(sqs, queue.deadLetterQueueUrl, 1, 1_500)).toEqual([]);
    const status = await getJob(jobId, {
      tableName: jobTable,
      clients: { sqs: async () => sqs, dynamo: async () => dynamo },
    });
    expect(status?.state).toBe('completed');
    // AND the deferrals were counted by reason in EMF
    const deferred = lines.filter((line) => line.includes('"Deferred"')).map((line) => JSON.parse(line));
    expect(deferred).toHaveLength(20);
    expect(deferred.every((document) => document.Reason === 'rate-limit' && document.Deferred === 1)).toBe(true);
  });

  it("keeps the record's own message attributes when it defers it", async () => {
    const queue = await createQueuePair(sqs);
    const run = consumer({
      schema: Embed,
      stage: 'embed',
      queueUrl: queue.queueUrl,
      clients: { sqs },
      pressure: { deferral: { baseSeconds: 0, maxSeconds: 0 } },
      logSink: () => undefined,
      handler: () => {
        throw new DeferError('handler', 'not now');
      },
    });
    const { SendMessageCommand } = await import('@aws-sdk/client-sqs');
    await sqs.send(
      new SendMessageCommand({
        QueueUrl: queue.queueUrl,
        MessageBody: job({ text: 'a' }),
        MessageAttributes: { tenant: { DataType: 'String', StringValue: 'acme' } },
      }),
    );
    await run(await receiveEvent(sqs, queue, 1), fakeContext());
    const [again] = await receive(sqs, queue.queueUrl, 1);
    expect(again?.MessageAttributes?.tenant?.StringValue).toBe('acme');
    expect(again?.MessageAttributes?.[DEFERRAL_ATTRIBUTES.count]?.StringValue).toBe('1');
  });

  it('dead-letters a record deferred more than maxDeferrals times, with the reason', async () => {
    const queue = await createQueuePair(sqs);
    const run = consumer({
      schema: Embed,
      stage: 'embed',
      queueUrl: queue.queueUrl,
      deadLetterQueueUrl: queue.deadLetterQueueUrl,
      clients: { sqs },
      pressure: { deferral: { baseSeconds: 0, maxSeconds: 0, maxDeferrals: 2 } },
      logSink: () => undefined,
      handler: () => {
        throw new DeferError('breaker-open', 'embedding service unhealthy');
      },
    });
    await sendBodies(sqs, queue.queueUrl, [job({ text: 'a' })]);
    for (let round = 0; round < 3; round++) {
      expect((await run(await receiveEvent(sqs, queue, 1), fakeContext())).batchItemFailures).toEqual([]);
    }
    const [parked] = await receive(sqs, queue.deadLetterQueueUrl, 1);
    expect(parked?.MessageAttributes?.[DEAD_LETTER_ATTRIBUTES.errorClass]?.StringValue).toBe(
      'DeferralLimitExceededError',
    );
    expect(parked?.MessageAttributes?.[DEAD_LETTER_ATTRIBUTES.errorMessage]?.StringValue).toMatch(
      /deferred 2 times \(last for breaker-open\)/,
    );
  });

  it('on FIFO falls back to a visibility change and keeps the group in order (FIFO has no per-message delay)', async () => {
    // GIVEN two records of one message group, the first held back by pressure
    const queue = await createQueuePair(sqs, { fifo: true });
    const seen: string[] = [];
    const run = consumer({
      schema: Embed,
      stage: 'embed',
      queueUrl: queue.queueUrl,
      clients: { sqs },
      pressure: { deferral: { baseSeconds: 0, maxSeconds: 0 } },
      logSink: () => undefined,
      handler: (data) => {
        seen.push(data.text);
        if (data.text === 'first') throw new DeferError('next-stage', 'next stage full');
      },
    });
    // fauxqs hands out one message per group per receive, so the batch is assembled from two FIFO queues (as in
    // consumer.test.ts), in the group's order.
    const other = await createQueuePair(sqs, { fifo: true });
    await sendBodies(sqs, queue.queueUrl, [job({ text: 'first' })], ['g']);
    await sendBodies(sqs, other.queueUrl, [job({ text: 'second' })], ['g']);
    const messages = [...(await receive(sqs, queue.queueUrl, 1)), ...(await receive(sqs, other.queueUrl, 1))];
    const event = toSqsEvent(messages, { queueArn: queue.queueArn, region: engineEndpoints().region });
    // WHEN the batch runs
    const result = await run(event, fakeContext());
    // THEN both are returned to the queue, and the second did not run before the first
    expect(result.batchItemFailures).toEqual(event.Records.map((record) => ({ itemIdentifier: record.messageId })));
    expect(seen).toEqual(['first']);
  });

  it('fails if deferral settings are out of range', () => {
    expect(() =>
      consumer({
        schema: Embed,
        handler: () => undefined,
        pressure: { deferral: { maxSeconds: 901, maxDeferrals: 0 } },
      }),
    ).toThrow(
      /deferral.maxSeconds must be between 0 and 900, but 901 was provided[\s\S]*deferral.maxDeferrals must be an integer of at least 1, but 0/,
    );
  });
});

describe('deferralDelaySeconds', () => {
  const settings = { baseSeconds: 2, maxSeconds: 60, maxDeferrals: 10 };
  it('grows with the deferrals, between half and all of the ceiling', () => {
    expect(deferralDelaySeconds(0, settings, undefined, () => 0)).toBe(1);
    expect(deferralDelaySeconds(0, settings, undefined, () => 1)).toBe(2);
    expect(deferralDelaySeconds(3, settings, undefined, () => 0)).toBe(8);
    expect(deferralDelaySeconds(3, settings, undefined, () => 1)).toBe(16);
  });
  it("never exceeds maxSeconds nor SQS's 900 s message timer", () => {
    expect(deferralDelaySeconds(40, settings, undefined, () => 1)).toBe(60);
    expect(deferralDelaySeconds(5, settings, 5_000, () => 1)).toBe(60);
    expect(deferralDelaySeconds(40, { ...settings, maxSeconds: 900 }, 5_000, () => 1)).toBe(900);
  });
  it('waits at least what the source of the pressure asks', () => {
    expect(deferralDelaySeconds(0, settings, 30, () => 0)).toBe(30);
  });
});
