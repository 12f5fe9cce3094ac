import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { FINAL_JOB_STATES, JOB_TABLE, type JobState } from '../../lib/definition/tables.ts';
import type { AwsClients } from './aws-clients.ts';
import { lazyClients } from './aws-clients.ts';

/**
 * Job status on DynamoDB: one item per job id. Each write is conditional, so a state never moves backwards: once
 * `completed` or `dead-lettered`, a late or duplicate delivery cannot change it.
 */

const { partitionKey, ttlAttribute } = JOB_TABLE;

/** A job's record as {@link getJob} returns it. */
export interface JobRecord {
  readonly jobId: string;
  readonly state: JobState;
  readonly stage?: string;
  readonly correlationId?: string;
  /** Deliveries that started processing the job. */
  readonly attempts: number;
  readonly lastError?: { readonly class: string; readonly message: string };
  /** Epoch milliseconds. */
  readonly acceptedAt?: number;
  readonly startedAt?: number;
  readonly updatedAt: number;
  readonly completedAt?: number;
  readonly deadLetteredAt?: number;
}

/** Where job records live and how long they are kept. */
export interface JobStore {
  readonly tableName: string;
  readonly ttlDays: number;
  readonly clients: AwsClients;
}

/** What a state change records besides the state. */
export interface JobTransition {
  readonly jobId: string;
  readonly state: Exclude<JobState, 'accepted'>;
  readonly stage: string;
  readonly correlationId?: string;
  readonly acceptedAt?: number;
  readonly error?: { readonly class: string; readonly message: string };
}

const FINAL = FINAL_JOB_STATES.map((state, index) => [`:final${index}`, { S: state }] as const);

/** Records a transition. Returns false when the job is already in a final state (the write was refused). */
export async function recordTransition(store: JobStore, transition: JobTransition, now = Date.now()): Promise<boolean> {
  const [{ UpdateItemCommand, ConditionalCheckFailedException }, dynamo] = await Promise.all([
    import('@aws-sdk/client-dynamodb'),
    store.clients.dynamo(),
  ]);
  const names: Record<string, string> = { '#state': 'state', '#ttl': ttlAttribute };
  const values: Record<string, AttributeValue> = {
    ':state': { S: transition.state },
    ':now': { N: String(now) },
    ':stage': { S: transition.stage },
    ':ttl': { N: String(Math.ceil(now / 1000) + store.ttlDays * 86_400) },
    ...Object.fromEntries(FINAL),
  };
  const sets = ['#state = :state', 'updatedAt = :now', 'stage = :stage', '#ttl = :ttl'];
  const adds: string[] = [];
  if (transition.state === 'processing') {
    sets.push('startedAt = if_not_exists(startedAt, :now)');
    adds.push('attempts :one');
    values[':one'] = { N: '1' };
  }
  if (transition.state === 'completed') {
    sets.push('completedAt = :now');
  }
  if (transition.state === 'dead-lettered') {
    sets.push('deadLetteredAt = :now');
  }
  if (transition.correlationId !== undefined) {
    sets.push('correlationId = if_not_exists(correlationId, :correlationId)');
    values[':correlationId'] = { S: transition.correlationId };
  }
  if (transition.acceptedAt !== undefined) {
    sets.push('acceptedAt = if_not_exists(acceptedAt, :acceptedAt)');
    values[':acceptedAt'] = { N: String(transition.acceptedAt) };
  }
  if (transition.error) {
    sets.push('lastError = :error');
    values[':error'] = { M: { class: { S: transition.error.class }, message: { S: transition.error.message } } };
  }
  try {
    await dynamo.send(
      new UpdateItemCommand({
        TableName: store.tableName,
        Key: { [partitionKey]: { S: transition.jobId } },
        UpdateExpression: `SET ${sets.join(', ')}${adds.length > 0 ? ` ADD ${adds.join(', ')}` : ''}`,
        ConditionExpression: `attribute_not_exists(#state) OR NOT (#state IN (${FINAL.map(([name]) => name).join(', ')}))`,
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
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

/**
 * Reads one job's record, or `undefined` when the table has none (never accepted, or expired by TTL).
 *
 * @example
 * const job = await getJob('01J8Z…', { tableName: process.env.SLUICE_JOB_TABLE });
 * if (job?.state === 'dead-lettered') console.log(job.lastError);
 */
export async function getJob(
  jobId: string,
  options: { readonly tableName?: string; readonly clients?: AwsClients } = {},
): Promise<JobRecord | undefined> {
  const tableName = options.tableName ?? process.env.SLUICE_JOB_TABLE;
  if (!tableName) {
    throw new Error('getJob needs a table name: pass { tableName } or set SLUICE_JOB_TABLE.');
  }
  const clients = options.clients ?? lazyClients();
  const [{ GetItemCommand }, dynamo] = await Promise.all([import('@aws-sdk/client-dynamodb'), clients.dynamo()]);
  const result = await dynamo.send(
    new GetItemCommand({ TableName: tableName, Key: { [partitionKey]: { S: jobId } }, ConsistentRead: true }),
  );
  return result.Item ? toJobRecord(result.Item) : undefined;
}

/** Turns a DynamoDB item of the job table into a {@link JobRecord}. */
export function toJobRecord(item: Record<string, AttributeValue>): JobRecord {
  const number = (name: string) => (item[name]?.N === undefined ? undefined : Number(item[name]?.N));
  const string = (name: string) => item[name]?.S;
  const error = item.lastError?.M;
  const record: Record<string, unknown> = {
    jobId: string(partitionKey),
    state: string('state'),
    stage: string('stage'),
    correlationId: string('correlationId'),
    attempts: number('attempts') ?? 0,
    lastError: error ? { class: error.class?.S ?? 'Error', message: error.message?.S ?? '' } : undefined,
    acceptedAt: number('acceptedAt'),
    startedAt: number('startedAt'),
    updatedAt: number('updatedAt') ?? 0,
    completedAt: number('completedAt'),
    deadLetteredAt: number('deadLetteredAt'),
  };
  for (const key of Object.keys(record)) {
    if (record[key] === undefined) {
      delete record[key];
    }
  }
  return record as unknown as JobRecord;
}
