import { consumer } from '../runtime/index.ts';
import { CHUNK_MS, chunksOf, serviceTime } from './document-store.ts';
import { TextJob } from './schemas.ts';

/**
 * The example pipeline's `chunk` stage: splits a document's text into paragraph-sized chunks, one `embed` job each.
 * The chunk job ids are `<this job's id>.<n>` on every delivery, so a redelivered text yields the same jobs and the
 * next stages deduplicate them.
 */
export const handler = consumer({
  schema: TextJob,
  // Each record mostly waits on I/O: the records of a batch run at the same time.
  recordConcurrency: 10,
  handler: async (job, ctx) => {
    await serviceTime(CHUNK_MS);
    const chunks = chunksOf(job.text);
    chunks.forEach((text, chunkIndex) => {
      ctx.forward({
        documentId: job.documentId,
        chunkIndex,
        text,
        ...(job.tenantId === undefined ? {} : { tenantId: job.tenantId }),
      });
    });
    ctx.logger.debug('Chunked a document', { documentId: job.documentId, chunks: chunks.length });
  },
});
