import { definePipeline, type Pipeline } from '../lib/definition/index.ts';
import { startExampleResources } from '../lib/example/local-setup.ts';
import { exampleDefinition } from '../lib/example/pipeline.ts';
import type { LocalResourceContext, LocalResources } from '../lib/local/local-pipeline.ts';

/**
 * The example pipeline as `bench/dev-memory.ts --example-embeddings-per-minute N` runs it under `sluice dev --pipeline`:
 * the same five stages, handlers, job and idempotency tables, index table, ingress and API keys as `npm start`, with
 * the stand-in embedding service and the embed stage's limiter both set to `DEV_MEMORY_EMBEDDINGS_PER_MINUTE` texts a
 * minute instead of 3,000. At 3,000 (50 chunks a second, about 17 documents) 100,000 documents take 100 minutes; with
 * the service out of the way the run goes as fast as this machine carries five stages of job bookkeeping.
 */

/** Texts a minute of the embedding service and the embed stage's limiter. */
export const embeddingsPerMinute = Number(process.env.DEV_MEMORY_EMBEDDINGS_PER_MINUTE ?? 3_000);
if (!Number.isInteger(embeddingsPerMinute) || embeddingsPerMinute < 60) {
  throw new RangeError(
    `DEV_MEMORY_EMBEDDINGS_PER_MINUTE must be an integer of at least 60, but '${process.env.DEV_MEMORY_EMBEDDINGS_PER_MINUTE}' was provided`,
  );
}

/**
 * `DEV_MEMORY_BOOKKEEPING=off` turns the job status and idempotency tables off, as the scenarios do
 * (lib/local/scenarios.ts): they cost DynamoDB Local four writes a record in every stage, the local ceiling.
 */
const bookkeeping = process.env.DEV_MEMORY_BOOKKEEPING !== 'off';

export const pipeline: Pipeline = definePipeline({
  ...exampleDefinition,
  jobs: { enabled: bookkeeping },
  idempotency: { enabled: bookkeeping },
  stages: exampleDefinition.stages.map((stage) =>
    stage.name === 'embed' ? { ...stage, downstream: { embeddings: { ratePerMinute: embeddingsPerMinute } } } : stage,
  ),
});

export { DocumentJob as acceptSchema } from '../functions/examples/schemas.ts';

/** The example's index table and embedding service, the service at the bench's rate. */
export function resources(context: LocalResourceContext): Promise<LocalResources> {
  return startExampleResources({ ...context, embeddings: { ratePerMinute: embeddingsPerMinute } });
}
