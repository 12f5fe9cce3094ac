import { definePipeline, type Pipeline, type PipelineInput } from '../definition/index.ts';

/**
 * The definition (as written) of the reference document-ingestion pipeline: ingress → `scan` → `extract` → `chunk` → `embed` → `index`.
 *
 * Documents are scanned, their text extracted and split into chunks (two to four a document), the chunks embedded by
 * an embedding service that allows 3,000 texts a minute in calls of at most 96, and the vectors written to an index
 * table. The embedding service is the bottleneck (50 chunks a second), which is the point: when it slows down or
 * fails, pressure travels back stage by stage to the ingress ("How pressure travels" in the README).
 *
 * The CDK app (`bin/app.ts`), the local runtime (`npm start`), the scenarios (`sluice demo --scenario …`) and the
 * simulator all read this one definition.
 */
export const exampleDefinition = {
  name: 'documents',
  description: 'Document ingestion: scan, extract, chunk, embed and index each document.',
  tenantKey: 'tenantId',
  stages: [
    {
      name: 'scan',
      description: 'Scans an accepted document for malware before anything opens it.',
      next: 'extract',
      consumer: {
        entry: 'functions/examples/scan-document.ts',
        timeoutSeconds: 30,
        batchSize: 10,
        maxBatchingWindowSeconds: 1,
        recordConcurrency: 10,
        maxConcurrency: 4,
        reservedConcurrency: 4,
      },
      flow: { ageSloSeconds: 20, recordProcessingMs: 20 },
    },
    {
      name: 'extract',
      description: 'Fetches a scanned document and extracts its text.',
      next: 'chunk',
      consumer: {
        entry: 'functions/examples/extract-document.ts',
        timeoutSeconds: 30,
        batchSize: 10,
        maxBatchingWindowSeconds: 1,
        recordConcurrency: 10,
        maxConcurrency: 4,
        reservedConcurrency: 4,
      },
      flow: { ageSloSeconds: 20, recordProcessingMs: 40 },
    },
    {
      name: 'chunk',
      description: 'Splits a document text into chunks for the embed stage.',
      next: 'embed',
      consumer: {
        entry: 'functions/examples/chunk-document.ts',
        timeoutSeconds: 30,
        batchSize: 10,
        maxBatchingWindowSeconds: 1,
        recordConcurrency: 10,
        maxConcurrency: 2,
        reservedConcurrency: 2,
      },
      flow: { ageSloSeconds: 20, recordProcessingMs: 50 },
    },
    {
      name: 'embed',
      description: 'Embeds chunks with the embedding service (3,000 texts a minute, 96 a call).',
      next: 'index',
      // Chunks are at most 8 KiB of text, so 64 KiB messages keep a full batch of 96 far below Lambda's 6 MB payload.
      queue: { maxMessageSizeBytes: 65_536 },
      consumer: {
        entry: 'functions/examples/embed-chunks.ts',
        timeoutSeconds: 60,
        memorySizeMiB: 1024,
        batchSize: 96,
        maxBatchingWindowSeconds: 1,
        maxConcurrency: 2,
        reservedConcurrency: 2,
        recordConcurrency: 96,
      },
      flow: { ageSloSeconds: 30, recordProcessingMs: 200 },
      downstream: { embeddings: { ratePerMinute: 3_000 } },
      breaker: { failureRatio: 0.5, windowSeconds: 10, minimumCalls: 10, openSeconds: 10, halfOpenProbes: 3 },
    },
    {
      name: 'index',
      description: 'Writes each embedded chunk into the index table.',
      consumer: {
        entry: 'functions/examples/index-chunks.ts',
        timeoutSeconds: 30,
        batchSize: 10,
        maxBatchingWindowSeconds: 1,
        maxConcurrency: 2,
        reservedConcurrency: 2,
        recordConcurrency: 10,
      },
      flow: { ageSloSeconds: 20, recordProcessingMs: 20 },
    },
  ],
  jobs: { enabled: true },
  idempotency: { enabled: true },
  ingress: {
    stage: 'scan',
    throttle: { rateLimitPerSecond: 500, burstLimit: 250 },
    clients: [
      { name: 'uploader', rateLimitPerSecond: 200, burstLimit: 100, quota: { limit: 1_000_000, period: 'DAY' } },
      { name: 'backfill', rateLimitPerSecond: 50, burstLimit: 25 },
    ],
    backpressure: { overload: 'buffer', depthCacheTtlSeconds: 1, authorizerResultTtlSeconds: 5 },
    priority: { enabled: true, lowLaneMaxConcurrency: 4 },
  },
} satisfies PipelineInput;

/** The example definition, validated and resolved. */
export const examplePipeline: Pipeline = definePipeline(exampleDefinition);
