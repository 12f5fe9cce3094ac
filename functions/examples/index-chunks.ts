import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ConsumerConfigurationError, consumer } from '../runtime/index.ts';
import { INDEX_TABLE_ENV, writeIndexItem } from './index-table.ts';
import { VectorJob } from './schemas.ts';

const dynamo = new DynamoDBClient({});

/**
 * The example pipeline's last stage: writes each embedded chunk into the index, a DynamoDB table. The write is
 * conditional on the job (`index-table.ts`): a chunk whose write is replayed — after its execution environment died
 * between the write and its answer, say — is written once, so every item of a finished run holds `writes = 1`, the
 * side effect the fault matrix counts.
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
    const outcome = await writeIndexItem(dynamo, tableName, chunk, ctx.jobId);
    if (outcome === 'already-applied') {
      ctx.logger.info('Index write already applied by an earlier attempt of this job', {
        documentId: chunk.documentId,
        chunkIndex: chunk.chunkIndex,
      });
    }
  },
});
