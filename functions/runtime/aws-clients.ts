import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { SQSClient } from '@aws-sdk/client-sqs';

/**
 * AWS SDK clients, created on first use. The SDK modules are imported lazily: loading them dominates a cold start,
 * and a consumer with no tables makes no AWS call on its success path. No `endpoint` is passed, so the SDK's own
 * `AWS_ENDPOINT_URL` handling (LocalStack, the embedded engines) applies.
 */
export interface AwsClients {
  sqs(): Promise<SQSClient>;
  dynamo(): Promise<DynamoDBClient>;
}

/** Clients from the given instances, or created lazily with default configuration. */
export function lazyClients(given: { readonly sqs?: SQSClient; readonly dynamo?: DynamoDBClient } = {}): AwsClients {
  let sqs: Promise<SQSClient> | undefined = given.sqs ? Promise.resolve(given.sqs) : undefined;
  let dynamo: Promise<DynamoDBClient> | undefined = given.dynamo ? Promise.resolve(given.dynamo) : undefined;
  return {
    sqs() {
      // With an endpoint chosen in the environment (LocalStack, the embedded engines), the SDK must not switch to the
      // host of a queue URL (fauxqs's URLs are not valid hosts for it); on AWS the queue URL host is the endpoint.
      // Read once, with the client: process.env is slow to read, and this runs on every send.
      sqs ??= import('@aws-sdk/client-sqs').then(({ SQSClient: Client }) => {
        const explicit = Boolean(process.env.AWS_ENDPOINT_URL_SQS ?? process.env.AWS_ENDPOINT_URL);
        return new Client(explicit ? { useQueueUrlAsEndpoint: false } : {});
      });
      return sqs;
    },
    dynamo() {
      dynamo ??= import('@aws-sdk/client-dynamodb').then(({ DynamoDBClient: Client }) => new Client({}));
      return dynamo;
    },
  };
}
