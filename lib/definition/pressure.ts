import type * as z from 'zod';
import { ENV } from './environment.ts';
import type { BreakerSettingsSchema, DownstreamSettingsSchema, TenantSettingsSchema } from './pipeline-schema.ts';

/**
 * How pressure travels through a pipeline: the resolved settings of the shared rate limiters, circuit breakers and
 * tenant bulkheads, the control table they keep their state in, and the values the runtime reads from its
 * environment. The constructs and the local runtime both set a consumer's environment with
 * {@link pressureEnvironmentOf}, so the two cannot drift apart.
 */

/** A downstream's shared token bucket, with the burst resolved. */
export interface ResolvedDownstream {
  readonly ratePerMinute: number;
  readonly burst: number;
}

/** A circuit breaker with every default applied. */
export interface ResolvedBreaker {
  readonly failureRatio: number;
  readonly windowSeconds: number;
  readonly minimumCalls: number;
  readonly openSeconds: number;
  readonly halfOpenProbes: number;
}

/** A stage's tenant bulkhead: the job data field naming the tenant, and the per-tenant in-flight cap. */
export interface ResolvedTenantBulkhead {
  readonly key: string;
  readonly maxInFlight: number;
}

/** Defaults of a breaker's settings. */
export const BREAKER_DEFAULTS: ResolvedBreaker = {
  failureRatio: 0.5,
  windowSeconds: 30,
  minimumCalls: 20,
  openSeconds: 30,
  halfOpenProbes: 3,
};

/** Seconds of its steady rate a downstream's bucket holds when `burst` is left out. */
export const DEFAULT_BURST_SECONDS = 10;

/**
 * Environment variable names of the pressure mechanisms (the contract between the constructs, the local runtime and
 * `functions/runtime`): the names in {@link ENV}, plus the authorizer's list of downstream queues.
 */
export const PRESSURE_ENV = {
  controlTable: ENV.controlTableName,
  downstreams: ENV.downstreams,
  breaker: ENV.breaker,
  tenant: ENV.tenant,
  nextDepthLimit: ENV.nextDepthLimit,
  /** The pipeline's tenant key (a field of job data): senders set it as the message group id on standard queues. */
  tenantKey: 'SLUICE_TENANT_KEY',
  /** The authorizer: URLs of the stages after the ingress stage, in the order of its settings' `downstream` (JSON). */
  downstreamQueueUrls: 'SLUICE_DOWNSTREAM_QUEUE_URLS',
} as const;

type ParsedDownstream = z.output<typeof DownstreamSettingsSchema>;
type ParsedBreaker = z.output<typeof BreakerSettingsSchema>;
type ParsedTenants = z.output<typeof TenantSettingsSchema>;

/** A downstream with its burst resolved: `ratePerMinute / 60 × 10` (ten seconds of its rate), at least 1. */
export function resolveDownstream(downstream: ParsedDownstream): ResolvedDownstream {
  return {
    ratePerMinute: downstream.ratePerMinute,
    burst: downstream.burst ?? Math.max(1, Math.floor((downstream.ratePerMinute / 60) * DEFAULT_BURST_SECONDS)),
  };
}

/** A breaker with its defaults applied. */
export function resolveBreaker(breaker: ParsedBreaker): ResolvedBreaker {
  return {
    failureRatio: breaker.failureRatio ?? BREAKER_DEFAULTS.failureRatio,
    windowSeconds: breaker.windowSeconds ?? BREAKER_DEFAULTS.windowSeconds,
    minimumCalls: breaker.minimumCalls ?? BREAKER_DEFAULTS.minimumCalls,
    openSeconds: breaker.openSeconds ?? BREAKER_DEFAULTS.openSeconds,
    halfOpenProbes: breaker.halfOpenProbes ?? BREAKER_DEFAULTS.halfOpenProbes,
  };
}

/** A tenant bulkhead, or undefined when the stage has none (the pipeline's `tenantKey` is checked elsewhere). */
export function resolveTenantBulkhead(
  tenants: ParsedTenants | undefined,
  tenantKey: string | undefined,
): ResolvedTenantBulkhead | undefined {
  if (tenants === undefined || tenantKey === undefined) return undefined;
  return { key: tenantKey, maxInFlight: tenants.maxInFlight };
}

/**
 * Records a second a stage can drain when each record takes at least one token from each of its downstreams: the
 * slowest bucket's steady rate. `Infinity` without downstreams.
 */
export function downstreamDrainRatePerSecond(downstream: Readonly<Record<string, ResolvedDownstream>>): number {
  let rate = Number.POSITIVE_INFINITY;
  for (const bucket of Object.values(downstream)) rate = Math.min(rate, bucket.ratePerMinute / 60);
  return rate;
}

/** What {@link pressureEnvironmentOf} needs of a stage. */
export interface PressureStage {
  readonly downstream: Readonly<Record<string, ResolvedDownstream>>;
  readonly breaker?: ResolvedBreaker;
  readonly tenants?: ResolvedTenantBulkhead;
}

/** Whether a stage keeps state in the control table (limiter, breaker or bulkhead). */
export function usesControlTable(stage: PressureStage): boolean {
  return Object.keys(stage.downstream).length > 0 || stage.breaker !== undefined || stage.tenants !== undefined;
}

/**
 * The pressure environment of one consumer: the control table's name when the pipeline has one, the stage's
 * downstreams, breaker and tenant bulkhead as JSON, and the next stage's hard depth limit.
 *
 * @example
 * fn.addEnvironment(...Object.entries(pressureEnvironmentOf(stage, { controlTableName, nextDepthLimit: 4000 })));
 */
export function pressureEnvironmentOf(
  stage: PressureStage,
  wiring: { readonly controlTableName?: string; readonly nextDepthLimit?: number; readonly tenantKey?: string },
): Record<string, string> {
  const environment: Record<string, string> = {};
  if (wiring.controlTableName !== undefined) environment[PRESSURE_ENV.controlTable] = wiring.controlTableName;
  if (Object.keys(stage.downstream).length > 0)
    environment[PRESSURE_ENV.downstreams] = JSON.stringify(stage.downstream);
  if (stage.breaker) environment[PRESSURE_ENV.breaker] = JSON.stringify(stage.breaker);
  if (stage.tenants) environment[PRESSURE_ENV.tenant] = JSON.stringify(stage.tenants);
  if (wiring.nextDepthLimit !== undefined) environment[PRESSURE_ENV.nextDepthLimit] = String(wiring.nextDepthLimit);
  if (wiring.tenantKey !== undefined) environment[PRESSURE_ENV.tenantKey] = wiring.tenantKey;
  return environment;
}

/** Longest SQS message group id (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SendMessage.html). */
export const MESSAGE_GROUP_ID_MAX_LENGTH = 128;

/**
 * The message group id of a job on a standard queue: the value of its tenant field, so SQS fair queues keep one
 * tenant's backlog from raising the others' dwell time
 * (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-fair-queues.html). Undefined when
 * the pipeline has no tenant key, or the job has no usable value (a string or a number, at most 128 characters of
 * the characters SQS allows): such a message is its own tenant, as SQS treats a message without a group id.
 */
export function tenantGroupIdOf(data: unknown, tenantKey: string | undefined): string | undefined {
  if (tenantKey === undefined || data === null || typeof data !== 'object') return undefined;
  const value = (data as Record<string, unknown>)[tenantKey];
  const text = typeof value === 'number' && Number.isFinite(value) ? String(value) : value;
  if (typeof text !== 'string' || text.length === 0 || text.length > MESSAGE_GROUP_ID_MAX_LENGTH) return undefined;
  // MessageGroupId: alphanumeric characters and punctuation (!"#$%&'()*+,-./:;<=>?@[\]^_`{|}~).
  return /^[\x21-\x7e]+$/.test(text) ? text : undefined;
}
