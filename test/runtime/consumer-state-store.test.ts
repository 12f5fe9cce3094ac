import { type DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { beforeAll, describe, expect, it } from 'vitest';
import * as z from 'zod';
import { lazyClients } from '../../functions/runtime/aws-clients.ts';
import { consumer, getJob, TransientError } from '../../functions/runtime/index.ts';
import { DEAD_LETTER_ATTRIBUTES, IDEMPOTENCY_TABLE, JOB_TABLE } from '../../lib/definition/index.ts';
import { localDynamoClient, localSqsClient } from '../helpers/engines.ts';
import {
  createQueuePair,
  createTable,
  fakeContext,
  job,
  receive,
  receiveEvent,
  sendBodies,
} from '../helpers/runtime-fixture.ts';

// A bad record is a per-record failure, never a failed batch: with ReportBatchItemFailures, a function error fails
// (and retries) every record of the batch
// (https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html). So a DynamoDB error in the runtime's
// own bookkeeping fails only the record it was for, as a transient failure.

const Payment = z.strictObject({ paymentId: z.string() });

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

interface Command {
  readonly constructor: { readonly name: string };
  readonly input: Record<string, unknown>;
}

/** The engine's DynamoDB, except for the commands `fails` picks, which answer 503 ServiceUnavailable. */
function failingDynamo(fails: (command: Command) => boolean): DynamoDBClient {
  return {
    send: (command: Command) =>
      fails(command)
        ? Promise.reject(
            Object.assign(new Error('Service Unavailable'), {
              name: 'ServiceUnavailable',
              $metadata: { httpStatusCode: 503 },
            }),
          )
        : dynamo.send(command as never),
  } as unknown as DynamoDBClient;
}

function payments(
  queue: { queueUrl: string; deadLetterQueueUrl: string },
  ran: string[],
  options: { dynamo?: DynamoDBClient; jobTable?: string; fail?: boolean } = {},
) {
  return consumer({
    schema: Payment,
    stage: 'charge',
    queueUrl: queue.queueUrl,
    deadLetterQueueUrl: queue.deadLetterQueueUrl,
    clients: { sqs, dynamo: options.dynamo ?? dynamo },
    idempotency: { tableName: idempotencyTable },
    jobs: { tableName: options.jobTable ?? jobTable },
    backoff: { baseSeconds: 0, maxSeconds: 0 },
    logSink: () => undefined,
    handler: (payment) => {
      ran.push(payment.paymentId);
      if (options.fail) throw new TransientError('gateway timeout');
    },
  });
}

async function idempotencyItem(jobId: string) {
  const result = await dynamo.send(
    new GetItemCommand({ TableName: idempotencyTable, Key: { id: { S: `charge#${jobId}` } }, ConsistentRead: true }),
  );
  return result.Item;
}

describe('consumer: DynamoDB errors of its own bookkeeping', () => {
  it('retries only the record whose idempotency claim failed; the others run', async () => {
    // GIVEN two payments, and DynamoDB failing the claim of the first one's key
    const queue = await createQueuePair(sqs);
    const broken = `job-${Date.now()}-claim`;
    await sendBodies(sqs, queue.queueUrl, [
      job({ paymentId: 'broken' }, { jobId: broken }),
      job({ paymentId: 'fine' }),
    ]);
    const event = await receiveEvent(sqs, queue, 2);
    const ran: string[] = [];
    const dynamoFailingClaim = failingDynamo(
      (command) =>
        command.constructor.name === 'PutItemCommand' &&
        (command.input.Item as Record<string, { S?: string }>).id?.S === `charge#${broken}`,
    );
    // WHEN
    const result = await payments(queue, ran, { dynamo: dynamoFailingClaim })(event, fakeContext());
    // THEN the batch resolved: the broken one is retried unrun, the other ran
    const brokenMessageId = event.Records.find((record) => record.body.includes(broken))?.messageId;
    expect(result.batchItemFailures).toEqual([{ itemIdentifier: brokenMessageId }]);
    expect(ran).toEqual(['fine']);
  });

  it('dead-letters on its last allowed receive with the DynamoDB error as its reason, which says nothing of a retry', async () => {
    // GIVEN a payment on its last allowed receive (maxReceiveCount 5), and DynamoDB failing every idempotency claim
    const queue = await createQueuePair(sqs);
    const jobId = `job-${Date.now()}-last`;
    await sendBodies(sqs, queue.queueUrl, [job({ paymentId: 'last' }, { jobId })]);
    const event = await receiveEvent(sqs, queue, 1);
    for (const record of event.Records) record.attributes.ApproximateReceiveCount = '5';
    const ran: string[] = [];
    const dynamoFailingClaims = failingDynamo((command) => command.constructor.name === 'PutItemCommand');
    // WHEN
    const result = await payments(queue, ran, { dynamo: dynamoFailingClaims })(event, fakeContext());
    // THEN it is parked with its reason, unrun
    expect(result.batchItemFailures).toEqual([]);
    expect(ran).toEqual([]);
    const [parked] = await receive(sqs, queue.deadLetterQueueUrl, 1);
    const reason = parked?.MessageAttributes?.[DEAD_LETTER_ATTRIBUTES.errorMessage]?.StringValue;
    expect(reason).toMatch(
      /^Could not claim the idempotency key in DynamoDB \(ServiceUnavailable: Service Unavailable\)/,
    );
    expect(reason).not.toMatch(/retried/);
  });

  it('retries a record whose processing status cannot be written (missing job table), unrun and with its key released', async () => {
    // GIVEN a job table that does not exist (DynamoDB answers ResourceNotFoundException, a 4xx)
    const queue = await createQueuePair(sqs);
    const jobId = `job-${Date.now()}-missing-table`;
    await sendBodies(sqs, queue.queueUrl, [job({ paymentId: 'p' }, { jobId })]);
    const ran: string[] = [];
    // WHEN
    const result = await payments(queue, ran, { jobTable: 'no-such-table' })(
      await receiveEvent(sqs, queue, 1),
      fakeContext(),
    );
    // THEN it is retried (not dead-lettered as a permanent 4xx), did not run, and left no claim behind
    expect(result.batchItemFailures).toHaveLength(1);
    expect(ran).toEqual([]);
    expect(await idempotencyItem(jobId)).toBeUndefined();
    expect(await receive(sqs, queue.deadLetterQueueUrl, 1, 1_000)).toEqual([]);
  });

  it('keeps a failed release of the idempotency key a per-record failure', async () => {
    // GIVEN a handler that fails, and DynamoDB failing the release of the key
    const queue = await createQueuePair(sqs);
    await sendBodies(sqs, queue.queueUrl, [job({ paymentId: 'p' })]);
    const ran: string[] = [];
    const dynamoFailingRelease = failingDynamo((command) => command.constructor.name === 'DeleteItemCommand');
    // WHEN
    const result = await payments(queue, ran, { dynamo: dynamoFailingRelease, fail: true })(
      await receiveEvent(sqs, queue, 1),
      fakeContext(),
    );
    // THEN
    expect(ran).toEqual(['p']);
    expect(result.batchItemFailures).toHaveLength(1);
  });

  it('repairs the status on the next delivery when writing completed failed after the key completed', async () => {
    // GIVEN DynamoDB failing the first `completed` write of the job table
    const queue = await createQueuePair(sqs);
    const jobId = `job-${Date.now()}-repair`;
    await sendBodies(sqs, queue.queueUrl, [job({ paymentId: 'p' }, { jobId })]);
    const event = await receiveEvent(sqs, queue, 1);
    let failedWrites = 0;
    const dynamoFailingCompleted = failingDynamo((command) => {
      const values = command.input.ExpressionAttributeValues as Record<string, { S?: string }> | undefined;
      const fails = command.input.TableName === jobTable && values?.[':state']?.S === 'completed' && failedWrites === 0;
      if (fails) failedWrites++;
      return fails;
    });
    const ran: string[] = [];
    const handler = payments(queue, ran, { dynamo: dynamoFailingCompleted });
    const readJob = () => getJob(jobId, { tableName: jobTable, clients: lazyClients({ dynamo }) });

    // WHEN the first delivery runs the job but cannot write `completed`
    const first = await handler(event, fakeContext());
    // THEN the record is handed back and the job reads `processing`
    expect(first.batchItemFailures).toHaveLength(1);
    expect((await readJob())?.state).toBe('processing');

    // WHEN it is delivered again
    const second = await handler(event, fakeContext());
    // THEN it is skipped as a completed duplicate (the handler ran once) and the status is repaired
    expect(second.batchItemFailures).toEqual([]);
    expect(ran).toEqual(['p']);
    expect((await readJob())?.state).toBe('completed');
  });
});
