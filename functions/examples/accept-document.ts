import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import { acceptTargetsFromEnvironment, createAcceptHandler } from '../accept/accept.ts'; // 'sluice/accept' outside this repo
import { DocumentJob } from './schemas.ts';

/** The example pipeline's accept function (ingress `integration: 'function'`): document jobs, validated with zod. */
export const handler = createAcceptHandler({
  schema: DocumentJob,
  sqs: new SQSClient({ useQueueUrlAsEndpoint: false }),
  dynamo: new DynamoDBClient({}),
  targets: acceptTargetsFromEnvironment(),
});
