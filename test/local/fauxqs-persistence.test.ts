import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ChangeMessageVisibilityBatchCommand,
  CreateQueueCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { startFauxqs } from 'fauxqs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { freePort, LOCAL_CREDENTIALS } from '../../lib/local/engines.ts';
import { keepMessagesOnVisibilityReset } from '../helpers/fauxqs-persistence.ts';

/**
 * fauxqs 2.4.1 with its data on disk (`dataDir`) loses a message whose visibility timeout is set to 0: the in-memory
 * queue drops the message from its in-flight set, then the SQLite write that marks it ready violates a NOT NULL
 * constraint and throws before the message is put back, so it is never received again. On SQS, "to terminate the
 * visibility timeout … specify 0 for the VisibilityTimeout parameter" makes the message visible to other consumers at
 * once (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_ChangeMessageVisibility.html). The
 * consumer runtime does exactly that for records it hands back without running them, which is how the fault matrix lost
 * jobs. The test harness's engines apply {@link keepMessagesOnVisibilityReset}; these tests hold it to SQS's semantics.
 */

let dataDir: string;
let server: Awaited<ReturnType<typeof startFauxqs>>;
let sqs: SQSClient;
let port: number;

/** Starts fauxqs on the test's port and data directory, with a fresh client (the old one's sockets died with it). */
async function start(): Promise<void> {
  server = await startFauxqs({ port, host: '127.0.0.1', logger: false, defaultRegion: 'us-east-1', dataDir });
  sqs?.destroy();
  sqs = new SQSClient({
    endpoint: `http://127.0.0.1:${port}`,
    region: 'us-east-1',
    credentials: LOCAL_CREDENTIALS,
    maxAttempts: 1,
  });
}

beforeEach(async () => {
  await keepMessagesOnVisibilityReset();
  dataDir = mkdtempSync(join(tmpdir(), 'sluice-fauxqs-'));
  port = await freePort();
  await start();
});

afterEach(async () => {
  sqs?.destroy();
  await server?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

/** A queue with one message in it, received once: its URL and the receipt handle. */
async function receivedOnce(): Promise<{ queueUrl: string; receiptHandle: string }> {
  const { QueueUrl } = await sqs.send(
    new CreateQueueCommand({ QueueName: 'jobs', Attributes: { VisibilityTimeout: '60' } }),
  );
  const queueUrl = QueueUrl as string;
  await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: '{"jobId":"a"}' }));
  const received = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 1 }));
  return { queueUrl, receiptHandle: received.Messages?.[0]?.ReceiptHandle as string };
}

async function releaseNow(queueUrl: string, receiptHandle: string) {
  return sqs.send(
    new ChangeMessageVisibilityBatchCommand({
      QueueUrl: queueUrl,
      Entries: [{ Id: '0', ReceiptHandle: receiptHandle, VisibilityTimeout: 0 }],
    }),
  );
}

describe('fauxqs with its data on disk', () => {
  it('delivers a message again at once after its visibility timeout is set to 0', async () => {
    // GIVEN a received message
    const { queueUrl, receiptHandle } = await receivedOnce();
    // WHEN the consumer hands it back with a visibility timeout of 0, as the runtime does for a record it did not run
    const change = await releaseNow(queueUrl, receiptHandle);
    // THEN the change succeeds and the next receive gets the message, on its second receive
    expect(change.Failed ?? []).toEqual([]);
    const again = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: 1,
        MessageSystemAttributeNames: ['ApproximateReceiveCount'],
      }),
    );
    expect(again.Messages?.map((message) => message.Body)).toEqual(['{"jobId":"a"}']);
    expect(again.Messages?.[0]?.Attributes?.ApproximateReceiveCount).toBe('2');
  });

  it('keeps a message handed back with visibility 0 and its receive count across a restart', async () => {
    // GIVEN a message received once and handed back at once
    const { queueUrl, receiptHandle } = await receivedOnce();
    await releaseNow(queueUrl, receiptHandle);
    // WHEN the engine is stopped and started again on the same data directory
    await server.stop();
    await start();
    // THEN the message is there, visible, and its next receive is its second
    const attributes = await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['ApproximateNumberOfMessages'] }),
    );
    expect(attributes.Attributes?.ApproximateNumberOfMessages).toBe('1');
    const again = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: 1,
        MessageSystemAttributeNames: ['ApproximateReceiveCount'],
      }),
    );
    expect(again.Messages?.[0]?.Attributes?.ApproximateReceiveCount).toBe('2');
  });
});
