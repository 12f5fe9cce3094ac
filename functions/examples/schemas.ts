import * as z from 'zod/mini';

/**
 * Job schemas of the example pipeline (ingress → scan → extract → chunk → embed → index). The consumers validate
 * records against them, and the ingress generates its request model (JSON schema) from the same objects. Written with
 * `zod/mini`, whose schemas tree-shake, so the example consumers stay under 100 KB bundled; classic `zod` schemas
 * work everywhere too.
 */

/** The tenant a job belongs to: the pipeline's `tenantKey` names this field, carried through every stage. */
const tenantId = z.optional(z.string().check(z.minLength(1), z.maxLength(64)));

/** A document to ingest: where it is and what kind it is. Accepted by the `scan` stage, forwarded to `extract`. */
export const DocumentJob = z.strictObject({
  documentId: z.string().check(z.minLength(1), z.maxLength(128)),
  source: z.url().check(z.maxLength(2048)),
  contentType: z.enum(['text/plain', 'text/markdown', 'text/html', 'application/pdf']),
  title: z.optional(z.string().check(z.maxLength(512))),
  tenantId,
});
/** The data of a document job. */
export type DocumentJob = z.infer<typeof DocumentJob>;

/** A document's extracted text. Produced by `extract`, consumed by `chunk`. */
export const TextJob = z.strictObject({
  documentId: z.string().check(z.minLength(1), z.maxLength(128)),
  text: z.string().check(z.minLength(1), z.maxLength(200_000)),
  tenantId,
});
/** The data of a text job. */
export type TextJob = z.infer<typeof TextJob>;

/** One chunk of a document to embed. Produced by `chunk`, consumed by `embed`. */
export const ChunkJob = z.strictObject({
  documentId: z.string().check(z.minLength(1), z.maxLength(128)),
  chunkIndex: z.int().check(z.minimum(0), z.maximum(9_999)),
  text: z.string().check(z.minLength(1), z.maxLength(8_192)),
  tenantId,
});
/** The data of a chunk job. */
export type ChunkJob = z.infer<typeof ChunkJob>;

/** One embedded chunk to index. Produced by `embed`, consumed by `index`. */
export const VectorJob = z.strictObject({
  documentId: z.string().check(z.minLength(1), z.maxLength(128)),
  chunkIndex: z.int().check(z.minimum(0), z.maximum(9_999)),
  vector: z.array(z.number()).check(z.minLength(1), z.maxLength(4_096)),
  tenantId,
});
/** The data of a vector job. */
export type VectorJob = z.infer<typeof VectorJob>;
