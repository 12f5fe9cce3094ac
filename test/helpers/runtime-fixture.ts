import { type DynamoDBClient, GetItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  type Message,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { Context, SQSEvent } from 'aws-lambda';
import { encodeJob, type JobEnvelope, type TableShape } from '../../lib/definition/index.ts';
import { ensureTable } from '../../lib/local/provision.ts';
import { toSqsEvent } from '../../lib/local/sqs-records.ts';
import { engineEndpoints, uniqueName } from './engines.ts';

/** A queue and its dead-letter queue on the embedded SQS engine. */
export interface QueuePair {
  readonly queueUrl: string;
  readonly queueArn: string;
  readonly deadLetterQueueUrl: string;
}

/** Creates a queue with a dead-letter queue and redrive policy, as DurableQueue does. */
export async function createQueuePair(
  sqs: SQSClient,
  options: { fifo?: boolean; maxReceiveCount?: number; visibilityTimeoutSeconds?: number } = {},
): Promise<QueuePair> {
  const suffix = options.fifo ? '.fifo' : '';
  const base = uniqueName('rt');
  const fifoAttributes: Record<string, string> = options.fifo ? { FifoQueue: 'true' } : {};
  const dlq = await sqs.send(new CreateQueueCommand({ QueueName: `${base}-dlq${suffix}`, Attributes: fifoAttributes }));
  const dlqArn = await arnOf(sqs, dlq.QueueUrl as string);
  const queue = await sqs.send(
    new CreateQueueCommand({
      QueueName: `${base}${suffix}`,
      Attributes: {
        ...fifoAttributes,
        VisibilityTimeout: String(options.visibilityTimeoutSeconds ?? 30),
        RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlqArn, maxReceiveCount: options.maxReceiveCount ?? 5 }),
      },
    }),
  );
  return {
    queueUrl: queue.QueueUrl as string,
    queueArn: await arnOf(sqs, queue.QueueUrl as string),
    deadLetterQueueUrl: dlq.QueueUrl as string,
  };
}

async function arnOf(sqs: SQSClient, queueUrl: string): Promise<string> {
  const result = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }));
  return result.Attributes?.QueueArn as string;
}

/** A job envelope with defaults for the fields a test does not care about. */
export function job(data: unknown, overrides: Partial<JobEnvelope> = {}): string {
  return encodeJob({ jobId: uniqueName('job'), schemaVersion: 1, data, ...overrides });
}

/** Sends raw bodies (in order; on FIFO, in the given groups). */
export async function sendBodies(
  sqs: SQSClient,
  queueUrl: string,
  bodies: readonly string[],
  groupIds?: readonly string[],
): Promise<void> {
  for (let start = 0; start < bodies.length; start += 10) {
    await sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: bodies.slice(start, start + 10).map((body, offset) => ({
          Id: String(start + offset),
          MessageBody: body,
          ...(groupIds
            ? { MessageGroupId: groupIds[start + offset], MessageDeduplicationId: `${start + offset}-${Date.now()}` }
            : {}),
        })),
      }),
    );
  }
}

/** Receives until `count` messages arrived or `timeoutMs` passed, as the event source mapping does. */
export async function receive(sqs: SQSClient, queueUrl: string, count: number, timeoutMs = 5_000): Promise<Message[]> {
  const messages: Message[] = [];
  const deadline = Date.now() + timeoutMs;
  while (messages.length < count && Date.now() < deadline) {
    const result = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: Math.min(10, count - messages.length),
        WaitTimeSeconds: 1,
        MessageSystemAttributeNames: ['All'],
        MessageAttributeNames: ['All'],
      }),
    );
    messages.push(...(result.Messages ?? []));
  }
  return messages;
}

/** Receives `count` messages and turns them into the SQSEvent Lambda would deliver. */
export async function receiveEvent(sqs: SQSClient, queue: QueuePair, count: number): Promise<SQSEvent> {
  const messages = await receive(sqs, queue.queueUrl, count);
  if (messages.length < count) {
    throw new Error(`Expected ${count} messages on ${queue.queueUrl}, received ${messages.length}`);
  }
  return toSqsEvent(messages, { queueArn: queue.queueArn, region: engineEndpoints().region });
}

/** A Lambda context whose remaining time is fixed. */
export function fakeContext(remainingMs = 30_000): Context {
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName: 'test',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:eu-west-1:000000000000:function:test',
    memoryLimitInMB: '512',
    awsRequestId: 'request',
    logGroupName: '/aws/lambda/test',
    logStreamName: 'stream',
    getRemainingTimeInMillis: () => remainingMs,
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

/** Creates a table of the given shape with TTL on, as JobTables does (and as `sluice dev` provisions it). */
export async function createTable(dynamo: DynamoDBClient, shape: TableShape): Promise<string> {
  return ensureTable(dynamo, uniqueName('table'), shape);
}

/** Adds one to a counter item (the side effect idempotency tests count). */
export async function increment(
  dynamo: DynamoDBClient,
  table: string,
  key: string,
  partitionKey: string,
): Promise<void> {
  await dynamo.send(
    new UpdateItemCommand({
      TableName: table,
      Key: { [partitionKey]: { S: key } },
      UpdateExpression: 'ADD hits :one',
      ExpressionAttributeValues: { ':one': { N: '1' } },
    }),
  );
}

/** The counter's value. */
export async function counter(
  dynamo: DynamoDBClient,
  table: string,
  key: string,
  partitionKey: string,
): Promise<number> {
  const result = await dynamo.send(
    new GetItemCommand({ TableName: table, Key: { [partitionKey]: { S: key } }, ConsistentRead: true }),
  );
  return Number(result.Item?.hits?.N ?? 0);
}
