import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { $ZodType } from 'zod/v4/core';
import { DocumentJob } from '../../functions/examples/schemas.ts';
import type { Pipeline } from '../definition/index.ts';
import { startExampleResources } from '../example/local-setup.ts';
import { examplePipeline } from '../example/pipeline.ts';
import type { LocalPipelineOptions } from '../local/local-pipeline.ts';
import { UsageError } from './errors.ts';

/** A pipeline to run locally, with the schema its ingress validates. */
export interface LocalDefinition {
  readonly pipeline: Pipeline;
  readonly acceptSchema?: $ZodType;
  /** Resources the handlers need besides the pipeline's own (the example's index table and embedding service). */
  readonly resources?: LocalPipelineOptions['resources'];
}

/**
 * The example pipeline, or the one a module exports as `pipeline` (a `definePipeline` result), with an optional
 * `acceptSchema` export for the ingress.
 */
export async function loadDefinition(modulePath: string | undefined): Promise<LocalDefinition> {
  if (modulePath === undefined) {
    return { pipeline: examplePipeline, acceptSchema: DocumentJob, resources: startExampleResources };
  }
  const module = (await import(pathToFileURL(resolve(modulePath)).href)) as {
    pipeline?: Pipeline;
    acceptSchema?: $ZodType;
  };
  if (!module.pipeline || !Array.isArray(module.pipeline.stages)) {
    throw new UsageError(`--pipeline ${modulePath} must export 'pipeline', the result of definePipeline(...)`);
  }
  return { pipeline: module.pipeline, ...(module.acceptSchema ? { acceptSchema: module.acceptSchema } : {}) };
}
