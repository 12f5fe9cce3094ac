import { CreateQueueCommand, SendMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { APIGatewayRequestAuthorizerEvent } from 'aws-lambda';
import type { AuthorizerSettings } from '../../lib/definition/index.ts';
import { uniqueName } from './engines.ts';

/** A REQUEST authorizer event for `POST /jobs`, as API Gateway sends it. */
export function authorizerEvent(headers: Record<string, string> = {}): APIGatewayRequestAuthorizerEvent {
  return {
    type: 'REQUEST',
    methodArn: 'arn:aws:execute-api:eu-west-1:123456789012:abc123/prod/POST/jobs',
    resource: '/jobs',
    path: '/jobs',
    httpMethod: 'POST',
    headers,
    multiValueHeaders: {},
    pathParameters: {},
    queryStringParameters: {},
    multiValueQueryStringParameters: {},
    stageVariables: {},
    requestContext: {} as APIGatewayRequestAuthorizerEvent['requestContext'],
  };
}

/** Authorizer settings with small limits, overridable per test. */
export function authorizerSettings(overrides: Partial<AuthorizerSettings> = {}): AuthorizerSettings {
  return {
    softLimit: 4,
    hardLimit: 8,
    overload: 'reject',
    drainRatePerSecond: 2,
    maxRetryAfterSeconds: 60,
    overflowMaxDepth: 100,
    overflowDrainRatePerSecond: 1,
    priorityEnabled: false,
    depthCacheTtlSeconds: 1,
    priorityHeader: 'x-sluice-priority',
    defaultLane: 'high',
    ...overrides,
  };
}

/** Creates a uniquely named standard queue and returns its URL. */
export async function createQueue(sqs: SQSClient, prefix: string): Promise<string> {
  const result = await sqs.send(new CreateQueueCommand({ QueueName: uniqueName(prefix) }));
  if (!result.QueueUrl) throw new Error('CreateQueue returned no QueueUrl');
  return result.QueueUrl;
}

/** Sends `count` small messages to a queue, ten per call. */
export async function fillQueue(sqs: SQSClient, queueUrl: string, count: number, body = '{}'): Promise<void> {
  for (let sent = 0; sent < count; sent += 10) {
    const entries = Array.from({ length: Math.min(10, count - sent) }, (_, index) => ({
      Id: String(index),
      MessageBody: body,
    }));
    await sqs.send(new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: entries }));
  }
}

/** Counts the calls an SDK client sends, by command name. */
export function countCalls(client: SQSClient): Map<string, number> {
  const calls = new Map<string, number>();
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const name = String(context.commandName);
      calls.set(name, (calls.get(name) ?? 0) + 1);
      return next(args);
    },
    { step: 'initialize', name: 'sluiceCountCalls' },
  );
  return calls;
}
