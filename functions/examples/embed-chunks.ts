import { createHash } from 'node:crypto';
import { consumer } from '../runtime/index.ts';
import { ChunkJob } from './schemas.ts';

/** Dimensions of the example's stand-in embedding. */
const DIMENSIONS = 8;

/**
 * The example pipeline's last stage: embeds one chunk. The stand-in embedding is derived from a SHA-256 of the text
 * (deterministic, so a redelivered chunk gets the same vector); a real stage would call an embedding model here and
 * let the runtime retry its throttling errors with backoff.
 */
export const handler = consumer({
  schema: ChunkJob,
  recordConcurrency: 5,
  handler: async (chunk, ctx) => {
    const digest = createHash('sha256').update(chunk.text).digest();
    const vector = Array.from({ length: DIMENSIONS }, (_, index) => (digest[index] ?? 0) / 255);
    ctx.logger.debug('Embedded a chunk', { documentId: chunk.documentId, chunkIndex: chunk.chunkIndex, vector });
  },
});
