import { definePipeline, type Pipeline } from '../definition/index.ts';

/**
 * The example pipeline: documents are accepted, extracted into chunks, and the chunks embedded.
 *
 * The CDK app (`bin/app.ts`), the local runtime (`npm start`) and the simulator all read this one definition.
 */
export const examplePipeline: Pipeline = definePipeline({
  name: 'documents',
  description: 'Document ingestion: extract each document, then embed its chunks.',
  stages: [
    {
      name: 'extract',
      description: 'Validates a document job and splits it into chunks for the embed stage.',
      next: 'embed',
      consumer: {
        entry: 'functions/examples/extract-document.ts',
        timeoutSeconds: 30,
        memorySizeMiB: 512,
        batchSize: 10,
        maxBatchingWindowSeconds: 1,
        maxConcurrency: 10,
        reservedConcurrency: 10,
      },
      flow: { ageSloSeconds: 120, recordProcessingMs: 50 },
    },
    {
      name: 'embed',
      description: 'Embeds the chunks of a document.',
      // Chunks are at most 8 KiB of text, so 64 KiB messages keep a full batch of 25 far below Lambda's 6 MB payload.
      queue: { maxMessageSizeBytes: 65_536 },
      consumer: {
        entry: 'functions/examples/embed-chunks.ts',
        timeoutSeconds: 60,
        memorySizeMiB: 1024,
        batchSize: 25,
        maxBatchingWindowSeconds: 2,
        maxConcurrency: 5,
        reservedConcurrency: 5,
      },
      flow: { ageSloSeconds: 300, recordProcessingMs: 100 },
    },
  ],
  jobs: { enabled: true },
  idempotency: { enabled: true },
  ingress: {
    stage: 'extract',
    throttle: { rateLimitPerSecond: 500, burstLimit: 250 },
    clients: [
      { name: 'uploader', rateLimitPerSecond: 200, burstLimit: 100, quota: { limit: 1_000_000, period: 'DAY' } },
      { name: 'backfill', rateLimitPerSecond: 50, burstLimit: 25 },
    ],
    backpressure: { overload: 'buffer', depthCacheTtlSeconds: 1, authorizerResultTtlSeconds: 5 },
    priority: { enabled: true, lowLaneMaxConcurrency: 4 },
  },
});
