import { randomUUID } from 'node:crypto';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { IDEMPOTENCY_TABLE } from '../../lib/definition/tables.ts';
import type { AwsClients } from './aws-clients.ts';

/**
 * Idempotency on DynamoDB. Before a record runs, the runtime claims its key with a conditional put of an
 * `in-progress` item carrying a fresh owner token and a lease that ends when the invocation would time out. Then:
 *
 * - a key already `completed` is a duplicate: the record is skipped and reported done;
 * - a key `in-progress` under another owner whose lease is still running is retried later, without running — its
 *   result is never returned, because there is none yet;
 * - a key whose lease has ended (its owner crashed or timed out) is taken over by the next delivery;
 * - only the owner (the same token) may mark the key completed or release it after a failure.
 */

const { partitionKey, ttlAttribute } = IDEMPOTENCY_TABLE;

/** The outcome of {@link claim}. */
export type Claim =
  | { readonly status: 'claimed'; readonly owner: string }
  | { readonly status: 'completed' }
  | { readonly status: 'in-progress'; readonly leaseEndsInSeconds: number };

/** Where and how long keys are kept. */
export interface IdempotencyStore {
  readonly tableName: string;
  /** Seconds a completed key is remembered (DynamoDB TTL). */
  readonly ttlSeconds: number;
  readonly clients: AwsClients;
}

/** Claims `key` for this delivery for `leaseMs` milliseconds. */
export async function claim(store: IdempotencyStore, key: string, leaseMs: number, now = Date.now()): Promise<Claim> {
  const [{ PutItemCommand, ConditionalCheckFailedException }, dynamo] = await Promise.all([
    import('@aws-sdk/client-dynamodb'),
    store.clients.dynamo(),
  ]);
  const owner = randomUUID();
  const leaseExpiresAt = now + Math.max(1_000, leaseMs);
  try {
    await dynamo.send(
      new PutItemCommand({
        TableName: store.tableName,
        Item: {
          [partitionKey]: { S: key },
          status: { S: 'in-progress' },
          owner: { S: owner },
          leaseExpiresAt: { N: String(leaseExpiresAt) },
          // Keeps a crashed owner's item from living forever even if nobody retries it.
          [ttlAttribute]: { N: String(Math.ceil(leaseExpiresAt / 1000) + store.ttlSeconds) },
        },
        ConditionExpression: 'attribute_not_exists(#key) OR (#status = :inProgress AND leaseExpiresAt < :now)',
        ExpressionAttributeNames: { '#key': partitionKey, '#status': 'status' },
        ExpressionAttributeValues: { ':inProgress': { S: 'in-progress' }, ':now': { N: String(now) } },
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      }),
    );
    return { status: 'claimed', owner };
  } catch (error) {
    if (!(error instanceof ConditionalCheckFailedException)) {
      throw error;
    }
    const existing = error.Item ?? (await read(store, key));
    if (existing?.status?.S === 'completed') {
      return { status: 'completed' };
    }
    const expires = Number(existing?.leaseExpiresAt?.N ?? now);
    return { status: 'in-progress', leaseEndsInSeconds: Math.max(1, Math.ceil((expires - now) / 1000)) };
  }
}

/** Marks `key` completed, if this delivery still owns it. Returns false when the lease was lost to another owner. */
export async function complete(
  store: IdempotencyStore,
  key: string,
  owner: string,
  now = Date.now(),
): Promise<boolean> {
  const [{ UpdateItemCommand, ConditionalCheckFailedException }, dynamo] = await Promise.all([
    import('@aws-sdk/client-dynamodb'),
    store.clients.dynamo(),
  ]);
  try {
    await dynamo.send(
      new UpdateItemCommand({
        TableName: store.tableName,
        Key: { [partitionKey]: { S: key } },
        UpdateExpression: 'SET #status = :completed, completedAt = :now, #ttl = :ttl REMOVE leaseExpiresAt',
        ConditionExpression: '#owner = :owner',
        ExpressionAttributeNames: { '#status': 'status', '#owner': 'owner', '#ttl': ttlAttribute },
        ExpressionAttributeValues: {
          ':completed': { S: 'completed' },
          ':now': { N: String(now) },
          ':owner': { S: owner },
          ':ttl': { N: String(Math.ceil(now / 1000) + store.ttlSeconds) },
        },
      }),
    );
    return true;
  } catch (error) {
    if (error instanceof ConditionalCheckFailedException) {
      return false;
    }
    throw error;
  }
}

/** Releases `key` after a failed attempt so the retry can claim it, if this delivery still owns it. */
export async function release(store: IdempotencyStore, key: string, owner: string): Promise<boolean> {
  const [{ DeleteItemCommand, ConditionalCheckFailedException }, dynamo] = await Promise.all([
    import('@aws-sdk/client-dynamodb'),
    store.clients.dynamo(),
  ]);
  try {
    await dynamo.send(
      new DeleteItemCommand({
        TableName: store.tableName,
        Key: { [partitionKey]: { S: key } },
        ConditionExpression: '#owner = :owner AND #status = :inProgress',
        ExpressionAttributeNames: { '#owner': 'owner', '#status': 'status' },
        ExpressionAttributeValues: { ':owner': { S: owner }, ':inProgress': { S: 'in-progress' } },
      }),
    );
    return true;
  } catch (error) {
    if (error instanceof ConditionalCheckFailedException) {
      return false;
    }
    throw error;
  }
}

async function read(store: IdempotencyStore, key: string): Promise<Record<string, AttributeValue> | undefined> {
  const [{ GetItemCommand }, dynamo] = await Promise.all([import('@aws-sdk/client-dynamodb'), store.clients.dynamo()]);
  const result = await dynamo.send(
    new GetItemCommand({ TableName: store.tableName, Key: { [partitionKey]: { S: key } }, ConsistentRead: true }),
  );
  return result.Item;
}
