import { consumer, TransientError } from '../runtime/index.ts';
import { EMBEDDINGS_URL_ENV, embeddingClient } from './embedding-server.ts';
import { EmbeddingServiceError } from './embedding-service.ts';
import { ChunkJob } from './schemas.ts';

const embed = embeddingClient(process.env[EMBEDDINGS_URL_ENV]);

/**
 * The example pipeline's `embed` stage: embeds one chunk with the stand-in embedding service and forwards the vector
 * to `index`. A refused call (429 over the rate, 503 unavailable) is a transient failure: the record is retried with
 * backoff, and a run of them is what the stage's circuit breaker counts.
 */
export const handler = consumer({
  schema: ChunkJob,
  recordConcurrency: 5,
  handler: async (chunk, ctx) => {
    let vector: number[] | undefined;
    try {
      [vector] = await embed([chunk.text]);
    } catch (error) {
      if (error instanceof EmbeddingServiceError && error.status !== 400) {
        throw new TransientError(`the embedding service refused the call: ${error.message}`, { cause: error });
      }
      throw error;
    }
    ctx.forward({
      documentId: chunk.documentId,
      chunkIndex: chunk.chunkIndex,
      vector: vector ?? [],
      ...(chunk.tenantId === undefined ? {} : { tenantId: chunk.tenantId }),
    });
  },
});
