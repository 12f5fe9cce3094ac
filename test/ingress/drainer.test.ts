import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { describe, expect, it } from 'vitest';
import { drainOverflow } from '../../functions/drainer/drain.ts';
import { localSqsClient, uniqueName } from '../helpers/engines.ts';
import { createQueue, fillQueue } from '../helpers/ingress.ts';

/** A clock that only moves when the drainer sleeps, so rounds are counted without waiting. */
function virtualClock(): { now: () => number; sleep: (ms: number) => Promise<void> } {
  let time = 0;
  return {
    now: () => time,
    sleep: async (ms) => {
      time += ms;
    },
  };
}

async function depth(sqs: SQSClient, queueUrl: string): Promise<number> {
  const result = await sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: queueUrl,
      AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
    }),
  );
  return (
    Number(result.Attributes?.ApproximateNumberOfMessages) +
    Number(result.Attributes?.ApproximateNumberOfMessagesNotVisible)
  );
}

async function bodies(sqs: SQSClient, queueUrl: string): Promise<string[]> {
  const all: string[] = [];
  for (;;) {
    const result = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, VisibilityTimeout: 60 }),
    );
    if (!result.Messages?.length) return all.sort();
    all.push(...result.Messages.map((message) => message.Body ?? ''));
  }
}

describe('overflow drainer on the embedded SQS engine', () => {
  it('moves every parked message to the stage queue when the stage is below the watermark', async () => {
    // GIVEN 25 parked messages and an empty stage queue
    const sqs = localSqsClient();
    const overflowQueueUrl = await createQueue(sqs, 'drain-overflow');
    const queueUrl = await createQueue(sqs, 'drain-main');
    for (let index = 0; index < 25; index += 1) await fillQueue(sqs, overflowQueueUrl, 1, `{"n":${index}}`);

    // WHEN
    const report = await drainOverflow({
      sqs,
      overflowQueueUrl,
      queueUrl,
      ratePerSecond: 100,
      lowWatermark: 1000,
      maxDurationMs: 60_000,
      ...virtualClock(),
    });

    // THEN nothing is lost or duplicated
    expect(report).toMatchObject({ moved: 25, sendFailures: 0, deleteFailures: 0, stoppedBecause: 'empty' });
    expect(await depth(sqs, overflowQueueUrl)).toBe(0);
    const expected = Array.from({ length: 25 }, (_, index) => `{"n":${index}}`).sort();
    expect(await bodies(sqs, queueUrl)).toEqual(expected);
  });

  it('moves at most ratePerSecond messages per one-second round', async () => {
    // GIVEN 25 parked messages and a rate of 10/s
    const sqs = localSqsClient();
    const overflowQueueUrl = await createQueue(sqs, 'drain-overflow');
    const queueUrl = await createQueue(sqs, 'drain-main');
    await fillQueue(sqs, overflowQueueUrl, 25);

    // WHEN
    const report = await drainOverflow({
      sqs,
      overflowQueueUrl,
      queueUrl,
      ratePerSecond: 10,
      lowWatermark: 1000,
      maxDurationMs: 60_000,
      ...virtualClock(),
    });

    // THEN
    expect(report.rounds).toEqual([10, 10, 5]);
    expect(report.moved).toBe(25);
  });

  it('moves nothing while the stage is at or above the low watermark', async () => {
    // GIVEN 5 messages on the stage queue and a watermark of 5
    const sqs = localSqsClient();
    const overflowQueueUrl = await createQueue(sqs, 'drain-overflow');
    const queueUrl = await createQueue(sqs, 'drain-main');
    await fillQueue(sqs, overflowQueueUrl, 10);
    await fillQueue(sqs, queueUrl, 5);

    // WHEN
    const report = await drainOverflow({
      sqs,
      overflowQueueUrl,
      queueUrl,
      ratePerSecond: 100,
      lowWatermark: 5,
      maxDurationMs: 60_000,
      ...virtualClock(),
    });

    // THEN
    expect(report).toMatchObject({ moved: 0, stoppedBecause: 'above-watermark' });
    expect(await depth(sqs, overflowQueueUrl)).toBe(10);
  });

  it('fills the stage only up to the low watermark, then stops', async () => {
    // GIVEN 30 parked messages, 2 on the stage queue and a watermark of 9: room for 7
    const sqs = localSqsClient();
    const overflowQueueUrl = await createQueue(sqs, 'drain-overflow');
    const queueUrl = await createQueue(sqs, 'drain-main');
    await fillQueue(sqs, overflowQueueUrl, 30);
    await fillQueue(sqs, queueUrl, 2);

    // WHEN
    const report = await drainOverflow({
      sqs,
      overflowQueueUrl,
      queueUrl,
      ratePerSecond: 100,
      lowWatermark: 9,
      maxDurationMs: 60_000,
      ...virtualClock(),
    });

    // THEN
    expect(report).toMatchObject({ moved: 7, stoppedBecause: 'above-watermark' });
    expect(await depth(sqs, queueUrl)).toBe(9);
    expect(await depth(sqs, overflowQueueUrl)).toBe(23);
  });

  it('keeps a message on the overflow queue when its send fails', async () => {
    // GIVEN a stage queue that takes at most 1,024 bytes and a parked message of 2,000 bytes
    const sqs = localSqsClient();
    const overflowQueueUrl = await createQueue(sqs, 'drain-overflow');
    const small = await sqs.send(
      new CreateQueueCommand({ QueueName: uniqueName('drain-small'), Attributes: { MaximumMessageSize: '1024' } }),
    );
    const queueUrl = small.QueueUrl as string;
    await fillQueue(sqs, overflowQueueUrl, 1, JSON.stringify({ data: 'x'.repeat(2000) }));
    await fillQueue(sqs, overflowQueueUrl, 1, '{"ok":true}');

    // WHEN
    const report = await drainOverflow({
      sqs,
      overflowQueueUrl,
      queueUrl,
      ratePerSecond: 100,
      lowWatermark: 1000,
      maxDurationMs: 60_000,
      ...virtualClock(),
    });

    // THEN the small one moved, the large one is still parked (in flight until its visibility timeout ends)
    expect(report).toMatchObject({ moved: 1, sendFailures: 1, deleteFailures: 0 });
    expect(await bodies(sqs, queueUrl)).toEqual(['{"ok":true}']);
    expect(await depth(sqs, overflowQueueUrl)).toBe(1);
  });

  it('moves six 200 KB messages, more than one SendMessageBatch may carry', async () => {
    // SendMessageBatch carries at most 10 entries and 1 MiB in total (the sum of the messages' sizes)
    // (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SendMessageBatch.html); the engine
    // refuses a larger call as BatchRequestTooLong, as SQS does.
    // GIVEN six parked messages of 200 KB (1.2 MB together)
    const sqs = localSqsClient();
    const overflowQueueUrl = await createQueue(sqs, 'drain-overflow');
    const queueUrl = await createQueue(sqs, 'drain-main');
    const large = Array.from({ length: 6 }, (_, index) => JSON.stringify({ n: index, pad: 'x'.repeat(200_000) }));
    for (const body of large) await fillQueue(sqs, overflowQueueUrl, 1, body);

    // WHEN
    const report = await drainOverflow({
      sqs,
      overflowQueueUrl,
      queueUrl,
      ratePerSecond: 100,
      lowWatermark: 1000,
      maxDurationMs: 60_000,
      ...virtualClock(),
    });

    // THEN all six moved and none is left parked
    expect(report).toMatchObject({ moved: 6, sendFailures: 0, deleteFailures: 0, stoppedBecause: 'empty' });
    expect(await bodies(sqs, queueUrl)).toEqual([...large].sort());
    expect(await depth(sqs, overflowQueueUrl)).toBe(0);
  });

  it('returns low-priority envelopes to the low lane', async () => {
    // GIVEN
    const sqs = localSqsClient();
    const overflowQueueUrl = await createQueue(sqs, 'drain-overflow');
    const queueUrl = await createQueue(sqs, 'drain-high');
    const lowLaneQueueUrl = await createQueue(sqs, 'drain-low');
    const low = JSON.stringify({ jobId: 'a', schemaVersion: 1, data: {}, priority: 'low' });
    const high = JSON.stringify({ jobId: 'b', schemaVersion: 1, data: {}, priority: 'high' });
    await fillQueue(sqs, overflowQueueUrl, 1, low);
    await fillQueue(sqs, overflowQueueUrl, 1, high);

    // WHEN
    await drainOverflow({
      sqs,
      overflowQueueUrl,
      queueUrl,
      lowLaneQueueUrl,
      ratePerSecond: 100,
      lowWatermark: 1000,
      maxDurationMs: 60_000,
      ...virtualClock(),
    });

    // THEN
    expect(await bodies(sqs, lowLaneQueueUrl)).toEqual([low]);
    expect(await bodies(sqs, queueUrl)).toEqual([high]);
  });

  it('keeps the message attributes of a parked message', async () => {
    // GIVEN a parked message with a string attribute
    const sqs = localSqsClient();
    const overflowQueueUrl = await createQueue(sqs, 'drain-overflow');
    const queueUrl = await createQueue(sqs, 'drain-main');
    await sqs.send(
      new SendMessageCommand({
        QueueUrl: overflowQueueUrl,
        MessageBody: '{}',
        MessageAttributes: { tenant: { DataType: 'String', StringValue: 'acme' } },
      }),
    );

    // WHEN
    const report = await drainOverflow({
      sqs,
      overflowQueueUrl,
      queueUrl,
      ratePerSecond: 10,
      lowWatermark: 100,
      maxDurationMs: 60_000,
      ...virtualClock(),
    });

    // THEN
    expect(report.moved).toBe(1);
    const received = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MessageAttributeNames: ['All'] }));
    expect(received.Messages?.[0]?.MessageAttributes?.tenant).toMatchObject({
      DataType: 'String',
      StringValue: 'acme',
    });
  });

  it('starts no round after the deadline', async () => {
    // GIVEN
    const sqs = localSqsClient();
    const overflowQueueUrl = await createQueue(sqs, 'drain-overflow');
    const queueUrl = await createQueue(sqs, 'drain-main');
    await fillQueue(sqs, overflowQueueUrl, 30);

    // WHEN three seconds of rounds at 5/s
    const report = await drainOverflow({
      sqs,
      overflowQueueUrl,
      queueUrl,
      ratePerSecond: 5,
      lowWatermark: 1000,
      maxDurationMs: 3000,
      ...virtualClock(),
    });

    // THEN
    expect(report).toMatchObject({ moved: 15, rounds: [5, 5, 5], stoppedBecause: 'deadline' });
  });
});
