import { createHash } from 'node:crypto';

/**
 * The example's stand-in document store and chunker. The example has no real store, so a document's text is made
 * from its id: two to four paragraphs, always the same for the same id, so a redelivered job produces the same chunks
 * and a scenario can tell how many chunks each accepted document must end up with in the index.
 */

/** Largest chunk the embed stage accepts (ChunkJob.text). */
export const CHUNK_CHARACTERS = 8_192;

/** Milliseconds a fetch from the stand-in store takes (a small object from S3 in the same Region). */
export const FETCH_MS = 40;

/** The text of a document: its title and 2–4 paragraphs derived from its id. */
export function documentText(documentId: string, title?: string): string {
  const digest = createHash('sha256').update(documentId).digest();
  const paragraphs = 2 + ((digest[0] ?? 0) % 3);
  const body = Array.from(
    { length: paragraphs },
    (_, index) =>
      `Paragraph ${index + 1} of ${documentId}: ${digest.toString('hex').slice(index * 8, index * 8 + 24)}.`,
  );
  return [title ?? `Document ${documentId}`, ...body].join('\n\n');
}

/** The chunks of a text: its paragraphs (the title's is merged into the first), each at most CHUNK_CHARACTERS. */
export function chunksOf(text: string): string[] {
  const paragraphs = text.split(/\n{2,}/).filter((paragraph) => paragraph.trim().length > 0);
  if (paragraphs.length > 1) paragraphs.splice(0, 2, `${paragraphs[0]}\n\n${paragraphs[1]}`);
  return paragraphs.map((paragraph) => paragraph.slice(0, CHUNK_CHARACTERS));
}

/** How many chunks the document with this id yields (what `index` must hold for it once the job completed). */
export function expectedChunks(documentId: string, title?: string): number {
  return chunksOf(documentText(documentId, title)).length;
}

/** Milliseconds the stand-in chunker takes (tokenizing a document to find chunk boundaries). */
export const CHUNK_MS = 50;

/** Waits `ms` milliseconds: the service time of a stand-in call. */
export function serviceTime(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
