import { resolve } from 'node:path';
import { definePipeline, type Pipeline } from '../../lib/definition/index.ts';
import { exampleDefinition } from '../../lib/example/pipeline.ts';

/** What the fault pipeline is built from; the ingress child process receives the same as JSON. */
export interface FaultPipelineOptions {
  /** Directory of the fault switch (`switch.json`) and the markers of faults that fire once. */
  readonly switchDir: string;
}

/**
 * Function timeout of every stage in the matrix. The example's are 30 s (60 s for `embed`), so a record whose
 * environment died would come back after 3 to 6 minutes (visibility timeout = 6 × timeout + window); 10 s makes it
 * 61 s, which keeps the kill and timeout faults short. Shorter is not safe on a busy two-core machine: at 6 s,
 * cold execution environments (the first DynamoDB call loads the SDK's credential chain) ran into the timeout, and
 * each timeout made the next environment cold again. Nothing else of the example changes.
 */
export const FAULT_TIMEOUT_SECONDS = 10;

/** The environment variable naming the example handler a fault wrapper runs (test/faults/fault-stage.ts). */
export const FAULT_STAGE_ENTRY_ENV = 'FAULT_STAGE_ENTRY';
/** The environment variable naming the fault switch directory. */
export const FAULT_SWITCH_DIR_ENV = 'FAULT_SWITCH_DIR';

/**
 * The example pipeline (lib/example/pipeline.ts: scan → extract → chunk → embed → index, with its ingress, API keys,
 * priority lanes, overflow buffer, valve, limiter, breaker, idempotency and job status) as the fault matrix runs it:
 * each stage's handler is the example's own, run through a test-only wrapper that can inject a fault
 * (test/faults/fault-stage.ts), and every function timeout is {@link FAULT_TIMEOUT_SECONDS}.
 */
export function faultPipeline(options: FaultPipelineOptions): Pipeline {
  return definePipeline({
    ...exampleDefinition,
    name: 'docs-faults',
    stages: exampleDefinition.stages.map((stage) => ({
      ...stage,
      consumer: {
        ...stage.consumer,
        entry: 'test/faults/fault-stage.ts',
        timeoutSeconds: FAULT_TIMEOUT_SECONDS,
        environment: {
          [FAULT_STAGE_ENTRY_ENV]: resolve(stage.consumer.entry),
          [FAULT_SWITCH_DIR_ENV]: options.switchDir,
        },
      },
    })),
  });
}

/**
 * The fault switch (`switch.json` in the switch directory), read by every invocation of every stage. A fault that
 * fires once per document leaves a marker file next to it, so it fires once across environments and restarts.
 */
export interface FaultSwitch {
  /** By stage name: milliseconds every invocation waits before the example's handler runs (a slow consumer). */
  readonly slowMs?: Readonly<Record<string, number>>;
  /**
   * `index`: the execution environment exits (`process.exit(137)`) right after the index write of one chunk of each
   * of these documents reached DynamoDB — the write applied, its answer, the idempotency record's `completed` write
   * and the batch's answer lost. Once per document.
   */
  readonly crashAfterIndexWrite?: readonly string[];
  /** `embed`: the embedding call carrying a chunk of each of these documents never answers. Once per document. */
  readonly hangEmbeddingCall?: readonly string[];
}
