import { randomUUID } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import { inject } from 'vitest';
import { LOCAL_CREDENTIALS } from '../../lib/local/engines.ts';

/** Endpoints of the engines the global setup started. */
export function engineEndpoints(): { sqsEndpoint: string; dynamoEndpoint: string; region: string } {
  return { sqsEndpoint: inject('sqsEndpoint'), dynamoEndpoint: inject('dynamoEndpoint'), region: inject('awsRegion') };
}

/** An SQS client on the embedded engine. */
export function localSqsClient(): SQSClient {
  const { sqsEndpoint, region } = engineEndpoints();
  return new SQSClient({ endpoint: sqsEndpoint, region, credentials: LOCAL_CREDENTIALS });
}

/** A DynamoDB client on the embedded engine. */
export function localDynamoClient(): DynamoDBClient {
  const { dynamoEndpoint, region } = engineEndpoints();
  return new DynamoDBClient({ endpoint: dynamoEndpoint, region, credentials: LOCAL_CREDENTIALS });
}

/** A name no other test uses, for queues and tables that tests create on the shared engines. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${randomUUID().slice(0, 8)}`;
}
