import type * as z from 'zod';
import {
  depthLimitFor,
  drainRatePerSecond,
  exceedsInvocationPayload,
  requiredVisibilityTimeoutSeconds,
  worstCaseBatchPayloadBytes,
} from './derive.ts';
import { DEFAULTS, LAMBDA_LIMITS } from './limits.ts';
import type { StageSchema } from './pipeline-schema.ts';
import {
  downstreamDrainRatePerSecond,
  type ResolvedBreaker,
  type ResolvedDownstream,
  type ResolvedTenantBulkhead,
  resolveBreaker,
  resolveDownstream,
  resolveTenantBulkhead,
} from './pressure.ts';

/** A stage's queue settings with every default applied and every derived value computed. */
export interface ResolvedQueueSettings {
  readonly fifo: boolean;
  readonly contentBasedDeduplication: boolean;
  readonly maxReceiveCount: number;
  /** At least 6 × the function timeout + the batching window. */
  readonly visibilityTimeoutSeconds: number;
  readonly retentionPeriodSeconds: number;
  readonly maxMessageSizeBytes: number;
  readonly deliveryDelaySeconds: number;
  /** Always 14 days, the longest SQS allows. */
  readonly deadLetterRetentionSeconds: number;
}

/** A stage's consumer settings with every default applied. */
export interface ResolvedConsumerSettings {
  readonly entry: string;
  readonly handler: string;
  readonly timeoutSeconds: number;
  readonly memorySizeMiB: number;
  readonly batchSize: number;
  readonly maxBatchingWindowSeconds: number;
  readonly maxConcurrency: number;
  readonly reservedConcurrency: number;
  readonly recordConcurrency: number;
  readonly environment: Readonly<Record<string, string>>;
}

/** A stage's flow-control targets, with the drain rate and (when not given) the depth limit derived. */
export interface ResolvedFlowSettings {
  readonly ageSloSeconds: number;
  /**
   * The stage's hard depth limit: the ingress sheds when this (or any) stage downstream of it reaches it, and the
   * stage before it stops forwarding into it.
   */
  readonly depthLimit: number;
  /** `true` when the depth limit came from Little's law rather than the definition. */
  readonly depthLimitDerived: boolean;
  readonly recordProcessingMs: number;
  /**
   * Records per second the stage drains at full scale: its concurrency over its processing time, and never more than
   * its slowest downstream's rate (each record takes at least one token).
   */
  readonly drainRatePerSecond: number;
}

/** One stage of a resolved pipeline. */
export interface ResolvedStage {
  readonly name: string;
  readonly description?: string;
  readonly next?: string;
  readonly queue: ResolvedQueueSettings;
  readonly consumer: ResolvedConsumerSettings;
  readonly flow: ResolvedFlowSettings;
  /** Shared token buckets by downstream name (empty when the stage declares none). */
  readonly downstream: Readonly<Record<string, ResolvedDownstream>>;
  /** The circuit breaker, when the stage declares one. */
  readonly breaker?: ResolvedBreaker;
  /** The tenant bulkhead, when the stage declares one. */
  readonly tenants?: ResolvedTenantBulkhead;
}

/** Something sluice changed or wants a user to look at, without rejecting the definition. */
export interface SpecWarning {
  /** Stable id, used as the CDK annotation id (`sluice:<id>`). */
  readonly id: string;
  /** The field the warning is about, e.g. `stages[0].queue.visibilityTimeoutSeconds`. */
  readonly path: string;
  readonly message: string;
}

type ParsedStage = z.output<typeof StageSchema>;

/** Applies defaults and derives values for one stage that already passed validation. */
export function resolveStage(
  stage: ParsedStage,
  path: string,
  warnings: SpecWarning[],
  tenantKey?: string,
): ResolvedStage {
  const fifo = stage.queue?.fifo ?? false;
  const consumer: ResolvedConsumerSettings = {
    entry: stage.consumer.entry,
    handler: stage.consumer.handler ?? 'handler',
    timeoutSeconds: stage.consumer.timeoutSeconds ?? DEFAULTS.timeoutSeconds,
    memorySizeMiB: stage.consumer.memorySizeMiB ?? DEFAULTS.memorySizeMiB,
    batchSize: stage.consumer.batchSize ?? DEFAULTS.batchSize,
    maxBatchingWindowSeconds: stage.consumer.maxBatchingWindowSeconds ?? (fifo ? 0 : DEFAULTS.maxBatchingWindowSeconds),
    maxConcurrency: stage.consumer.maxConcurrency ?? DEFAULTS.maxConcurrency,
    reservedConcurrency: stage.consumer.reservedConcurrency ?? stage.consumer.maxConcurrency ?? DEFAULTS.maxConcurrency,
    recordConcurrency: stage.consumer.recordConcurrency ?? DEFAULTS.recordConcurrency,
    environment: stage.consumer.environment ?? {},
  };

  const required = requiredVisibilityTimeoutSeconds(consumer.timeoutSeconds, consumer.maxBatchingWindowSeconds);
  const given = stage.queue?.visibilityTimeoutSeconds;
  if (given !== undefined && given < required) {
    warnings.push({
      id: 'visibilityTimeoutRaised',
      path: `${path}.queue.visibilityTimeoutSeconds`,
      message: `${path}.queue.visibilityTimeoutSeconds was raised from ${given} to ${required} seconds: AWS recommends at least 6 × the function timeout (${consumer.timeoutSeconds} s) + the batching window (${consumer.maxBatchingWindowSeconds} s)`,
    });
  }
  const queue: ResolvedQueueSettings = {
    fifo,
    contentBasedDeduplication: stage.queue?.contentBasedDeduplication ?? false,
    maxReceiveCount: stage.queue?.maxReceiveCount ?? DEFAULTS.maxReceiveCount,
    visibilityTimeoutSeconds: Math.max(given ?? 0, required),
    retentionPeriodSeconds: stage.queue?.retentionPeriodSeconds ?? DEFAULTS.retentionPeriodSeconds,
    maxMessageSizeBytes: stage.queue?.maxMessageSizeBytes ?? DEFAULTS.maxMessageSizeBytes,
    deliveryDelaySeconds: stage.queue?.deliveryDelaySeconds ?? DEFAULTS.deliveryDelaySeconds,
    deadLetterRetentionSeconds: DEFAULTS.deadLetterRetentionSeconds,
  };

  if (exceedsInvocationPayload(consumer.batchSize, queue.maxMessageSizeBytes)) {
    warnings.push({
      id: 'batchPayloadOverLimit',
      path: `${path}.consumer.batchSize`,
      message: `${path}.consumer.batchSize × ${path}.queue.maxMessageSizeBytes can reach ${worstCaseBatchPayloadBytes(consumer.batchSize, queue.maxMessageSizeBytes)} bytes, above Lambda's ${LAMBDA_LIMITS.invocationPayloadBytes.max}-byte invocation payload; the event source mapping will send smaller batches when messages are large`,
    });
  }

  const recordProcessingMs = stage.flow?.recordProcessingMs ?? DEFAULTS.recordProcessingMs;
  const downstream: Record<string, ResolvedDownstream> = {};
  for (const [name, settings] of Object.entries(stage.downstream ?? {})) downstream[name] = resolveDownstream(settings);
  const drainRate = Math.min(
    drainRatePerSecond({ ...consumer, recordProcessingMs }),
    downstreamDrainRatePerSecond(downstream),
  );
  const ageSloSeconds = stage.flow?.ageSloSeconds ?? DEFAULTS.ageSloSeconds;
  const flow: ResolvedFlowSettings = {
    ageSloSeconds,
    depthLimit: stage.flow?.depthLimit ?? depthLimitFor(ageSloSeconds, drainRate),
    depthLimitDerived: stage.flow?.depthLimit === undefined,
    recordProcessingMs,
    drainRatePerSecond: drainRate,
  };

  const tenants = resolveTenantBulkhead(stage.tenants, tenantKey);
  return {
    name: stage.name,
    ...(stage.description === undefined ? {} : { description: stage.description }),
    ...(stage.next === undefined ? {} : { next: stage.next }),
    queue,
    consumer,
    flow,
    downstream,
    ...(stage.breaker === undefined ? {} : { breaker: resolveBreaker(stage.breaker) }),
    ...(tenants === undefined ? {} : { tenants }),
  };
}
