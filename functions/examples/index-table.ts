/** Environment variable holding the example index table's name (set by `DocumentIndex` and the local example). */
export const INDEX_TABLE_ENV = 'EXAMPLE_INDEX_TABLE';
/** The index table's partition key: `<documentId>#<chunkIndex>`. */
export const INDEX_TABLE_KEY = 'pk';
/** The counter every write of an index item adds 1 to: 1 on every item after a run with exactly-once effects. */
export const INDEX_WRITES_ATTRIBUTE = 'writes';
