import { consumer, PermanentError } from '../runtime/index.ts';
import { serviceTime } from './document-store.ts';
import { DocumentJob } from './schemas.ts';

/** Milliseconds the stand-in malware scan takes. */
export const SCAN_MS = 20;

/**
 * The example pipeline's first stage: scans a document before anything opens it. The stand-in scanner takes
 * {@link SCAN_MS} and rejects a document whose title carries the EICAR test marker (a permanent failure: the job goes
 * to the dead-letter queue with its reason at once, not after retries).
 */
export const handler = consumer({
  schema: DocumentJob,
  // Each record mostly waits on I/O: the records of a batch run at the same time.
  recordConcurrency: 10,
  handler: async (job, ctx) => {
    await serviceTime(SCAN_MS);
    if (job.title?.includes('EICAR-STANDARD-ANTIVIRUS-TEST-FILE')) {
      throw new PermanentError(`document ${job.documentId} carries the EICAR test signature and was quarantined`);
    }
    ctx.forward(job);
  },
});
