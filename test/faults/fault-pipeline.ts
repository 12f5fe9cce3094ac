import { resolve } from 'node:path';
import { definePipeline, type Pipeline } from '../../lib/definition/index.ts';
import { exampleDefinition } from '../../lib/example/pipeline.ts';

/** What the fault pipeline is built from; the ingress child process receives the same as JSON. */
export interface FaultPipelineOptions {
  /** Directory of the fault switch (`switch.json`) and the markers of faults that fire once. */
  readonly switchDir: string;
}

/**
 * Function timeouts in the matrix: a third of the example's (30 s → 10 s; 60 s → 20 s for `embed`, whose batch of 96
 * records makes about 200 DynamoDB calls — claims, limiter takes, completions), so a record whose environment died
 * comes back after 61 s (121 s in `embed`) instead of 181 s (361 s): visibility timeout = 6 × timeout + window. 6 s
 * everywhere was tried and is too short on a busy two-core machine (cold environments ran into it, and every timeout
 * made the next environment cold again); 10 s for `embed` timed out in half its invocations there. Nothing else of the
 * example changes.
 */
export function faultTimeoutSeconds(exampleTimeoutSeconds: number): number {
  return Math.ceil(exampleTimeoutSeconds / 3);
}

/**
 * Receives before SQS's redrive takes a message to the dead-letter queue: 10 instead of the example's 5. On a busy
 * two-core machine every receive counts — a record handed back for lack of time, a batch whose invocation timed out —
 * and at 5 SQS redrove records to the dead-letter queue without a reason (and some that had completed), and an outage
 * of DynamoDB Local longer than the 5 attempts' backoff dead-lettered records the runtime could not claim.
 */
export const FAULT_MAX_RECEIVE_COUNT = 10;

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
      queue: { ...('queue' in stage ? stage.queue : {}), maxReceiveCount: FAULT_MAX_RECEIVE_COUNT },
      consumer: {
        ...stage.consumer,
        entry: 'test/faults/fault-stage.ts',
        timeoutSeconds: faultTimeoutSeconds(stage.consumer.timeoutSeconds),
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
  /**
   * `index`: the index write of one chunk of each of these documents never answers (the table does not respond), so
   * the invocation runs into the function timeout. Once per document.
   */
  readonly hangIndexWrite?: readonly string[];
}
