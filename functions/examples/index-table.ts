import {
  ConditionalCheckFailedException,
  type DynamoDBClient,
  UpdateItemCommand,
  type UpdateItemCommandInput,
} from '@aws-sdk/client-dynamodb';

/** Environment variable holding the example index table's name (set by `DocumentIndex` and the local example). */
export const INDEX_TABLE_ENV = 'EXAMPLE_INDEX_TABLE';
/** The index table's partition key: `<documentId>#<chunkIndex>`. */
export const INDEX_TABLE_KEY = 'pk';
/**
 * The counter every applied write of an index item adds 1 to. A job's write is applied once however often it is
 * replayed ({@link indexWrite}), so every item of a finished run holds `writes = 1` unless two different jobs indexed
 * the same chunk.
 */
export const INDEX_WRITES_ATTRIBUTE = 'writes';

/** One embedded chunk, as the `index` stage writes it. */
export interface IndexedChunk {
  readonly documentId: string;
  readonly chunkIndex: number;
  readonly vector: readonly number[];
}

/**
 * The index write of one chunk by one job: set the chunk's vector and the job that wrote it, and add 1 to `writes` —
 * on condition that this job has not written the item already (`attribute_not_exists(pk) OR jobId <> :jobId`).
 *
 * The condition is what makes the write idempotent. An `ADD` is an atomic counter, and "with an atomic counter, the
 * updates are not idempotent … the numeric value will increment each time you call UpdateItem"; a conditional write
 * can be retried safely because DynamoDB applies it only while the condition holds
 * (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/WorkingWithItems.html#WorkingWithItems.AtomicCounters,
 * #WorkingWithItems.ConditionalWrites.Idempotence). A replay happens whenever the write reached DynamoDB but its
 * answer, or the idempotency record's `completed` write after it, did not: the SDK's own retry of a timed-out call,
 * or a redelivery of the record after its execution environment died — event source mappings process each record at
 * least once (https://docs.aws.amazon.com/lambda/latest/dg/invocation-eventsourcemapping.html).
 *
 * Only the last writer is remembered (a bounded item): a replay of an older job after a newer job re-indexed the same
 * chunk would count again.
 */
export function indexWrite(tableName: string, chunk: IndexedChunk, jobId: string): UpdateItemCommandInput {
  return {
    TableName: tableName,
    Key: { [INDEX_TABLE_KEY]: { S: `${chunk.documentId}#${chunk.chunkIndex}` } },
    UpdateExpression:
      'SET documentId = :documentId, chunkIndex = :chunkIndex, vector = :vector, jobId = :jobId ADD #writes :one',
    ConditionExpression: 'attribute_not_exists(#key) OR jobId <> :jobId',
    ExpressionAttributeNames: { '#key': INDEX_TABLE_KEY, '#writes': INDEX_WRITES_ATTRIBUTE },
    ExpressionAttributeValues: {
      ':documentId': { S: chunk.documentId },
      ':chunkIndex': { N: String(chunk.chunkIndex) },
      ':vector': { L: chunk.vector.map((value) => ({ N: String(value) })) },
      ':jobId': { S: jobId },
      ':one': { N: '1' },
    },
  };
}

/**
 * Applies {@link indexWrite}. A `ConditionalCheckFailedException` means this job's write is already in the item (an
 * earlier attempt applied it): that is success, reported as `already-applied`
 * (https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_UpdateItem.html#API_UpdateItem_Errors).
 */
export async function writeIndexItem(
  dynamo: DynamoDBClient,
  tableName: string,
  chunk: IndexedChunk,
  jobId: string,
): Promise<'written' | 'already-applied'> {
  try {
    await dynamo.send(new UpdateItemCommand(indexWrite(tableName, chunk, jobId)));
    return 'written';
  } catch (error) {
    if (error instanceof ConditionalCheckFailedException) return 'already-applied';
    throw error;
  }
}
