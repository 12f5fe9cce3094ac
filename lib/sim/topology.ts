import {
  type AdmissionSettings,
  admissionSettingsOf,
  BREAKER_DEFAULTS,
  downstreamAdmissionOf,
  INGRESS_DEFAULTS,
  type Pipeline,
  type ResolvedIngressClient,
  type ResolvedStage,
} from '../definition/index.ts';

/**
 * The deployed topology of a pipeline as the simulator sees it, read from the resolved definition: one entry per
 * queue + consumer (the accept stage's low-priority lane is a queue of its own), the ingress's throttles and
 * admission settings, and the pressure mechanisms of issue 9 (downstream limiters, breakers, tenant caps). Fields
 * the definition does not have yet are read tolerantly and simply absent.
 */

/** A shared token bucket on a downstream (`stages[].downstream`). */
export interface DownstreamLimit {
  readonly name: string;
  readonly ratePerMinute: number;
  readonly burst: number;
}

/** Circuit-breaker settings of a stage (`stages[].breaker`), defaults applied. */
export interface BreakerSettings {
  readonly failureRatio: number;
  readonly windowSeconds: number;
  readonly minimumCalls: number;
  readonly openSeconds: number;
  readonly halfOpenProbes: number;
}

/** One queue and the function that consumes it. */
export interface SimStageConfig {
  /** Stage name; the low lane is `<stage>:low`. */
  readonly name: string;
  /** The definition's stage this queue belongs to. */
  readonly stage: ResolvedStage;
  readonly lane: 'high' | 'low';
  /** Index of the queue that receives what this stage forwards. */
  readonly next?: number;
  readonly maxConcurrency: number;
  readonly downstreams: readonly DownstreamLimit[];
  readonly breaker?: BreakerSettings;
  /** Per-tenant in-flight cap (`stages[].tenants.maxInFlight`). */
  readonly tenantMaxInFlight?: number;
}

/** The API Gateway in front of the accept stage. */
export interface SimIngress {
  /** Index of the accept stage's (high lane) queue. */
  readonly stageIndex: number;
  readonly lowLaneIndex?: number;
  readonly throttle: { readonly rateLimitPerSecond: number; readonly burstLimit: number };
  readonly clients: readonly ResolvedIngressClient[];
  readonly admission: AdmissionSettings;
  readonly depthCacheTtlSeconds: number;
  /** API Gateway's cache of a decision (off with priority lanes on, see README "The depth check"). */
  readonly resultCacheTtlSeconds: number;
  readonly overflow: { readonly drainRatePerSecond: number; readonly lowWatermark: number } | undefined;
}

/** The simulated topology. */
export interface SimTopology {
  readonly stages: readonly SimStageConfig[];
  readonly ingress: SimIngress;
}

type Loose = Record<string, unknown>;

function record(value: unknown): Loose | undefined {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Loose) : undefined;
}

function numberOr(value: unknown, fallback: number): number {
  return typeof value === 'number' && Number.isFinite(value) ? value : fallback;
}

/** The downstream buckets a stage declares; burst defaults to ratePerMinute / 60 × 10, at least 1 (the contract). */
export function downstreamsOf(stage: ResolvedStage): DownstreamLimit[] {
  const declared = record((stage as unknown as Loose).downstream);
  if (!declared) return [];
  return Object.entries(declared).flatMap(([name, raw]) => {
    const settings = record(raw);
    if (!settings) return [];
    const ratePerMinute = numberOr(settings.ratePerMinute, 0);
    return [{ name, ratePerMinute, burst: numberOr(settings.burst, Math.max(1, (ratePerMinute / 60) * 10)) }];
  });
}

/** A stage's breaker with defaults, or undefined when it declares none. */
export function breakerOf(stage: ResolvedStage): BreakerSettings | undefined {
  const declared = record((stage as unknown as Loose).breaker);
  if (!declared) return undefined;
  return {
    failureRatio: numberOr(declared.failureRatio, BREAKER_DEFAULTS.failureRatio),
    windowSeconds: numberOr(declared.windowSeconds, BREAKER_DEFAULTS.windowSeconds),
    minimumCalls: numberOr(declared.minimumCalls, BREAKER_DEFAULTS.minimumCalls),
    openSeconds: numberOr(declared.openSeconds, BREAKER_DEFAULTS.openSeconds),
    halfOpenProbes: numberOr(declared.halfOpenProbes, BREAKER_DEFAULTS.halfOpenProbes),
  };
}

function tenantCapOf(stage: ResolvedStage): number | undefined {
  const tenants = record((stage as unknown as Loose).tenants);
  const cap = tenants?.maxInFlight;
  return typeof cap === 'number' && cap > 0 ? cap : undefined;
}

/** Settings of the local ingress for a pipeline without an ingress section (as `lib/local/ingress-server.ts`). */
function defaultAdmission(stage: ResolvedStage, stages: readonly ResolvedStage[]): AdmissionSettings {
  return {
    stage: stage.name,
    downstream: downstreamAdmissionOf(stages, stage.name),
    softLimit: Math.max(1, Math.floor(stage.flow.depthLimit * INGRESS_DEFAULTS.softLimitFraction)),
    hardLimit: stage.flow.depthLimit,
    overload: 'reject',
    drainRatePerSecond: stage.flow.drainRatePerSecond,
    maxRetryAfterSeconds: INGRESS_DEFAULTS.maxRetryAfterSeconds,
    overflowMaxDepth: stage.flow.depthLimit * INGRESS_DEFAULTS.overflowDepthFactor,
    overflowDrainRatePerSecond: 1,
    priorityEnabled: true,
  };
}

/** Builds the topology of a resolved pipeline. */
export function topologyOf(pipeline: Pipeline): SimTopology {
  const ingressSection = pipeline.ingress;
  const acceptName = ingressSection?.stage ?? pipeline.stages[0]?.name;
  const lowLane = ingressSection?.priority.enabled === true;
  const configs: Omit<SimStageConfig, 'next'>[] = [];
  const nextNames: (string | undefined)[] = [];
  for (const stage of pipeline.stages) {
    const common = {
      stage,
      downstreams: downstreamsOf(stage),
      ...(breakerOf(stage) ? { breaker: breakerOf(stage) as BreakerSettings } : {}),
      ...(tenantCapOf(stage) === undefined ? {} : { tenantMaxInFlight: tenantCapOf(stage) as number }),
    };
    configs.push({ ...common, name: stage.name, lane: 'high', maxConcurrency: stage.consumer.maxConcurrency });
    nextNames.push(stage.next);
    if (lowLane && stage.name === acceptName && ingressSection) {
      configs.push({
        ...common,
        name: `${stage.name}:low`,
        lane: 'low',
        maxConcurrency: ingressSection.priority.lowLaneMaxConcurrency,
      });
      nextNames.push(stage.next);
    }
  }
  const stages: SimStageConfig[] = configs.map((config, index) => {
    const nextName = nextNames[index];
    const next = nextName === undefined ? -1 : configs.findIndex((candidate) => candidate.name === nextName);
    return { ...config, ...(next >= 0 ? { next } : {}) };
  });
  const stageIndex = Math.max(
    0,
    stages.findIndex((stage) => stage.name === acceptName),
  );
  const lowLaneIndex = stages.findIndex((stage) => stage.lane === 'low');
  const acceptStage = stages[stageIndex]?.stage as ResolvedStage;
  return {
    stages,
    ingress: {
      stageIndex,
      ...(lowLaneIndex >= 0 ? { lowLaneIndex } : {}),
      throttle: ingressSection?.throttle ?? {
        rateLimitPerSecond: INGRESS_DEFAULTS.rateLimitPerSecond,
        burstLimit: INGRESS_DEFAULTS.burstLimit,
      },
      clients: ingressSection?.clients ?? [],
      admission: ingressSection ? admissionSettingsOf(ingressSection) : defaultAdmission(acceptStage, pipeline.stages),
      depthCacheTtlSeconds: ingressSection?.backpressure.depthCacheTtlSeconds ?? INGRESS_DEFAULTS.depthCacheTtlSeconds,
      resultCacheTtlSeconds:
        ingressSection && !ingressSection.priority.enabled ? ingressSection.backpressure.authorizerResultTtlSeconds : 0,
      overflow: ingressSection?.overflow.enabled
        ? {
            drainRatePerSecond: ingressSection.overflow.drainRatePerSecond,
            lowWatermark: ingressSection.overflow.lowWatermark,
          }
        : undefined,
    },
  };
}
