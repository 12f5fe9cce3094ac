import type { SQSClient } from '@aws-sdk/client-sqs';
import { beforeAll, describe, expect, it } from 'vitest';
import * as z from 'zod';
import { consumer } from '../../functions/runtime/index.ts';
import { DEAD_LETTER_ATTRIBUTES } from '../../lib/definition/index.ts';
import { localSqsClient } from '../helpers/engines.ts';
import { createQueuePair, fakeContext, job, receive, receiveEvent, sendBodies } from '../helpers/runtime-fixture.ts';

// SendMessageBatch carries at most 10 entries and 1 MiB in total, the sum of the messages' sizes with their attributes
// (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SendMessageBatch.html). The embedded
// engine refuses a larger call as BatchRequestTooLong, as SQS does; six messages of 200 KB are such a call.

const Page = z.strictObject({ text: z.string() });
const PAGE_BYTES = 200_000;

let sqs: SQSClient;
beforeAll(() => {
  sqs = localSqsClient();
});

describe('consumer: SendMessageBatch size limit', () => {
  it('forwards six 200 KB jobs to the next stage', async () => {
    // GIVEN a handler that forwards six jobs of 200 KB each
    const queue = await createQueuePair(sqs);
    const next = await createQueuePair(sqs);
    const run = consumer({
      schema: Page,
      stage: 'split',
      queueUrl: queue.queueUrl,
      deadLetterQueueUrl: queue.deadLetterQueueUrl,
      nextQueueUrl: next.queueUrl,
      clients: { sqs },
      logSink: () => undefined,
      handler: (_page, ctx) => {
        for (let part = 0; part < 6; part++) ctx.forward({ part, text: 'p'.repeat(PAGE_BYTES) });
      },
    });
    await sendBodies(sqs, queue.queueUrl, [job({ text: 'document' })]);
    // WHEN
    const result = await run(await receiveEvent(sqs, queue, 1), fakeContext());
    // THEN the record succeeded and all six arrived
    expect(result.batchItemFailures).toEqual([]);
    const forwarded = await receive(sqs, next.queueUrl, 6);
    expect(forwarded.map((message) => JSON.parse(message.Body as string).data.part).sort()).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it('dead-letters six 200 KB records of one batch, each with its reason', async () => {
    // GIVEN six records of 200 KB that fail validation
    const queue = await createQueuePair(sqs);
    const run = consumer({
      schema: Page,
      stage: 'split',
      queueUrl: queue.queueUrl,
      deadLetterQueueUrl: queue.deadLetterQueueUrl,
      clients: { sqs },
      logSink: () => undefined,
      handler: () => undefined,
    });
    for (let index = 0; index < 6; index++) {
      await sendBodies(sqs, queue.queueUrl, [job({ text: index, pad: 'q'.repeat(PAGE_BYTES) })]);
    }
    // WHEN
    const result = await run(await receiveEvent(sqs, queue, 6), fakeContext());
    // THEN none is left to retry and the dead-letter queue has all six, with reasons
    expect(result.batchItemFailures).toEqual([]);
    const parked = await receive(sqs, queue.deadLetterQueueUrl, 6);
    expect(parked).toHaveLength(6);
    for (const message of parked) {
      expect(message.MessageAttributes?.[DEAD_LETTER_ATTRIBUTES.errorClass]?.StringValue).toBe('SchemaValidationError');
    }
  });
});
