import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import { ENV } from '../definition/index.ts';

/**
 * One client setup for every operator command: the AWS SDK's default credential chain (environment, shared config and
 * SSO profiles, container and instance roles: https://docs.aws.amazon.com/sdkref/latest/guide/standardized-credentials.html)
 * and region (`--region`, else `AWS_REGION` or the profile's), and one endpoint for every service when given
 * (`--endpoint`, else `AWS_ENDPOINT_URL`: https://docs.aws.amazon.com/sdkref/latest/guide/feature-ss-endpoints.html),
 * e.g. `sluice dev`'s engines or LocalStack.
 */

/** Where the clients point. */
export interface ClientSettings {
  /** One endpoint for every service. @default `AWS_ENDPOINT_URL`, else AWS's */
  readonly endpoint?: string;
  /**
   * DynamoDB's endpoint when it differs (sluice dev runs DynamoDB Local on a port of its own).
   * @default `AWS_ENDPOINT_URL_DYNAMODB`, else `endpoint`
   */
  readonly dynamoEndpoint?: string;
  /** @default the SDK's region chain */
  readonly region?: string;
  /** Static credentials (e.g. the local engines' fixed pair). @default the default credential chain */
  readonly credentials?: { readonly accessKeyId: string; readonly secretAccessKey: string };
}

/** The clients the operator commands use. */
export interface OpsClients {
  readonly sqs: SQSClient;
  readonly cloudWatch: CloudWatchClient;
  readonly cloudFormation: CloudFormationClient;
  readonly dynamo: DynamoDBClient;
  /** The endpoint in use, when not AWS's. */
  readonly endpoint: string | undefined;
  destroy(): void;
}

/** Clients for `settings`. */
export function opsClients(settings: ClientSettings = {}, environment: NodeJS.ProcessEnv = process.env): OpsClients {
  const endpoint = settings.endpoint ?? environment[ENV.awsEndpointUrl];
  // A service-specific variable wins over the global one, as in every AWS SDK.
  const serviceEndpoint = (variable: string, given?: string) => given ?? environment[variable] ?? endpoint;
  const config = (service: string | undefined) => ({
    ...(service ? { endpoint: service } : {}),
    ...(settings.region ? { region: settings.region } : {}),
    ...(settings.credentials ? { credentials: { ...settings.credentials } } : {}),
  });
  const sqsEndpoint = serviceEndpoint('AWS_ENDPOINT_URL_SQS', settings.endpoint);
  const sqs = new SQSClient({ ...config(sqsEndpoint), ...(sqsEndpoint ? { useQueueUrlAsEndpoint: false } : {}) });
  const cloudWatch = new CloudWatchClient(config(endpoint));
  const cloudFormation = new CloudFormationClient(config(endpoint));
  const dynamo = new DynamoDBClient(config(serviceEndpoint('AWS_ENDPOINT_URL_DYNAMODB', settings.dynamoEndpoint)));
  return {
    sqs,
    cloudWatch,
    cloudFormation,
    dynamo,
    endpoint,
    destroy() {
      sqs.destroy();
      cloudWatch.destroy();
      cloudFormation.destroy();
      dynamo.destroy();
    },
  };
}

/** Whether `endpoint` is on this machine (then the local engines' credentials serve when none are configured). */
export function isLoopback(endpoint: string | undefined): boolean {
  if (!endpoint) return false;
  try {
    const host = new URL(endpoint).hostname;
    return host === '127.0.0.1' || host === 'localhost' || host === '[::1]';
  } catch {
    return false;
  }
}
