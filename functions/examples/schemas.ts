import * as z from 'zod';

/**
 * Job schemas of the example pipeline. The consumers validate records against them, and the ingress generates its
 * request model (JSON schema) from the same objects.
 */

/** A document to ingest: where it is and what kind it is. Accepted by the `extract` stage. */
export const DocumentJob = z.strictObject({
  documentId: z.string().min(1).max(128),
  source: z.url().max(2048),
  contentType: z.enum(['text/plain', 'text/markdown', 'text/html', 'application/pdf']),
  title: z.string().max(512).optional(),
});
/** The data of a document job. */
export type DocumentJob = z.infer<typeof DocumentJob>;

/** One chunk of a document to embed. Produced by `extract`, consumed by `embed`. */
export const ChunkJob = z.strictObject({
  documentId: z.string().min(1).max(128),
  chunkIndex: z.int().min(0).max(9_999),
  text: z.string().min(1).max(8_192),
});
/** The data of a chunk job. */
export type ChunkJob = z.infer<typeof ChunkJob>;
