import type * as z from 'zod';
import { drainRatePerSecond } from './derive.ts';
import type { Priority } from './envelope.ts';
import type { IngressSettingsSchema } from './ingress-schema.ts';
import { API_GATEWAY_LIMITS, INGRESS_DEFAULTS } from './limits.ts';
import type { ResolvedStage, SpecWarning } from './resolve-stage.ts';

/** A token bucket: steady rate and burst. */
export interface ResolvedThrottle {
  readonly rateLimitPerSecond: number;
  readonly burstLimit: number;
}

/** One API key with its usage plan. */
export interface ResolvedIngressClient extends ResolvedThrottle {
  readonly name: string;
  readonly quota?: { readonly limit: number; readonly period: 'DAY' | 'WEEK' | 'MONTH' };
}

/** What the depth-check authorizer needs to decide; the local ingress server uses the same values. */
export interface ResolvedBackpressure {
  /** Depth from which low-priority requests are shed (only with priority lanes on). */
  readonly softLimit: number;
  /** Depth from which the overload policy applies. */
  readonly hardLimit: number;
  readonly overload: 'reject' | 'buffer';
  readonly depthCacheTtlSeconds: number;
  readonly authorizerResultTtlSeconds: number;
  readonly maxRetryAfterSeconds: number;
  /** Records per second the stage's consumers (both lanes) drain at full scale: the basis of `Retry-After`. */
  readonly drainRatePerSecond: number;
}

/** The overflow buffer: on only when the overload policy is `buffer`. */
export interface ResolvedOverflow {
  readonly enabled: boolean;
  readonly retentionSeconds: number;
  readonly drainRatePerSecond: number;
  readonly lowWatermark: number;
  readonly maxDepth: number;
}

/** Priority lanes. With `enabled: false` every request is `high` and goes to the stage's queue. */
export interface ResolvedPriority {
  readonly enabled: boolean;
  readonly header: string;
  readonly defaultLane: Priority;
  readonly lowLaneMaxConcurrency: number;
}

/**
 * A stage downstream of the ingress, as whole-pipeline admission sees it: its hard depth limit, age SLO and drain
 * rate. The ingress sheds while any of them is over its limit.
 */
export interface DownstreamAdmission {
  readonly stage: string;
  readonly depthLimit: number;
  readonly ageSloSeconds: number;
  readonly drainRatePerSecond: number;
}

/** The ingress of a pipeline with every default applied. */
export interface ResolvedIngress {
  /** The stage requests are accepted into. */
  readonly stage: string;
  readonly integration: 'direct' | 'function';
  readonly schemaVersion: number;
  readonly throttle: ResolvedThrottle;
  readonly clients: readonly ResolvedIngressClient[];
  readonly backpressure: ResolvedBackpressure;
  readonly overflow: ResolvedOverflow;
  readonly priority: ResolvedPriority;
  /** The stages after the ingress stage, following `next`, in order. */
  readonly downstream: readonly DownstreamAdmission[];
}

/**
 * Thresholds and rates of the admission decision (`decideAdmission` in `functions/authorizer`), from a resolved
 * ingress. The local ingress server and the authorizer both build theirs with {@link admissionSettingsOf}.
 */
export interface AdmissionSettings {
  /** The stage requests are accepted into (named in a rejection when it is the bottleneck). @default 'ingress' */
  readonly stage?: string;
  /** The stages after it, whose depths the decision also weighs (in the order of their depths). @default [] */
  readonly downstream?: readonly DownstreamAdmission[];
  readonly softLimit: number;
  readonly hardLimit: number;
  readonly overload: 'reject' | 'buffer';
  /** Records per second the stage drains (all lanes); the basis of Retry-After. */
  readonly drainRatePerSecond: number;
  readonly maxRetryAfterSeconds: number;
  /** Depth of the overflow queue above which `buffer` rejects too. */
  readonly overflowMaxDepth: number;
  /** Messages per second the overflow drainer moves back; the Retry-After basis when the overflow is full. */
  readonly overflowDrainRatePerSecond: number;
  /** With priority lanes off every request is `high` and the soft limit sheds nothing. */
  readonly priorityEnabled: boolean;
}

/** Everything the depth-check authorizer reads from its `SLUICE_ADMISSION` environment variable (JSON). */
export interface AuthorizerSettings extends AdmissionSettings {
  readonly depthCacheTtlSeconds: number;
  readonly priorityHeader: string;
  readonly defaultLane: Priority;
}

/** The settings of the admission decision for a resolved ingress (`pipeline.ingress`). */
export function admissionSettingsOf(ingress: ResolvedIngress): AdmissionSettings {
  return {
    stage: ingress.stage,
    downstream: ingress.downstream,
    softLimit: ingress.backpressure.softLimit,
    hardLimit: ingress.backpressure.hardLimit,
    overload: ingress.backpressure.overload,
    drainRatePerSecond: ingress.backpressure.drainRatePerSecond,
    maxRetryAfterSeconds: ingress.backpressure.maxRetryAfterSeconds,
    overflowMaxDepth: ingress.overflow.maxDepth,
    overflowDrainRatePerSecond: ingress.overflow.drainRatePerSecond,
    priorityEnabled: ingress.priority.enabled,
  };
}

/** The authorizer's settings for a resolved ingress: what the `IngestApi` puts in `SLUICE_ADMISSION`. */
export function authorizerSettingsOf(ingress: ResolvedIngress): AuthorizerSettings {
  return {
    ...admissionSettingsOf(ingress),
    depthCacheTtlSeconds: ingress.backpressure.depthCacheTtlSeconds,
    priorityHeader: ingress.priority.header,
    defaultLane: ingress.priority.defaultLane,
  };
}

type ParsedIngress = z.output<typeof IngressSettingsSchema>;

/**
 * Applies the ingress defaults against the (already resolved) stages and checks the rules that need derived values:
 * the thresholds' order (low watermark < soft limit ≤ hard limit) with defaults filled in. Problems and warnings are
 * appended to the arrays given.
 */
export function resolveIngress(
  ingress: ParsedIngress,
  stages: readonly ResolvedStage[],
  problems: string[],
  warnings: SpecWarning[],
): ResolvedIngress | undefined {
  const path = 'ingress';
  const stage = ingress.stage === undefined ? stages[0] : stages.find((candidate) => candidate.name === ingress.stage);
  if (!stage) return undefined; // reported by ingressRawProblems
  if (stage.queue.fifo) {
    problems.push(
      `${path}.stage must name a stage with a standard queue (the ingress does not assign FIFO message groups), but '${stage.name}' has a FIFO queue`,
    );
  }

  const priorityEnabled = ingress.priority?.enabled ?? false;
  const lowLaneMaxConcurrency =
    ingress.priority?.lowLaneMaxConcurrency ?? Math.max(2, Math.floor(stage.consumer.maxConcurrency / 2));
  const lowLaneDrain = priorityEnabled
    ? drainRatePerSecond({
        ...stage.consumer,
        maxConcurrency: lowLaneMaxConcurrency,
        recordProcessingMs: stage.flow.recordProcessingMs,
      })
    : 0;
  const depthLimit = stage.flow.depthLimit;
  const given = ingress.backpressure ?? {};
  const hardLimit = given.hardLimit ?? Math.max(1, Math.floor(depthLimit * INGRESS_DEFAULTS.hardLimitFraction));
  const softLimit =
    given.softLimit ?? Math.max(1, Math.min(hardLimit, Math.floor(depthLimit * INGRESS_DEFAULTS.softLimitFraction)));
  if (softLimit > hardLimit) {
    problems.push(
      `${path}.backpressure.softLimit must be between 1 and the hard limit (${hardLimit}), but ${softLimit} was provided`,
    );
  }
  const backpressure: ResolvedBackpressure = {
    softLimit,
    hardLimit,
    overload: given.overload ?? 'reject',
    depthCacheTtlSeconds: given.depthCacheTtlSeconds ?? INGRESS_DEFAULTS.depthCacheTtlSeconds,
    authorizerResultTtlSeconds: given.authorizerResultTtlSeconds ?? INGRESS_DEFAULTS.authorizerResultTtlSeconds,
    maxRetryAfterSeconds: given.maxRetryAfterSeconds ?? INGRESS_DEFAULTS.maxRetryAfterSeconds,
    drainRatePerSecond: stage.flow.drainRatePerSecond + lowLaneDrain,
  };

  const overflowGiven = ingress.overflow ?? {};
  const lowWatermark =
    overflowGiven.lowWatermark ?? Math.floor(Math.min(softLimit, hardLimit) * INGRESS_DEFAULTS.lowWatermarkFraction);
  if (lowWatermark >= Math.min(softLimit, hardLimit)) {
    problems.push(
      `${path}.overflow.lowWatermark must be between 0 and ${Math.min(softLimit, hardLimit) - 1} (below the soft limit, so draining stops before shedding starts), but ${lowWatermark} was provided`,
    );
  }
  if (ingress.overflow !== undefined && backpressure.overload !== 'buffer') {
    warnings.push({
      id: 'overflowUnused',
      path: `${path}.overflow`,
      message: `${path}.overflow is ignored: it applies only when ${path}.backpressure.overload is 'buffer', but it is '${backpressure.overload}'`,
    });
  }
  const overflow: ResolvedOverflow = {
    enabled: backpressure.overload === 'buffer',
    retentionSeconds: overflowGiven.retentionSeconds ?? INGRESS_DEFAULTS.overflowRetentionSeconds,
    drainRatePerSecond:
      overflowGiven.drainRatePerSecond ??
      Math.max(1, Math.floor(backpressure.drainRatePerSecond * INGRESS_DEFAULTS.overflowDrainFraction)),
    lowWatermark,
    maxDepth: overflowGiven.maxDepth ?? Math.min(1_000_000_000, hardLimit * INGRESS_DEFAULTS.overflowDepthFactor),
  };

  const throttle: ResolvedThrottle = {
    rateLimitPerSecond: ingress.throttle?.rateLimitPerSecond ?? INGRESS_DEFAULTS.rateLimitPerSecond,
    burstLimit: ingress.throttle?.burstLimit ?? INGRESS_DEFAULTS.burstLimit,
  };
  warnAboveAccountThrottle(`${path}.throttle`, throttle, warnings);
  const clients = (ingress.clients ?? []).map((client, index) => {
    warnAboveAccountThrottle(`${path}.clients[${index}]`, client, warnings);
    return {
      name: client.name,
      rateLimitPerSecond: client.rateLimitPerSecond,
      burstLimit: client.burstLimit,
      ...(client.quota === undefined ? {} : { quota: { limit: client.quota.limit, period: client.quota.period } }),
    };
  });

  const downstream = downstreamAdmissionOf(stages, stage.name);

  return {
    stage: stage.name,
    downstream,
    integration: ingress.integration ?? 'direct',
    schemaVersion: ingress.schemaVersion ?? INGRESS_DEFAULTS.schemaVersion,
    throttle,
    clients,
    backpressure,
    overflow,
    priority: {
      enabled: priorityEnabled,
      header: ingress.priority?.header ?? INGRESS_DEFAULTS.priorityHeader,
      defaultLane: ingress.priority?.defaultLane ?? INGRESS_DEFAULTS.defaultLane,
      lowLaneMaxConcurrency,
    },
  };
}

/** The stages after `stageName`, following `next` in order, as whole-pipeline admission weighs them. */
export function downstreamAdmissionOf(stages: readonly ResolvedStage[], stageName: string): DownstreamAdmission[] {
  const downstream: DownstreamAdmission[] = [];
  let next = stages.find((candidate) => candidate.name === stageName)?.next;
  while (next !== undefined) {
    const following = stages.find((candidate) => candidate.name === next);
    // The definition has no cycles; the guard keeps a hand-built one from looping.
    if (!following || downstream.some((known) => known.stage === following.name)) break;
    downstream.push({
      stage: following.name,
      depthLimit: following.flow.depthLimit,
      ageSloSeconds: following.flow.ageSloSeconds,
      drainRatePerSecond: following.flow.drainRatePerSecond,
    });
    next = following.next;
  }
  return downstream;
}

function warnAboveAccountThrottle(path: string, throttle: ResolvedThrottle, warnings: SpecWarning[]): void {
  const rate = API_GATEWAY_LIMITS.defaultAccountRateLimitPerSecond.max;
  const burst = API_GATEWAY_LIMITS.defaultAccountBurstLimit.max;
  if (throttle.rateLimitPerSecond > rate || throttle.burstLimit > burst) {
    warnings.push({
      id: 'throttleAboveAccountQuota',
      path,
      message: `${path} (${throttle.rateLimitPerSecond}/s, burst ${throttle.burstLimit}) is above API Gateway's default account throttle (${rate}/s, burst ${burst}); the account limit caps it unless AWS raised your quota`,
    });
  }
}

/**
 * Rules on the raw ingress section that need no defaults: the stage exists, client names are unique, function mode
 * has the job table it records into.
 */
export function ingressRawProblems(ingress: unknown, stageNames: readonly unknown[], jobsEnabled = false): string[] {
  if (ingress === null || typeof ingress !== 'object' || Array.isArray(ingress)) return [];
  const section = ingress as Record<string, unknown>;
  const problems: string[] = [];
  if (section.integration === 'function' && !jobsEnabled) {
    problems.push(
      "ingress.integration 'function' needs jobs.enabled: true (the accept function records every job it issues), but job status is off",
    );
  }
  if (typeof section.stage === 'string' && !stageNames.includes(section.stage)) {
    const known = stageNames.filter((name) => typeof name === 'string').join(', ');
    problems.push(`ingress.stage must be one of the stages (${known}), but '${section.stage}' was provided`);
  }
  if (Array.isArray(section.clients)) {
    const names = section.clients.map((client) =>
      client !== null && typeof client === 'object' ? (client as Record<string, unknown>).name : undefined,
    );
    names.forEach((name, index) => {
      if (typeof name === 'string' && names.indexOf(name) !== index) {
        problems.push(`ingress.clients[${index}].name must be unique, but '${name}' was provided twice`);
      }
    });
  }
  return problems;
}
