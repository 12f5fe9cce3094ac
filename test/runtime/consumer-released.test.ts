import { type DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { beforeAll, describe, expect, it } from 'vitest';
import * as z from 'zod';
import { lazyClients } from '../../functions/runtime/aws-clients.ts';
import { consumer, getJob } from '../../functions/runtime/index.ts';
import { recordTransition } from '../../functions/runtime/job-status.ts';
import { IDEMPOTENCY_TABLE, JOB_TABLE } from '../../lib/definition/index.ts';
import { localDynamoClient, localSqsClient } from '../helpers/engines.ts';
import {
  createQueuePair,
  createTable,
  fakeContext,
  job,
  type QueuePair,
  receive,
  receiveEvent,
  sendBodies,
} from '../helpers/runtime-fixture.ts';

// SQS moves a message to the dead-letter queue once its receive count exceeds the redrive policy's maxReceiveCount
// (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-dead-letter-queues.html). A record
// that never ran is not a failure: on its last allowed receive it must neither be dead-lettered nor marked so.

const Task = z.strictObject({ taskId: z.string() });

let sqs: SQSClient;
let dynamo: DynamoDBClient;
let idempotencyTable: string;
let jobTable: string;
beforeAll(async () => {
  sqs = localSqsClient();
  dynamo = localDynamoClient();
  [idempotencyTable, jobTable] = await Promise.all([
    createTable(dynamo, IDEMPOTENCY_TABLE),
    createTable(dynamo, JOB_TABLE),
  ]);
});

function tasks(queue: QueuePair, ran: string[]) {
  return consumer({
    schema: Task,
    stage: 'tasks',
    queueUrl: queue.queueUrl,
    deadLetterQueueUrl: queue.deadLetterQueueUrl,
    clients: { sqs, dynamo },
    idempotency: { tableName: idempotencyTable },
    jobs: { tableName: jobTable },
    maxReceiveCount: 1,
    timeoutMarginMs: 2_000,
    logSink: () => undefined,
    handler: (task) => void ran.push(task.taskId),
  });
}

const readJob = (jobId: string) => getJob(jobId, { tableName: jobTable, clients: lazyClients({ dynamo }) });

describe('consumer: records that did not run, on their last allowed receive', () => {
  it('sends a record released for the timeout margin back as a new message, not to the dead-letter queue', async () => {
    // GIVEN a record on its last allowed receive and an invocation with 1 s left under a 2 s margin
    const queue = await createQueuePair(sqs, { maxReceiveCount: 1 });
    const jobId = `job-${Date.now()}-margin`;
    const body = job({ taskId: 't' }, { jobId });
    await sendBodies(sqs, queue.queueUrl, [body]);
    const ran: string[] = [];
    // WHEN
    const result = await tasks(queue, ran)(await receiveEvent(sqs, queue, 1), fakeContext(1_000));
    // THEN it did not run, the received copy is done, and a fresh copy (receive count 1 again) is on the queue
    expect(ran).toEqual([]);
    expect(result.batchItemFailures).toEqual([]);
    const [again] = await receive(sqs, queue.queueUrl, 1);
    expect(again?.Body).toBe(body);
    expect(again?.Attributes?.ApproximateReceiveCount).toBe('1');
    // AND nothing was dead-lettered or marked so
    expect(await receive(sqs, queue.deadLetterQueueUrl, 1, 1_000)).toEqual([]);
    expect(await readJob(jobId)).toBeUndefined();
  });

  it('lets the owner of a job in progress elsewhere complete it when a duplicate reaches its last receive', async () => {
    // GIVEN another delivery that holds the job's idempotency lease for a minute
    const queue = await createQueuePair(sqs, { maxReceiveCount: 1 });
    const jobId = `job-${Date.now()}-owner`;
    await dynamo.send(
      new PutItemCommand({
        TableName: idempotencyTable,
        Item: {
          id: { S: `tasks#${jobId}` },
          status: { S: 'in-progress' },
          owner: { S: 'real-owner' },
          leaseExpiresAt: { N: String(Date.now() + 60_000) },
        },
      }),
    );
    await recordTransition(
      { tableName: jobTable, ttlDays: 1, clients: lazyClients({ dynamo }) },
      { jobId, state: 'processing', stage: 'tasks' },
    );
    await sendBodies(sqs, queue.queueUrl, [job({ taskId: 't' }, { jobId })]);
    const ran: string[] = [];
    // WHEN a duplicate delivery arrives on its last allowed receive
    const result = await tasks(queue, ran)(await receiveEvent(sqs, queue, 1), fakeContext());
    // THEN it did not run, was not dead-lettered, and the real owner can still record completed
    expect(ran).toEqual([]);
    expect(result.batchItemFailures).toEqual([]);
    expect(await receive(sqs, queue.deadLetterQueueUrl, 1, 1_000)).toEqual([]);
    const completed = await recordTransition(
      { tableName: jobTable, ttlDays: 1, clients: lazyClients({ dynamo }) },
      { jobId, state: 'completed', stage: 'tasks' },
    );
    expect(completed).toBe(true);
    expect((await readJob(jobId))?.state).toBe('completed');
  });

  it('releases a FIFO record in place (no dead letter, no new message behind its group)', async () => {
    // GIVEN a FIFO record on its last allowed receive and an invocation short of time
    const queue = await createQueuePair(sqs, { fifo: true, maxReceiveCount: 1 });
    const jobId = `job-${Date.now()}-fifo`;
    await sendBodies(sqs, queue.queueUrl, [job({ taskId: 't' }, { jobId })], ['g1']);
    const event = await receiveEvent(sqs, queue, 1);
    const ran: string[] = [];
    // WHEN
    const result = await tasks(queue, ran)(event, fakeContext(1_000));
    // THEN it is handed back to SQS unrun and nothing was dead-lettered or marked so
    expect(ran).toEqual([]);
    expect(result.batchItemFailures).toEqual([{ itemIdentifier: event.Records[0]?.messageId }]);
    expect(await receive(sqs, queue.deadLetterQueueUrl, 1, 1_000)).toEqual([]);
    expect(await readJob(jobId)).toBeUndefined();
  });
});
