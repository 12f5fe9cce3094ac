import { type AttributeValue, type DynamoDBClient, GetItemCommand, ScanCommand } from '@aws-sdk/client-dynamodb';
import { JOB_STATES, JOB_TABLE, type JobState } from '../definition/index.ts';
import { OpsError } from './errors.ts';

/**
 * `sluice jobs`: a job's record by id, and jobs by state since a time. The job table's only key is the job id (no
 * index on state or time), so a listing is a Scan with a filter: DynamoDB reads — and bills — every item it scans,
 * filtered or not (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Scan.html#Scan.FilterExpression);
 * the scan stops after `maxScanned` items and says so.
 */

/** Turns an item of the job table into the record the runtime's `getJob` returns (passed in: lib/ops does not import the runtime). */
export type ItemReader<T> = (item: Record<string, AttributeValue>) => T;

/** A job by id (strongly consistent read), or undefined. */
export async function getJobRecord<T>(
  dynamo: DynamoDBClient,
  tableName: string,
  jobId: string,
  read: ItemReader<T>,
): Promise<T | undefined> {
  try {
    const result = await dynamo.send(
      new GetItemCommand({
        TableName: tableName,
        Key: { [JOB_TABLE.partitionKey]: { S: jobId } },
        ConsistentRead: true,
      }),
    );
    return result.Item ? read(result.Item) : undefined;
  } catch (error) {
    throw new OpsError(`reading job ${jobId} from table ${tableName} failed: ${(error as Error).message}`, {
      cause: error,
    });
  }
}

/** Options of {@link listJobs}. */
export interface ListJobsOptions {
  readonly state?: JobState;
  /** Only jobs updated at or after this epoch millisecond. */
  readonly sinceMs?: number;
  /** Jobs returned at most. @default 50 */
  readonly limit?: number;
  /** Items scanned at most. @default 100000 */
  readonly maxScanned?: number;
}

/** Jobs in a state since a time, newest first. */
export async function listJobs<T extends { updatedAt: number }>(
  dynamo: DynamoDBClient,
  tableName: string,
  options: ListJobsOptions,
  read: ItemReader<T>,
): Promise<{ jobs: T[]; scanned: number; truncated: boolean }> {
  const limit = options.limit ?? 50;
  const maxScanned = options.maxScanned ?? 100_000;
  const filters: string[] = [];
  const names: Record<string, string> = {};
  const values: Record<string, AttributeValue> = {};
  if (options.state) {
    filters.push('#state = :state');
    names['#state'] = 'state';
    values[':state'] = { S: options.state };
  }
  if (options.sinceMs !== undefined) {
    filters.push('updatedAt >= :since');
    values[':since'] = { N: String(options.sinceMs) };
  }
  const jobs: T[] = [];
  let scanned = 0;
  let startKey: Record<string, AttributeValue> | undefined;
  try {
    do {
      const page = await dynamo.send(
        new ScanCommand({
          TableName: tableName,
          ...(filters.length > 0 ? { FilterExpression: filters.join(' AND ') } : {}),
          ...(Object.keys(names).length > 0 ? { ExpressionAttributeNames: names } : {}),
          ...(Object.keys(values).length > 0 ? { ExpressionAttributeValues: values } : {}),
          Limit: Math.min(1_000, maxScanned - scanned),
          ...(startKey ? { ExclusiveStartKey: startKey } : {}),
        }),
      );
      scanned += page.ScannedCount ?? 0;
      for (const item of page.Items ?? []) jobs.push(read(item));
      startKey = page.LastEvaluatedKey;
    } while (startKey && scanned < maxScanned);
  } catch (error) {
    throw new OpsError(`scanning table ${tableName} failed: ${(error as Error).message}`, { cause: error });
  }
  jobs.sort((a, b) => b.updatedAt - a.updatedAt);
  return { jobs: jobs.slice(0, limit), scanned, truncated: startKey !== undefined };
}

/** `30s`, `15m`, `1h`, `2d` as milliseconds; an error naming the format otherwise. */
export function parseDuration(text: string): number {
  const match = /^(\d+)(s|m|h|d)$/.exec(text.trim());
  if (!match) {
    throw new OpsError(`--since must be a number followed by s, m, h or d (e.g. 1h), but '${text}' was provided`);
  }
  const unit = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }[match[2] as 's' | 'm' | 'h' | 'd'];
  return Number(match[1]) * unit;
}

/** Whether `value` is a job state; the states are in {@link JOB_STATES}. */
export function isJobState(value: string): value is JobState {
  return (JOB_STATES as readonly string[]).includes(value);
}
