import { consumer, PermanentError } from '../runtime/index.ts';
import { documentText, FETCH_MS, serviceTime } from './document-store.ts';
import { DocumentJob } from './schemas.ts';

/**
 * The example pipeline's `extract` stage: fetches a scanned document and extracts its text for `chunk`. The example
 * has no document store, so the stand-in fetch takes {@link FETCH_MS} and the text is derived from the document's id
 * (`document-store.ts`); a real stage would fetch `job.source` here and throw TransientError on a 5xx or timeout.
 */
export const handler = consumer({
  schema: DocumentJob,
  // Each record mostly waits on I/O: the records of a batch run at the same time.
  recordConcurrency: 10,
  handler: async (job, ctx) => {
    if (job.contentType === 'application/pdf') {
      throw new PermanentError(
        `contentType application/pdf is not supported by the example extractor (document ${job.documentId})`,
      );
    }
    await serviceTime(FETCH_MS);
    const text = documentText(job.documentId, job.title);
    ctx.forward({
      documentId: job.documentId,
      text,
      ...(job.tenantId === undefined ? {} : { tenantId: job.tenantId }),
    });
    ctx.logger.debug('Extracted a document', { documentId: job.documentId, characters: text.length });
  },
});
