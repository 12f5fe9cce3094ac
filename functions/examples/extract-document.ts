import { consumer, PermanentError } from '../runtime/index.ts';
import { DocumentJob } from './schemas.ts';

/** Largest chunk the embed stage accepts (ChunkJob.text). */
const CHUNK_CHARACTERS = 8_192;

/**
 * The example pipeline's first stage: checks a document job and splits the document into chunks for `embed`.
 * The example has no document store, so the "document" is its title and source, split into paragraph-sized chunks;
 * a real stage would fetch `job.source` here and throw TransientError on a 5xx or timeout.
 */
export const handler = consumer({
  schema: DocumentJob,
  handler: async (job, ctx) => {
    if (job.contentType === 'application/pdf') {
      throw new PermanentError(
        `contentType application/pdf is not supported by the example extractor (document ${job.documentId})`,
      );
    }
    const text = `${job.title ?? job.documentId}\n\n${job.source}`;
    const paragraphs = text.split(/\n{2,}/).filter((paragraph) => paragraph.trim().length > 0);
    paragraphs.forEach((paragraph, chunkIndex) => {
      ctx.forward({ documentId: job.documentId, chunkIndex, text: paragraph.slice(0, CHUNK_CHARACTERS) });
    });
    ctx.logger.info('Extracted a document', { documentId: job.documentId, chunks: paragraphs.length });
  },
});
