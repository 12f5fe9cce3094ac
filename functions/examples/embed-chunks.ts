import { consumer, PermanentError, TransientError } from '../runtime/index.ts';
import { EMBEDDINGS_URL_ENV, embeddingClient } from './embedding-server.ts';
import { EmbeddingServiceError } from './embedding-service.ts';
import { ChunkJob } from './schemas.ts';

const embed = embeddingClient(process.env[EMBEDDINGS_URL_ENV]);

/** Texts in one call of the embedding service's batch endpoint. */
export const EMBEDDING_BATCH = 96;

/**
 * The example pipeline's `embed` stage: takes one token per chunk from the stage's shared `embeddings` rate limiter
 * (3,000 a minute across every container, so the embedding service's own limit is never hit), gathers the chunks of
 * a batch into calls of at most 96 texts with the `embeddings` micro-batcher, and forwards each vector to `index`.
 *
 * An empty limiter defers the record (it waits in its queue without spending an attempt). A refused call (429 over
 * the rate, 503 unavailable) is a transient failure of every record in it: retried with backoff, and counted by the
 * stage's circuit breaker, which opens when the service is down and pauses the stage through the valve. A 400 is
 * the item's fault: the micro-batcher bisects the call to fail only that chunk's record.
 */
export const handler = consumer({
  schema: ChunkJob,
  // Every record of a batch in flight at once, so the micro-batcher can gather a full call.
  recordConcurrency: EMBEDDING_BATCH,
  batchers: {
    embeddings: {
      maxItems: EMBEDDING_BATCH,
      maxWaitMs: 50,
      call: async (texts: string[]) => {
        try {
          return await embed(texts);
        } catch (error) {
          if (error instanceof EmbeddingServiceError && error.status === 400) {
            throw new PermanentError(`the embedding service rejected the call: ${error.message}`, { cause: error });
          }
          throw new TransientError(`the embedding service refused the call: ${(error as Error).message}`, {
            cause: error,
          });
        }
      },
      isItemFailure: (error: unknown) => error instanceof PermanentError,
    },
  },
  handler: async (chunk, ctx) => {
    await ctx.limiter('embeddings').take(1);
    const vector = (await ctx.batch('embeddings').add(chunk.text)) as number[];
    ctx.forward({
      documentId: chunk.documentId,
      chunkIndex: chunk.chunkIndex,
      vector,
      ...(chunk.tenantId === undefined ? {} : { tenantId: chunk.tenantId }),
    });
  },
});
