import { type SendMessageBatchCommand, SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { beforeAll, describe, expect, it } from 'vitest';
import { lazyClients } from '../../functions/runtime/aws-clients.ts';
import { batchBoundaries, messageSizeAtMostBytes, sendMessages } from '../../functions/runtime/sqs-actions.ts';
import { localSqsClient } from '../helpers/engines.ts';
import { createQueuePair, receive } from '../helpers/runtime-fixture.ts';

// SendMessageBatch: at most 10 entries, and "the maximum total payload size (the sum of the individual lengths of all
// of the batched messages)" is 1 MiB, as is one message
// (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SendMessageBatch.html). A message's size
// counts its attributes' names, types and values
// (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_MessageAttributeValue.html).
const MIB = 1024 * 1024;

let sqs: SQSClient;
beforeAll(() => {
  sqs = localSqsClient();
});

describe('batchBoundaries', () => {
  it('ends a call at 10 entries', () => {
    expect(batchBoundaries(Array.from({ length: 25 }, () => 100))).toEqual([10, 20, 25]);
  });

  it('ends a call before its payload would pass 1 MiB', () => {
    // GIVEN six messages of 200 KB: five fit in 1 MiB (1,000,000 bytes), six do not
    const sizes = Array.from({ length: 6 }, () => 200_000);
    // WHEN / THEN
    expect(batchBoundaries(sizes)).toEqual([5, 6]);
  });

  it('takes a payload of exactly 1 MiB in one call', () => {
    expect(batchBoundaries([MIB / 2, MIB / 2, 1])).toEqual([2, 3]);
  });

  it('gives a message above 1 MiB a call of its own, keeping the order', () => {
    expect(batchBoundaries([10, MIB + 1, 10, 10])).toEqual([1, 2, 4]);
  });
});

describe('messageSizeAtMostBytes', () => {
  it('counts a text from 1 KiB on exactly in UTF-8, with every attribute name, data type and value', () => {
    const body = 'é€'.repeat(512); // 1,024 code units, 2,560 bytes
    const reason = 'x'.repeat(2_000);
    const size = messageSizeAtMostBytes({
      MessageBody: body,
      MessageAttributes: { reason: { DataType: 'String', StringValue: reason } },
    });
    expect(size).toBe(2_560 + 3 * 6 + 3 * 6 + 2_000);
  });

  it('never counts a short text under its UTF-8 size', () => {
    // GIVEN texts of 1, 2, 3 and 4 (a surrogate pair) bytes per character
    for (const text of ['a', 'é', '€', '😀']) {
      const size = messageSizeAtMostBytes({
        MessageBody: text,
        MessageAttributes: { blob: { DataType: 'Binary', BinaryValue: new Uint8Array(4) } },
      });
      expect(size).toBeGreaterThanOrEqual(Buffer.byteLength(text, 'utf8') + 4 + 6 + 4);
    }
  });
});

describe('sendMessages on the embedded SQS engine', () => {
  it('sends six 200 KB messages, more than one SendMessageBatch may carry', async () => {
    // GIVEN six bodies of 200 KB (1.2 MB together; the engine refuses a larger batch as SQS does)
    const queue = await createQueuePair(sqs);
    const bodies = Array.from({ length: 6 }, (_, index) => `${index}${'x'.repeat(200_000)}`);
    // WHEN
    const failed = await sendMessages(
      lazyClients({ sqs }),
      queue.queueUrl,
      bodies.map((body) => ({ body })),
    );
    // THEN
    expect([...failed]).toEqual([]);
    const received = await receive(sqs, queue.queueUrl, 6);
    expect(received.map((message) => message.Body?.[0]).sort()).toEqual(['0', '1', '2', '3', '4', '5']);
  });

  it('reports a message above the size limit failed with its reason and sends the others', async () => {
    // GIVEN a small message, one of 1.1 MB and another small one
    const queue = await createQueuePair(sqs);
    const messages = [{ body: 'first' }, { body: 'y'.repeat(1_100_000) }, { body: 'last' }];
    // WHEN
    const failed = await sendMessages(lazyClients({ sqs }), queue.queueUrl, messages);
    // THEN only the large one failed, with SQS's reason
    expect([...failed.keys()]).toEqual([1]);
    expect(failed.get(1)).toMatch(/shorter than|too long|size/i);
    expect((await receive(sqs, queue.queueUrl, 2)).map((message) => message.Body).sort()).toEqual(['first', 'last']);
  });

  it('falls back to single sends when SQS refuses a batch as BatchRequestTooLong', async () => {
    // GIVEN a client on which SendMessageBatch is refused as too long (SQS counted more than the runtime did)
    const queue = await createQueuePair(sqs);
    const singles: string[] = [];
    const client = {
      send: (command: SendMessageBatchCommand | SendMessageCommand) => {
        if (command instanceof SendMessageCommand) {
          singles.push(command.input.MessageBody as string);
          return sqs.send(command);
        }
        return Promise.reject(
          Object.assign(new Error('Batch requests cannot be longer than 1048576 bytes.'), {
            name: 'BatchRequestTooLong',
          }),
        );
      },
    } as unknown as SQSClient;
    // WHEN
    const failed = await sendMessages(lazyClients({ sqs: client }), queue.queueUrl, [{ body: 'a' }, { body: 'b' }]);
    // THEN both went out one by one
    expect([...failed]).toEqual([]);
    expect(singles).toEqual(['a', 'b']);
    expect((await receive(sqs, queue.queueUrl, 2)).map((message) => message.Body).sort()).toEqual(['a', 'b']);
  });

  it('sends once more an entry that SQS failed on its side in an otherwise successful batch', async () => {
    // GIVEN a client whose first SendMessageBatch reports entry 1 failed with SenderFault false (an SQS-side error)
    // after sending the others; SQS reports per-entry results in a 200 response, so a caller must read Failed
    // (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SendMessageBatch.html)
    const queue = await createQueuePair(sqs);
    let batches = 0;
    const client = {
      send: async (command: SendMessageBatchCommand) => {
        batches++;
        if (batches > 1) return sqs.send(command);
        const entries = command.input.Entries ?? [];
        const { SendMessageBatchCommand: Command } = await import('@aws-sdk/client-sqs');
        const result = await sqs.send(
          new Command({ QueueUrl: command.input.QueueUrl, Entries: entries.filter((entry) => entry.Id !== '1') }),
        );
        return {
          ...result,
          Failed: [{ Id: '1', SenderFault: false, Code: 'InternalError', Message: 'try again' }],
        };
      },
    } as unknown as SQSClient;
    // WHEN
    const failed = await sendMessages(lazyClients({ sqs: client }), queue.queueUrl, [
      { body: 'a' },
      { body: 'b' },
      { body: 'c' },
    ]);
    // THEN nothing is reported failed and all three arrived
    expect([...failed]).toEqual([]);
    expect(batches).toBe(2);
    expect((await receive(sqs, queue.queueUrl, 3)).map((message) => message.Body).sort()).toEqual(['a', 'b', 'c']);
  });
});
