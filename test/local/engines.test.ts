import { CreateTableCommand, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { CreateQueueCommand, ReceiveMessageCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { describe, expect, it } from 'vitest';
import { localDynamoClient, localSqsClient, uniqueName } from '../helpers/engines.ts';

describe('embedded engines', () => {
  it('serves SQS: a sent message is received', async () => {
    // GIVEN
    const sqs = localSqsClient();
    const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: uniqueName('engines') }));

    // WHEN
    await sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: 'hello' }));
    const { Messages } = await sqs.send(new ReceiveMessageCommand({ QueueUrl, WaitTimeSeconds: 1 }));

    // THEN
    expect(Messages?.map((message) => message.Body)).toEqual(['hello']);
  });

  it('serves DynamoDB with conditional writes', async () => {
    // GIVEN
    const dynamo = localDynamoClient();
    const TableName = uniqueName('engines');
    await dynamo.send(
      new CreateTableCommand({
        TableName,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
      }),
    );
    const put = () =>
      dynamo.send(
        new PutItemCommand({
          TableName,
          Item: { pk: { S: 'a' } },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );

    // WHEN
    await put();

    // THEN
    await expect(put()).rejects.toThrow(/conditional request failed/i);
    const { Item } = await dynamo.send(new GetItemCommand({ TableName, Key: { pk: { S: 'a' } } }));
    expect(Item).toEqual({ pk: { S: 'a' } });
  });
});
