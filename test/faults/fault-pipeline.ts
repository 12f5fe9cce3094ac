import { definePipeline, type Pipeline } from '../../lib/definition/index.ts';

/** What the fault pipeline is built from; the ingress child process receives the same as JSON. */
export interface FaultPipelineOptions {
  readonly switchFile: string;
  readonly effectsTable: string;
  /** @default 262144 */
  readonly takeMaxMessageSizeBytes?: number;
  /** @default 262144 */
  readonly indexMaxMessageSizeBytes?: number;
}

/**
 * Two stages like the example's last two (a check-and-forward stage, then the index with its side effect), job status
 * and idempotency on, an ingress with backpressure in front. Timeouts are short so redeliveries come soon: a
 * 10 s function timeout (a batch of five on a busy two-core machine can need several seconds), hence a 60 s visibility
 * timeout (6 × timeout). Ten receives before the dead-letter queue.
 */
export function faultPipeline(options: FaultPipelineOptions): Pipeline {
  const environment = { FAULT_SWITCH_FILE: options.switchFile, FAULT_EFFECTS_TABLE: options.effectsTable };
  const stage = (name: string, maxMessageSizeBytes: number, next?: string) => ({
    name,
    ...(next ? { next } : {}),
    queue: { maxReceiveCount: 10, maxMessageSizeBytes },
    consumer: {
      entry: 'test/faults/fault-handler.ts',
      timeoutSeconds: 10,
      memorySizeMiB: 256,
      batchSize: 5,
      maxBatchingWindowSeconds: 0,
      maxConcurrency: 3,
      reservedConcurrency: 3,
      environment,
    },
    flow: { ageSloSeconds: 30, depthLimit: 400 },
  });
  return definePipeline({
    name: 'faults',
    stages: [
      stage('take', options.takeMaxMessageSizeBytes ?? 262_144, 'index'),
      stage('index', options.indexMaxMessageSizeBytes ?? 262_144),
    ],
    jobs: { enabled: true },
    idempotency: { enabled: true },
    ingress: { stage: 'take', throttle: { rateLimitPerSecond: 2_000, burstLimit: 1_000 } },
  });
}
