import { CreateTableCommand, type DynamoDBClient, GetItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  INDEX_TABLE_KEY,
  INDEX_WRITES_ATTRIBUTE,
  indexWrite,
  writeIndexItem,
} from '../../functions/examples/index-table.ts';
import { localDynamoClient, uniqueName } from '../helpers/engines.ts';

/**
 * The example index's write under replay, on DynamoDB Local: a write that reached DynamoDB but whose answer was lost
 * (the SDK retries it, or the record is redelivered after its environment died) is sent again with the same job id.
 * An atomic counter is not idempotent; a conditional write is
 * (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/WorkingWithItems.html#WorkingWithItems.AtomicCounters,
 * #WorkingWithItems.ConditionalWrites.Idempotence).
 */

let dynamo: DynamoDBClient;
let tableName: string;
beforeAll(async () => {
  dynamo = localDynamoClient();
  tableName = uniqueName('index');
  await dynamo.send(
    new CreateTableCommand({
      TableName: tableName,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [{ AttributeName: INDEX_TABLE_KEY, AttributeType: 'S' }],
      KeySchema: [{ AttributeName: INDEX_TABLE_KEY, KeyType: 'HASH' }],
    }),
  );
});

const chunk = (documentId: string) => ({ documentId, chunkIndex: 2, vector: [0.25, 0.5] });

async function writesOf(documentId: string): Promise<number> {
  const result = await dynamo.send(
    new GetItemCommand({
      TableName: tableName,
      Key: { [INDEX_TABLE_KEY]: { S: `${documentId}#2` } },
      ConsistentRead: true,
    }),
  );
  return Number(result.Item?.[INDEX_WRITES_ATTRIBUTE]?.N ?? 0);
}

describe('the example index write', () => {
  it('without its condition, a replayed write doubles the counter', async () => {
    // GIVEN the index write with its condition taken out (what index-chunks.ts did before: SET … ADD writes 1)
    const { ConditionExpression, ...unconditional } = indexWrite(tableName, chunk('doc-unconditional'), 'job-1.0');
    expect(ConditionExpression).toBeDefined();
    delete unconditional.ExpressionAttributeNames?.['#key'];
    // WHEN the same job's write is applied, then replayed
    await dynamo.send(new UpdateItemCommand(unconditional));
    await dynamo.send(new UpdateItemCommand(unconditional));
    // THEN the side effect counts twice
    expect(await writesOf('doc-unconditional')).toBe(2);
  });

  it('with its condition, a replayed write is applied once and reported as already applied', async () => {
    // GIVEN a chunk written by job-1.0
    expect(await writeIndexItem(dynamo, tableName, chunk('doc-conditional'), 'job-1.0')).toBe('written');
    // WHEN the same job's write is replayed (ConditionalCheckFailedException inside, success outside)
    const replayed = await writeIndexItem(dynamo, tableName, chunk('doc-conditional'), 'job-1.0');
    // THEN the counter stays at 1
    expect(replayed).toBe('already-applied');
    expect(await writesOf('doc-conditional')).toBe(1);
  });

  it('counts a write by another job of the same chunk', async () => {
    // GIVEN a chunk written by job-1.0
    await writeIndexItem(dynamo, tableName, chunk('doc-reindexed'), 'job-1.0');
    // WHEN a second job indexes the same document again
    const outcome = await writeIndexItem(dynamo, tableName, chunk('doc-reindexed'), 'job-2.0');
    // THEN that is a second write, not a replay
    expect(outcome).toBe('written');
    expect(await writesOf('doc-reindexed')).toBe(2);
  });

  it('fails on any other error of the write', async () => {
    // GIVEN a table that does not exist
    // WHEN the write is sent THEN its error is not mistaken for an applied write
    await expect(writeIndexItem(dynamo, uniqueName('missing'), chunk('doc-x'), 'job-1.0')).rejects.toThrow(
      /non-existent table|not found|ResourceNotFound/i,
    );
  });
});
