import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
} from '@aws-sdk/client-sqs';
import { describe, expect, it } from 'vitest';
import { RECEIVE_ATTRIBUTE_NAMES, toSqsEvent } from '../../lib/local/sqs-records.ts';
import { engineEndpoints, localSqsClient, uniqueName } from '../helpers/engines.ts';

describe('toSqsEvent', () => {
  it('builds the records Lambda delivers from a real ReceiveMessage', async () => {
    // GIVEN a message with a string and a binary attribute on the embedded engine
    const sqs = localSqsClient();
    const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: uniqueName('records') }));
    const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['QueueArn'] }));
    await sqs.send(
      new SendMessageCommand({
        QueueUrl,
        MessageBody: '{"jobId":"j-1"}',
        MessageAttributes: {
          tenant: { DataType: 'String', StringValue: 'acme' },
          blob: { DataType: 'Binary', BinaryValue: Buffer.from('hi') },
        },
      }),
    );
    const { Messages = [] } = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl,
        WaitTimeSeconds: 1,
        MessageSystemAttributeNames: [...RECEIVE_ATTRIBUTE_NAMES],
        MessageAttributeNames: ['All'],
      }),
    );

    // WHEN
    const event = toSqsEvent(Messages, { queueArn: Attributes?.QueueArn ?? '', region: engineEndpoints().region });

    // THEN
    expect(event.Records).toHaveLength(1);
    const [record] = event.Records;
    expect(record).toMatchObject({
      body: '{"jobId":"j-1"}',
      eventSource: 'aws:sqs',
      eventSourceARN: Attributes?.QueueArn,
      awsRegion: 'us-east-1',
      attributes: { ApproximateReceiveCount: '1' },
      messageAttributes: {
        tenant: { stringValue: 'acme', dataType: 'String', stringListValues: [], binaryListValues: [] },
        blob: { binaryValue: Buffer.from('hi').toString('base64'), dataType: 'Binary' },
      },
    });
    expect(record?.receiptHandle).toBe(Messages[0]?.ReceiptHandle);
    expect(Number(record?.attributes.SentTimestamp)).toBeGreaterThan(0);
  });

  it('fails if a message lacks its receipt handle', () => {
    expect(() => toSqsEvent([{ MessageId: 'm', Body: 'x' }], { queueArn: 'arn', region: 'us-east-1' })).toThrow(
      /lacks MessageId, ReceiptHandle or Body/,
    );
  });
});
