import type { APIGatewayProxyEvent } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { createAcceptHandler } from '../../functions/accept/accept.ts';
import { ChunkJob } from '../../functions/examples/schemas.ts';
import { lazyClients } from '../../functions/runtime/aws-clients.ts';
import { getJob } from '../../functions/runtime/job-status.ts';
import { decodeJob, JOB_TABLE } from '../../lib/definition/index.ts';
import { localDynamoClient, localSqsClient } from '../helpers/engines.ts';
import { createQueue } from '../helpers/ingress.ts';
import { createTable, receive } from '../helpers/runtime-fixture.ts';

function acceptEvent(body: string, authorizer: Record<string, unknown> = {}, requestId: string = crypto.randomUUID()) {
  return {
    body,
    headers: { 'Content-Type': 'application/json', 'X-Correlation-Id': 'corr-1' },
    requestContext: { requestId, stage: 'v1', domainName: 'api.example.com', authorizer },
  } as unknown as APIGatewayProxyEvent;
}

const chunk = { documentId: 'doc-1', chunkIndex: 0, text: 'hello' };

describe('accept function on the embedded engines', () => {
  it('records the job as accepted, enqueues its envelope, and answers 202 with Location', async () => {
    // GIVEN
    const sqs = localSqsClient();
    const dynamo = localDynamoClient();
    const queueUrl = await createQueue(sqs, 'accept');
    const jobTableName = await createTable(dynamo, JOB_TABLE);
    const accept = createAcceptHandler({
      schema: ChunkJob,
      sqs,
      dynamo,
      targets: { queueUrl, jobTableName, schemaVersion: 2 },
      now: () => 1_700_000_000_000,
    });

    // WHEN
    const response = await accept(acceptEvent(JSON.stringify(chunk), { lane: 'high', target: 'queue' }, 'job-1'));

    // THEN
    expect(response.statusCode).toBe(202);
    expect(response.headers?.Location).toBe('/v1/jobs/job-1');
    expect(JSON.parse(response.body)).toEqual({
      jobId: 'job-1',
      status: 'accepted',
      statusUrl: 'https://api.example.com/v1/jobs/job-1',
    });
    const [message] = await receive(sqs, queueUrl, 1);
    expect(decodeJob(message?.Body ?? '')).toEqual({
      ok: true,
      job: {
        jobId: 'job-1',
        schemaVersion: 2,
        data: chunk,
        correlationId: 'corr-1',
        acceptedAt: 1_700_000_000_000,
        priority: 'high',
      },
    });
    const record = await getJob('job-1', { tableName: jobTableName, clients: lazyClients({ dynamo }) });
    expect(record).toMatchObject({ jobId: 'job-1', state: 'accepted', acceptedAt: 1_700_000_000_000 });
  });

  it('answers 400 with every zod issue and enqueues nothing for an invalid body', async () => {
    // GIVEN
    const sqs = localSqsClient();
    const queueUrl = await createQueue(sqs, 'accept');
    const accept = createAcceptHandler({ schema: ChunkJob, sqs, targets: { queueUrl, schemaVersion: 1 } });

    // WHEN
    const response = await accept(acceptEvent(JSON.stringify({ documentId: '', chunkIndex: -1, text: 'x' })));

    // THEN
    expect(response.statusCode).toBe(400);
    const body = JSON.parse(response.body);
    expect(body.error).toBe('invalid_request');
    expect(body.issues).toEqual([expect.stringMatching(/^documentId: /), expect.stringMatching(/^chunkIndex: /)]);
    expect(await receive(sqs, queueUrl, 1, 200)).toEqual([]);
  });

  it('sends to the queue the authorizer chose: the low lane or the overflow queue', async () => {
    // GIVEN
    const sqs = localSqsClient();
    const queueUrl = await createQueue(sqs, 'accept-high');
    const lowLaneQueueUrl = await createQueue(sqs, 'accept-low');
    const overflowQueueUrl = await createQueue(sqs, 'accept-overflow');
    const accept = createAcceptHandler({
      schema: ChunkJob,
      sqs,
      targets: { queueUrl, lowLaneQueueUrl, overflowQueueUrl, schemaVersion: 1 },
    });

    // WHEN
    await accept(acceptEvent(JSON.stringify(chunk), { lane: 'low', target: 'queue' }));
    await accept(acceptEvent(JSON.stringify(chunk), { lane: 'high', target: 'overflow' }));

    // THEN
    expect(await receive(sqs, lowLaneQueueUrl, 1)).toHaveLength(1);
    expect(await receive(sqs, overflowQueueUrl, 1)).toHaveLength(1);
    expect(await receive(sqs, queueUrl, 1, 200)).toEqual([]);
  });

  it('answers 503 and removes the job record when the job cannot be enqueued', async () => {
    // GIVEN a queue URL that does not exist
    const sqs = localSqsClient();
    const dynamo = localDynamoClient();
    const queueUrl = `${await createQueue(sqs, 'accept')}-missing`;
    const jobTableName = await createTable(dynamo, JOB_TABLE);
    const accept = createAcceptHandler({
      schema: ChunkJob,
      sqs,
      dynamo,
      targets: { queueUrl, jobTableName, schemaVersion: 1 },
    });

    // WHEN
    const response = await accept(acceptEvent(JSON.stringify(chunk), {}, 'job-lost'));

    // THEN
    expect(response.statusCode).toBe(503);
    expect(response.headers?.['Retry-After']).toBe('1');
    expect(await getJob('job-lost', { tableName: jobTableName, clients: lazyClients({ dynamo }) })).toBeUndefined();
  });
});
