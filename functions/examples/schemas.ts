import * as z from 'zod/mini';

/**
 * Job schemas of the example pipeline. The consumers validate records against them, and the ingress generates its
 * request model (JSON schema) from the same objects. Written with `zod/mini`, whose schemas tree-shake, so the
 * example consumers stay under 100 KB bundled; classic `zod` schemas work everywhere too.
 */

/** A document to ingest: where it is and what kind it is. Accepted by the `extract` stage. */
export const DocumentJob = z.strictObject({
  documentId: z.string().check(z.minLength(1), z.maxLength(128)),
  source: z.url().check(z.maxLength(2048)),
  contentType: z.enum(['text/plain', 'text/markdown', 'text/html', 'application/pdf']),
  title: z.optional(z.string().check(z.maxLength(512))),
});
/** The data of a document job. */
export type DocumentJob = z.infer<typeof DocumentJob>;

/** One chunk of a document to embed. Produced by `extract`, consumed by `embed`. */
export const ChunkJob = z.strictObject({
  documentId: z.string().check(z.minLength(1), z.maxLength(128)),
  chunkIndex: z.int().check(z.minimum(0), z.maximum(9_999)),
  text: z.string().check(z.minLength(1), z.maxLength(8_192)),
});
/** The data of a chunk job. */
export type ChunkJob = z.infer<typeof ChunkJob>;
