import { CreateTableCommand, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { CreateQueueCommand, ReceiveMessageCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { describe, expect, it } from 'vitest';
import { freePort, LOCAL_ENGINE_PACKAGES, startEngines } from '../../lib/local/engines.ts';
import { EndpointUnreachableError } from '../../lib/local/errors.ts';
import { engineEndpoints, localDynamoClient, localSqsClient, uniqueName } from '../helpers/engines.ts';

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

describe('startEngines configuration', () => {
  it('fails in one line naming AWS_ENDPOINT_URL when nothing answers there', async () => {
    // GIVEN a port nobody listens on
    const port = await freePort();
    // WHEN the engines are asked to use it as the external endpoint (as AWS_ENDPOINT_URL would)
    const started = startEngines({ externalEndpoint: `http://127.0.0.1:${port}` });
    // THEN the error says what to do, in one line
    await expect(started).rejects.toThrow(EndpointUnreachableError);
    await expect(started).rejects.toThrow(
      new RegExp(
        `^externalEndpoint is http://127\\.0\\.0\\.1:${port} but nothing answers there \\(ECONNREFUSED\\): start LocalStack \\('localstack start -d'\\) or unset externalEndpoint to run on the embedded engines$`,
      ),
    );
  });

  it('uses an external endpoint that answers, without starting engines', async () => {
    const { sqsEndpoint } = engineEndpoints();
    const engines = await startEngines({ externalEndpoint: sqsEndpoint });
    expect(engines).toMatchObject({ kind: 'external', sqsEndpoint, dynamoEndpoint: sqsEndpoint });
  });

  it("names the engine packages with the ranges of package.json's optional peer dependencies", async () => {
    const manifest = (await import('../../package.json', { with: { type: 'json' } })).default as {
      peerDependencies: Record<string, string>;
      peerDependenciesMeta: Record<string, { optional?: boolean }>;
    };
    for (const [name, range] of Object.entries(LOCAL_ENGINE_PACKAGES)) {
      expect(manifest.peerDependencies[name]).toBe(range);
      expect(manifest.peerDependenciesMeta[name]?.optional).toBe(true);
    }
  });
});
