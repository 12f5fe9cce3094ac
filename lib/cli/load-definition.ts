import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { $ZodType } from 'zod/v4/core';
import type { Pipeline } from '../definition/index.ts';
import type { LocalPipelineOptions } from '../local/local-pipeline.ts';
import { CliError, UsageError } from './errors.ts';

/** A pipeline to run locally, with the schema its ingress validates. */
export interface LocalDefinition {
  readonly pipeline: Pipeline;
  readonly acceptSchema?: $ZodType;
  /** Resources the handlers need besides the pipeline's own (the example's index table and embedding service). */
  readonly resources?: LocalPipelineOptions['resources'];
}

/**
 * The example pipeline, or the one a module exports as `pipeline` (a `definePipeline` result), with an optional
 * `acceptSchema` export for the ingress and an optional `resources` export (a `LocalPipelineOptions['resources']`
 * function starting what the handlers need besides the pipeline's own queues and tables).
 */
export async function loadDefinition(modulePath: string | undefined): Promise<LocalDefinition> {
  if (modulePath === undefined) return exampleDefinition();
  const absolute = resolve(modulePath);
  if (!existsSync(absolute)) {
    throw new UsageError(
      `--pipeline ${modulePath}: no such file (looked for ${absolute}); pass the path of a module that exports 'pipeline'`,
    );
  }
  let module: { pipeline?: Pipeline; acceptSchema?: $ZodType; resources?: LocalDefinition['resources'] };
  try {
    module = (await import(pathToFileURL(absolute).href)) as typeof module;
  } catch (error) {
    // A module that does not load (a syntax error, an import it cannot resolve): its own first line says why.
    throw new CliError(`--pipeline ${modulePath} does not load: ${String((error as Error).message).split('\n')[0]}`, {
      cause: error,
    });
  }
  if (!module.pipeline || !Array.isArray(module.pipeline.stages)) {
    throw new UsageError(`--pipeline ${modulePath} must export 'pipeline', the result of definePipeline(...)`);
  }
  if (module.resources !== undefined && typeof module.resources !== 'function') {
    throw new UsageError(
      `--pipeline ${modulePath}: 'resources' must be a function, but a ${typeof module.resources} was exported`,
    );
  }
  return {
    pipeline: module.pipeline,
    ...(module.acceptSchema ? { acceptSchema: module.acceptSchema } : {}),
    ...(module.resources ? { resources: module.resources } : {}),
  };
}

/**
 * The example pipeline of this repository. The published package leaves the example out, so there the user is told
 * to pass --pipeline.
 */
async function exampleDefinition(): Promise<LocalDefinition> {
  try {
    const [{ examplePipeline }, { DocumentJob }, { startExampleResources }] = await Promise.all([
      import('../example/pipeline.ts'),
      import('../../functions/examples/schemas.ts'),
      import('../example/local-setup.ts'),
    ]);
    return { pipeline: examplePipeline, acceptSchema: DocumentJob, resources: startExampleResources };
  } catch (error) {
    if ((error as { code?: string }).code !== 'ERR_MODULE_NOT_FOUND') throw error;
    throw new UsageError(
      "--pipeline MODULE is required: the path of a module that exports 'pipeline' (a definePipeline result)",
      { cause: error },
    );
  }
}
