import { CreateTableCommand, type DynamoDBClient, ResourceInUseException } from '@aws-sdk/client-dynamodb';
import {
  EMBEDDINGS_URL_ENV,
  type EmbeddingServer,
  startEmbeddingServer,
} from '../../functions/examples/embedding-server.ts';
import type { EmbeddingServiceOptions } from '../../functions/examples/embedding-service.ts';
import { INDEX_TABLE_ENV, INDEX_TABLE_KEY } from '../../functions/examples/index-table.ts';

/**
 * What the example pipeline needs around it when it runs locally: the index table (what `DocumentIndex` creates on
 * AWS) and the stand-in embedding service, served once for every container of the `embed` stage so its rate limit
 * is global, as a hosted API's is.
 */

/** The example's local resources, and the environment its stages get. */
export interface ExampleResources {
  readonly indexTableName: string;
  readonly embeddings: EmbeddingServer;
  /** Extra environment variables by stage name. */
  readonly environment: Readonly<Record<string, Readonly<Record<string, string>>>>;
  stop(): Promise<void>;
}

/** Creates the index table (or reuses it) and starts the embedding service. */
export async function startExampleResources(args: {
  readonly dynamo: DynamoDBClient;
  readonly prefix: string;
  readonly embeddings?: EmbeddingServiceOptions;
}): Promise<ExampleResources> {
  const indexTableName = `${args.prefix}-index`;
  try {
    await args.dynamo.send(
      new CreateTableCommand({
        TableName: indexTableName,
        AttributeDefinitions: [{ AttributeName: INDEX_TABLE_KEY, AttributeType: 'S' }],
        KeySchema: [{ AttributeName: INDEX_TABLE_KEY, KeyType: 'HASH' }],
        BillingMode: 'PAY_PER_REQUEST',
      }),
    );
  } catch (error) {
    if (!(error instanceof ResourceInUseException)) throw error;
  }
  const embeddings = await startEmbeddingServer(args.embeddings);
  return {
    indexTableName,
    embeddings,
    environment: {
      embed: { [EMBEDDINGS_URL_ENV]: embeddings.url },
      index: { [INDEX_TABLE_ENV]: indexTableName },
    },
    stop: () => embeddings.stop(),
  };
}
