import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { expectedChunks } from '../../functions/examples/document-store.ts';
import { INDEX_WRITES_ATTRIBUTE } from '../../functions/examples/index-table.ts';

/**
 * What the example's index says about each document job: the side-effect counter the scenarios and the fault matrix
 * read their ledgers from. A document job (its root job id; the jobs it fans out to are `<root>.…`) is complete when
 * the index holds every chunk its document yields (`expectedChunks`), and each chunk was written once when its
 * `writes` counter is 1.
 */

/** One document job as the index holds it. */
export interface IndexedDocument {
  /** The accepted job's id (the root of the ids its chunks were indexed under). */
  readonly root: string;
  readonly documentId: string;
  /** Chunks in the index. */
  readonly chunks: number;
  /** Chunks the document yields. */
  readonly expectedChunks: number;
  /** Every chunk is in the index. */
  readonly complete: boolean;
  /** Items written more than once. */
  readonly itemsWrittenTwice: number;
  /** Writes beyond the first, over all its items. */
  readonly extraWrites: number;
}

/** The index's items (a full scan) grouped by the root job id that last wrote them. */
export function documentsInIndex(items: readonly Record<string, AttributeValue>[]): Map<string, IndexedDocument> {
  const documents = new Map<string, { documentId: string; chunks: number; twice: number; extra: number }>();
  for (const item of items) {
    const root = (item.jobId?.S ?? '').split('.')[0] as string;
    const entry = documents.get(root) ?? { documentId: item.documentId?.S ?? '', chunks: 0, twice: 0, extra: 0 };
    const writes = Number(item[INDEX_WRITES_ATTRIBUTE]?.N ?? 0);
    entry.chunks++;
    if (writes > 1) {
      entry.twice++;
      entry.extra += writes - 1;
    }
    documents.set(root, entry);
  }
  const result = new Map<string, IndexedDocument>();
  for (const [root, entry] of documents) {
    const expected = expectedChunks(entry.documentId);
    result.set(root, {
      root,
      documentId: entry.documentId,
      chunks: entry.chunks,
      expectedChunks: expected,
      complete: entry.chunks === expected,
      itemsWrittenTwice: entry.twice,
      extraWrites: entry.extra,
    });
  }
  return result;
}
