import { DynamoDBClient, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { ConsumerConfigurationError, consumer } from '../runtime/index.ts';
import { INDEX_TABLE_ENV, INDEX_TABLE_KEY, INDEX_WRITES_ATTRIBUTE } from './index-table.ts';
import { VectorJob } from './schemas.ts';

const dynamo = new DynamoDBClient({});

/**
 * The example pipeline's last stage: writes each embedded chunk into the index, a DynamoDB table. Every write also
 * adds 1 to the item's `writes` counter, the side effect a fault test counts: with the pipeline's idempotency on, a
 * chunk delivered twice is written once, so every item of a finished run holds `writes = 1`.
 */
export const handler = consumer({
  schema: VectorJob,
  // Independent writes: the records of a batch are written at the same time.
  recordConcurrency: 10,
  handler: async (chunk, ctx) => {
    const tableName = process.env[INDEX_TABLE_ENV];
    if (!tableName) {
      throw new ConsumerConfigurationError(`${INDEX_TABLE_ENV} is not set: the index stage does not know its table`);
    }
    await dynamo.send(
      new UpdateItemCommand({
        TableName: tableName,
        Key: { [INDEX_TABLE_KEY]: { S: `${chunk.documentId}#${chunk.chunkIndex}` } },
        UpdateExpression:
          'SET documentId = :documentId, chunkIndex = :chunkIndex, vector = :vector, jobId = :jobId ADD #writes :one',
        ExpressionAttributeNames: { '#writes': INDEX_WRITES_ATTRIBUTE },
        ExpressionAttributeValues: {
          ':documentId': { S: chunk.documentId },
          ':chunkIndex': { N: String(chunk.chunkIndex) },
          ':vector': { L: chunk.vector.map((value) => ({ N: String(value) })) },
          ':jobId': { S: ctx.jobId },
          ':one': { N: '1' },
        },
      }),
    );
  },
});
