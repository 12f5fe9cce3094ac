import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { PutItemCommand } from '@aws-sdk/client-dynamodb';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { beforeAll, describe, expect, it } from 'vitest';
import * as z from 'zod';
import { lazyClients } from '../../functions/runtime/aws-clients.ts';
import { consumer, getJob, PermanentError, TransientError } from '../../functions/runtime/index.ts';
import { recordTransition } from '../../functions/runtime/job-status.ts';
import { IDEMPOTENCY_TABLE, JOB_TABLE } from '../../lib/definition/index.ts';
import { localDynamoClient, localSqsClient } from '../helpers/engines.ts';
import {
  counter,
  createQueuePair,
  createTable,
  fakeContext,
  increment,
  job,
  receiveEvent,
  sendBodies,
} from '../helpers/runtime-fixture.ts';

const Payment = z.strictObject({ paymentId: z.string() });

let sqs: SQSClient;
let dynamo: DynamoDBClient;
let idempotencyTable: string;
let jobTable: string;
let counterTable: string;
beforeAll(async () => {
  sqs = localSqsClient();
  dynamo = localDynamoClient();
  [idempotencyTable, jobTable, counterTable] = await Promise.all([
    createTable(dynamo, IDEMPOTENCY_TABLE),
    createTable(dynamo, JOB_TABLE),
    createTable(dynamo, { partitionKey: 'id', ttlAttribute: 'expiresAt' }),
  ]);
});

/** A consumer whose side effect increments a counter in DynamoDB after a delay. */
function payments(
  queueUrls: { queueUrl: string; deadLetterQueueUrl: string },
  delayMs = 0,
  fail?: () => Error | undefined,
) {
  return consumer({
    schema: Payment,
    stage: 'charge',
    queueUrl: queueUrls.queueUrl,
    deadLetterQueueUrl: queueUrls.deadLetterQueueUrl,
    clients: { sqs, dynamo },
    idempotency: { tableName: idempotencyTable },
    jobs: { tableName: jobTable },
    backoff: { baseSeconds: 1, maxSeconds: 1 },
    logSink: () => undefined,
    handler: async (payment) => {
      await new Promise((resolve) => setTimeout(resolve, delayMs));
      const error = fail?.();
      if (error) {
        throw error;
      }
      await increment(dynamo, counterTable, payment.paymentId, 'id');
    },
  });
}

describe('idempotency', () => {
  it('runs the side effect once for two concurrent deliveries of one message', async () => {
    // GIVEN one message, delivered twice at the same time (the same record in two invocations)
    const queue = await createQueuePair(sqs);
    const paymentId = `p-${Date.now()}-concurrent`;
    await sendBodies(sqs, queue.queueUrl, [job({ paymentId })]);
    const event = await receiveEvent(sqs, queue, 1);
    const handler = payments(queue, 200);
    // WHEN
    const [first, second] = await Promise.all([handler(event, fakeContext()), handler(event, fakeContext())]);
    // THEN one ran it, the other was told to retry later without running
    expect(await counter(dynamo, counterTable, paymentId, 'id')).toBe(1);
    expect(first.batchItemFailures.length + second.batchItemFailures.length).toBe(1);
    // AND a later redelivery is recognised as a duplicate of a completed job
    expect((await handler(event, fakeContext())).batchItemFailures).toEqual([]);
    expect(await counter(dynamo, counterTable, paymentId, 'id')).toBe(1);
  });

  it('lets a new delivery take over the key of a crashed owner once its lease ended', async () => {
    // GIVEN an in-progress claim whose owner crashed and whose lease ended a second ago
    const queue = await createQueuePair(sqs);
    const paymentId = `p-${Date.now()}-crashed`;
    const body = job({ paymentId }, { jobId: `job-${paymentId}` });
    await dynamo.send(
      new PutItemCommand({
        TableName: idempotencyTable,
        Item: {
          id: { S: `charge#job-${paymentId}` },
          status: { S: 'in-progress' },
          owner: { S: 'crashed-owner' },
          leaseExpiresAt: { N: String(Date.now() - 1_000) },
        },
      }),
    );
    await sendBodies(sqs, queue.queueUrl, [body]);
    // WHEN
    const result = await payments(queue)(await receiveEvent(sqs, queue, 1), fakeContext());
    // THEN
    expect(result.batchItemFailures).toEqual([]);
    expect(await counter(dynamo, counterTable, paymentId, 'id')).toBe(1);
  });

  it('does not run a job whose key another owner holds under a live lease', async () => {
    const queue = await createQueuePair(sqs);
    const paymentId = `p-${Date.now()}-live`;
    await dynamo.send(
      new PutItemCommand({
        TableName: idempotencyTable,
        Item: {
          id: { S: `charge#job-${paymentId}` },
          status: { S: 'in-progress' },
          owner: { S: 'live-owner' },
          leaseExpiresAt: { N: String(Date.now() + 60_000) },
        },
      }),
    );
    await sendBodies(sqs, queue.queueUrl, [job({ paymentId }, { jobId: `job-${paymentId}` })]);
    const result = await payments(queue)(await receiveEvent(sqs, queue, 1), fakeContext());
    expect(result.batchItemFailures).toHaveLength(1);
    expect(await counter(dynamo, counterTable, paymentId, 'id')).toBe(0);
  });

  it('releases the key after a failed attempt so the retry runs', async () => {
    const queue = await createQueuePair(sqs);
    const paymentId = `p-${Date.now()}-retry`;
    let attempts = 0;
    const handler = payments(queue, 0, () => (++attempts === 1 ? new TransientError('gateway timeout') : undefined));
    await sendBodies(sqs, queue.queueUrl, [job({ paymentId })]);
    expect((await handler(await receiveEvent(sqs, queue, 1), fakeContext())).batchItemFailures).toHaveLength(1);
    expect((await handler(await receiveEvent(sqs, queue, 1), fakeContext())).batchItemFailures).toEqual([]);
    expect(await counter(dynamo, counterTable, paymentId, 'id')).toBe(1);
  });
});

describe('job status', () => {
  it('records processing then completed, with attempts and timestamps', async () => {
    const queue = await createQueuePair(sqs);
    const jobId = `job-${Date.now()}-ok`;
    await sendBodies(sqs, queue.queueUrl, [
      job({ paymentId: jobId }, { jobId, correlationId: 'req-9', acceptedAt: 1_000 }),
    ]);
    await payments(queue)(await receiveEvent(sqs, queue, 1), fakeContext());
    const record = await getJob(jobId, { tableName: jobTable, clients: lazyClients({ dynamo }) });
    expect(record).toMatchObject({
      jobId,
      state: 'completed',
      stage: 'charge',
      attempts: 1,
      correlationId: 'req-9',
      acceptedAt: 1_000,
    });
    expect(record?.completedAt).toBeGreaterThanOrEqual(record?.startedAt ?? Number.POSITIVE_INFINITY);
  });

  it('records dead-lettered with the last error', async () => {
    const queue = await createQueuePair(sqs);
    const jobId = `job-${Date.now()}-dead`;
    await sendBodies(sqs, queue.queueUrl, [job({ paymentId: jobId }, { jobId })]);
    await payments(
      queue,
      0,
      () => new PermanentError('card expired'),
    )(await receiveEvent(sqs, queue, 1), fakeContext());
    const record = await getJob(jobId, { tableName: jobTable, clients: lazyClients({ dynamo }) });
    expect(record).toMatchObject({
      state: 'dead-lettered',
      lastError: { class: 'PermanentError', message: 'card expired' },
    });
  });

  it('never moves a completed job backwards', async () => {
    const store = { tableName: jobTable, ttlDays: 1, clients: lazyClients({ dynamo }) };
    const jobId = `job-${Date.now()}-final`;
    expect(await recordTransition(store, { jobId, state: 'completed', stage: 'charge' })).toBe(true);
    expect(await recordTransition(store, { jobId, state: 'processing', stage: 'charge' })).toBe(false);
    expect((await getJob(jobId, { tableName: jobTable, clients: store.clients }))?.state).toBe('completed');
  });

  it('returns undefined for a job it has no record of', async () => {
    expect(await getJob('never-issued', { tableName: jobTable, clients: lazyClients({ dynamo }) })).toBeUndefined();
  });
});
