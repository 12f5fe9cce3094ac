import { definePipeline, type Pipeline } from '../lib/definition/index.ts';

/**
 * The pipeline `bench/dev-memory.ts --light` runs under `sluice dev --pipeline`: one stage of the demo's simulated work
 * (`SLUICE_DEMO_WORK_MS` a job, set to 1 ms by the bench), no job table and no idempotency table, so a job costs the
 * dev server its ingress request, one SQS message and one slot of a batch, and 100,000 jobs take minutes on a shared
 * machine instead of hours. Its handler worker runs in the dev process like the example's.
 */
export const pipeline: Pipeline = definePipeline({
  name: 'devmem',
  stages: [
    {
      name: 'work',
      consumer: {
        entry: 'functions/demo/simulated-work.ts',
        timeoutSeconds: 30,
        memorySizeMiB: 256,
        batchSize: 10,
        maxBatchingWindowSeconds: 0,
        maxConcurrency: 20,
        reservedConcurrency: 20,
      },
      flow: { ageSloSeconds: 600, depthLimit: 100_000, recordProcessingMs: 1 },
    },
  ],
});
