import type { SQSRecord } from 'aws-lambda';
import { ENV } from '../../lib/definition/environment.ts';
import { BREAKER_LIMITS } from '../../lib/definition/limits.ts';
import type { AwsClients } from './aws-clients.ts';
import { type BreakerSettings, CircuitBreaker, DEFAULT_BREAKER } from './circuit-breaker.ts';
import {
  canResend,
  type DeferralOptions,
  type DeferralSettings,
  deferralDelaySeconds,
  deferralsOf,
  resendDeferred,
  resolveDeferral,
} from './deferral.ts';
import { DeferralLimitExceededError, type DeferralReason, PermanentError, PressureError } from './errors.ts';
import type { Logger, LogSink } from './log.ts';
import { NextStageDepth } from './next-stage-pressure.ts';
import { pressureMetricDocuments } from './pressure-metrics.ts';
import { type LimiterOptions, RateLimiter, resolveLimiterSettings } from './rate-limiter.ts';
import { TenantBulkhead, type TenantLease, type TenantSettings } from './tenant-bulkhead.ts';

/**
 * The consumer's pressure settings, resolved once at module load, and what one batch does with them: the checks
 * before a record runs, and the deferral of the records held back. With nothing configured, a batch pays one
 * property check per record and nothing else.
 */

/** Options of the consumer's `pressure`; each defaults to the environment the constructs set. */
export interface PressureOptions {
  /** How deferred records wait. @default {@link DEFAULT_DEFERRAL} */
  readonly deferral?: DeferralOptions;
  /**
   * The next stage's hard depth limit: at or above it, records are deferred instead of run (needs a next queue);
   * `false` turns the check off. @default - SLUICE_NEXT_DEPTH_LIMIT
   */
  readonly nextDepthLimit?: number | false;
  /** The pipeline's control table (limiters, breaker, tenant leases). @default - SLUICE_CONTROL_TABLE */
  readonly controlTableName?: string;
  /**
   * Shared rate limiters, reachable as `ctx.limiter(name)`. @default - SLUICE_DOWNSTREAMS
   * @example { embeddings: { ratePerMinute: 3000, burst: 100 } }
   */
  readonly downstream?: Readonly<Record<string, LimiterOptions>>;
  /** Longest `ctx.limiter(name).take()` waits for tokens before deferring the record. @default 1000 */
  readonly limiterMaxWaitMs?: number;
  /**
   * The stage's circuit breaker, shared across containers in the control table; `false` turns it off. Missing fields
   * take {@link DEFAULT_BREAKER}'s values. @default - SLUICE_BREAKER
   */
  readonly breaker?: false | Partial<BreakerSettings>;
  /**
   * The tenant bulkhead: at most `maxInFlight` records of one tenant (the `key` field of the job's data) run at once
   * in the stage, across containers; the excess is deferred. `false` turns it off. @default - SLUICE_TENANT
   */
  readonly tenant?: false | TenantSettings;
  /** The clock, in epoch milliseconds (tests move it). @default Date.now */
  readonly clock?: () => number;
}

/** {@link PressureOptions} resolved. */
export interface PressureConfig {
  readonly deferral: DeferralSettings;
  readonly clock: () => number;
  /** Whether anything must be checked before a record runs. */
  readonly gated: boolean;
  readonly nextStage: NextStageDepth | undefined;
  readonly limiters: ReadonlyMap<string, RateLimiter> | undefined;
  readonly breaker: CircuitBreaker | undefined;
  readonly tenants: TenantBulkhead | undefined;
  /** Whether a batch has pressure work to finish (metrics, breaker outcomes). */
  readonly active: boolean;
}

/** What resolving pressure needs of the consumer. */
export interface PressureEnvironment {
  readonly env: NodeJS.ProcessEnv;
  readonly pipeline: string;
  readonly stage: string;
  readonly nextQueueUrl: string | undefined;
  readonly clients: AwsClients;
  readonly logger: Logger;
}

/** Resolves {@link PressureOptions} against the environment; problems are pushed to `problems`. */
export function resolvePressure(
  options: PressureOptions | undefined,
  context: PressureEnvironment,
  problems: string[],
): PressureConfig {
  const clock = options?.clock ?? Date.now;
  const nextStage = resolveNextStage(options, context, clock, problems);
  const controlTableName = options?.controlTableName ?? (context.env[ENV.controlTableName] || undefined);
  const limiters = resolveLimiters(options, context, controlTableName, clock, problems);
  const breaker = resolveBreaker(options, context, controlTableName, clock, problems);
  const tenants = resolveTenants(options, context, controlTableName, clock, problems);
  return {
    deferral: resolveDeferral(options?.deferral, problems),
    clock,
    gated: nextStage !== undefined || breaker !== undefined || tenants !== undefined,
    nextStage,
    limiters,
    breaker,
    tenants,
    active: limiters !== undefined || breaker !== undefined,
  };
}

function resolveBreaker(
  options: PressureOptions | undefined,
  context: PressureEnvironment,
  tableName: string | undefined,
  clock: () => number,
  problems: string[],
): CircuitBreaker | undefined {
  if (options?.breaker === false) {
    return undefined;
  }
  const declared =
    options?.breaker ?? (jsonFromEnv(context.env, ENV.breaker, problems) as Partial<BreakerSettings> | undefined);
  if (declared === undefined) {
    return undefined;
  }
  const settings: BreakerSettings = { ...DEFAULT_BREAKER, ...declared };
  const check = (field: keyof BreakerSettings, ok: boolean, range: string) => {
    if (!ok) problems.push(`breaker.${field} must be ${range}, but ${settings[field]} was provided`);
  };
  const { failureRatio, windowSeconds, minimumCalls, openSeconds, halfOpenProbes } = settings;
  check('failureRatio', failureRatio > 0 && failureRatio <= 1, 'above 0 and at most 1');
  check(
    'windowSeconds',
    windowSeconds >= BREAKER_LIMITS.windowSeconds.min && windowSeconds <= BREAKER_LIMITS.windowSeconds.max,
    `between ${BREAKER_LIMITS.windowSeconds.min} and ${BREAKER_LIMITS.windowSeconds.max}`,
  );
  check('minimumCalls', Number.isInteger(minimumCalls) && minimumCalls >= 1, 'an integer of at least 1');
  check(
    'openSeconds',
    openSeconds >= BREAKER_LIMITS.openSeconds.min && openSeconds <= BREAKER_LIMITS.openSeconds.max,
    `between ${BREAKER_LIMITS.openSeconds.min} and ${BREAKER_LIMITS.openSeconds.max}`,
  );
  check('halfOpenProbes', Number.isInteger(halfOpenProbes) && halfOpenProbes >= 1, 'an integer of at least 1');
  if (!tableName) {
    problems.push(`a circuit breaker needs the control table: pass controlTableName or set ${ENV.controlTableName}`);
    return undefined;
  }
  return new CircuitBreaker({
    clients: context.clients,
    tableName,
    pipeline: context.pipeline,
    stage: context.stage,
    settings,
    clock,
    logger: context.logger,
  });
}

function resolveLimiters(
  options: PressureOptions | undefined,
  context: PressureEnvironment,
  tableName: string | undefined,
  clock: () => number,
  problems: string[],
): Map<string, RateLimiter> | undefined {
  const declared =
    options?.downstream ??
    (jsonFromEnv(context.env, ENV.downstreams, problems) as Record<string, LimiterOptions> | undefined);
  if (declared === undefined || Object.keys(declared).length === 0) {
    return undefined;
  }
  const maxWaitMs = options?.limiterMaxWaitMs ?? 1_000;
  if (!Number.isFinite(maxWaitMs) || maxWaitMs < 0 || maxWaitMs > 900_000) {
    problems.push(`limiterMaxWaitMs must be between 0 and 900000, but ${maxWaitMs} was provided`);
  }
  if (!tableName) {
    problems.push(
      `downstream rate limiters need the control table: pass controlTableName or set ${ENV.controlTableName}`,
    );
    return undefined;
  }
  const limiters = new Map<string, RateLimiter>();
  for (const [name, declaration] of Object.entries(declared)) {
    const settings = resolveLimiterSettings(name, declaration, problems);
    limiters.set(
      name,
      new RateLimiter({
        clients: context.clients,
        tableName,
        pipeline: context.pipeline,
        name,
        settings,
        maxWaitMs,
        clock,
      }),
    );
  }
  return limiters;
}

/**
 * Counts a record's outcome in the breaker, unless the handler recorded its own: success, or a transient failure
 * (a downstream that failed); permanent failures (bad data) and pressure say nothing about the downstream.
 */
export function recordBreakerOutcome(
  config: PressureConfig,
  ctx: { readonly breakerRecorded: boolean },
  error?: unknown,
): void {
  if (config.breaker === undefined || ctx.breakerRecorded) return;
  if (error === undefined) {
    config.breaker.record(true);
  } else if (!(error instanceof PressureError) && !(error instanceof PermanentError)) {
    config.breaker.record(false);
  }
}

/**
 * Finishes a batch's pressure work: writes the breaker's outcomes, emits BreakerOpen and LimiterWait. Only called
 * when {@link PressureConfig.active}.
 */
export async function endBatch(context: DeferralContext): Promise<void> {
  let limiterWaits = 0;
  for (const limiter of context.pressure.limiters?.values() ?? []) {
    limiterWaits += limiter.drainWaits();
  }
  const breaker = context.pressure.breaker;
  const breakerOpen = breaker === undefined ? 0 : await breaker.flush();
  const documents = pressureMetricDocuments(
    { limiterWaits, breakerOpen },
    { pipeline: context.pipeline, stage: context.stage },
  );
  if (documents.length > 0) {
    const sink = context.logSink ?? ((line: string) => process.stdout.write(`${line}\n`));
    for (const document of documents) sink(document);
  }
}

function resolveNextStage(
  options: PressureOptions | undefined,
  context: PressureEnvironment,
  clock: () => number,
  problems: string[],
): NextStageDepth | undefined {
  if (options?.nextDepthLimit === false) {
    return undefined;
  }
  const fromEnv = context.env[ENV.nextDepthLimit];
  const limit = options?.nextDepthLimit ?? (fromEnv === undefined || fromEnv === '' ? undefined : Number(fromEnv));
  if (limit === undefined) {
    return undefined;
  }
  if (!Number.isInteger(limit) || limit < 1) {
    problems.push(`nextDepthLimit (${ENV.nextDepthLimit}) must be an integer of at least 1, but ${limit} was provided`);
    return undefined;
  }
  if (!context.nextQueueUrl) {
    problems.push(`nextDepthLimit needs the next stage's queue: pass nextQueueUrl or set ${ENV.nextQueueUrl}`);
    return undefined;
  }
  return new NextStageDepth(context.clients, context.nextQueueUrl, limit, clock, context.logger);
}

function resolveTenants(
  options: PressureOptions | undefined,
  context: PressureEnvironment,
  tableName: string | undefined,
  clock: () => number,
  problems: string[],
): TenantBulkhead | undefined {
  if (options?.tenant === false) {
    return undefined;
  }
  const declared = options?.tenant ?? (jsonFromEnv(context.env, ENV.tenant, problems) as TenantSettings | undefined);
  if (declared === undefined) {
    return undefined;
  }
  if (typeof declared.key !== 'string' || declared.key === '') {
    problems.push(`tenant.key must name a field of the job's data, but ${JSON.stringify(declared.key)} was provided`);
  }
  if (!Number.isInteger(declared.maxInFlight) || declared.maxInFlight < 1) {
    problems.push(`tenant.maxInFlight must be an integer of at least 1, but ${declared.maxInFlight} was provided`);
  }
  if (!tableName) {
    problems.push(`a tenant bulkhead needs the control table: pass controlTableName or set ${ENV.controlTableName}`);
    return undefined;
  }
  return new TenantBulkhead({
    clients: context.clients,
    tableName,
    pipeline: context.pipeline,
    stage: context.stage,
    settings: declared,
    clock,
    logger: context.logger,
  });
}

/**
 * The checks before a record runs, cheapest first: `undefined` lets it run, a {@link PressureError} defers it, and a
 * {@link TenantLease} lets it run holding a tenant slot that {@link releaseAdmission} gives back. Only called when
 * {@link PressureConfig.gated}.
 */
export async function admit(
  config: PressureConfig,
  data: unknown,
  remainingMs: number,
): Promise<PressureError | TenantLease | undefined> {
  if (config.breaker) {
    const waitSeconds = await config.breaker.admit();
    if (waitSeconds !== undefined) {
      return new PressureError(
        'breaker-open',
        `The stage's circuit breaker is open (its downstream is failing); the record waits ${waitSeconds} s without running.`,
        waitSeconds,
      );
    }
  }
  if (config.nextStage) {
    const depth = await config.nextStage.overLimit();
    if (depth !== undefined) {
      return new PressureError(
        'next-stage',
        `The next stage's queue holds ${depth} messages, at or above its depth limit of ${config.nextStage.limit}; the record waits in this stage.`,
      );
    }
  }
  if (config.tenants) {
    const tenant = config.tenants.tenantOf(data);
    if (tenant !== undefined) {
      // The lease outlives the invocation by a second: a container that dies holding it frees it by then.
      const lease = await config.tenants.acquire(tenant, remainingMs + 1_000);
      if (lease === undefined) {
        return new PressureError(
          'tenant-cap',
          `Tenant '${tenant}' already has ${config.tenants.settings.maxInFlight} records in flight in this stage (its maxInFlight); the record waits.`,
        );
      }
      return lease;
    }
  }
  return undefined;
}

/** Gives back what {@link admit} took for a record (its tenant slot), once the record is finished. */
export function releaseAdmission(config: PressureConfig, lease: TenantLease): Promise<void> {
  return config.tenants ? config.tenants.release(lease) : Promise.resolve();
}

/** What the deferral step needs of the consumer. */
export interface DeferralContext {
  readonly pressure: PressureConfig;
  readonly clients: AwsClients;
  readonly logger: Logger;
  readonly logSink: LogSink | undefined;
  readonly pipeline: string;
  readonly stage: string;
}

/** A record held back by pressure, as the batch hands it to {@link deferRecords}. */
export interface HeldRecord {
  readonly record: SQSRecord;
  readonly error: PressureError;
  readonly jobId: string | undefined;
}

/**
 * What became of a held record: sent again (report it done), released in place with the deferral's delay (it could
 * not be sent again), or failed for good (deferred `maxDeferrals` times).
 */
export type DeferralResult =
  | { readonly kind: 'deferred' }
  | { readonly kind: 'released'; readonly error: Error; readonly retryAfterSeconds: number }
  | { readonly kind: 'failed'; readonly error: Error; readonly permanent: boolean; readonly retryAfterSeconds: number };

/**
 * Defers the held records of a batch: each is sent again to `queueUrl` with its delay and deferral count (see
 * `deferral.ts`); those that cannot be (FIFO, too many attributes, a failed send) come back as transient failures with
 * that delay as their visibility, and those past `maxDeferrals` as permanent ones. Emits the batch's deferral metrics.
 */
export async function deferRecords(
  context: DeferralContext,
  queueUrl: string,
  held: readonly HeldRecord[],
): Promise<DeferralResult[]> {
  const settings = context.pressure.deferral;
  const results: DeferralResult[] = new Array(held.length);
  const toSend: { index: number; deferral: Parameters<typeof resendDeferred>[2][number] }[] = [];
  const byReason: Partial<Record<DeferralReason, number>> = {};
  for (const [index, { record, error }] of held.entries()) {
    const deferrals = deferralsOf(record) + 1;
    const delaySeconds = deferralDelaySeconds(deferrals - 1, settings, error.retryAfterSeconds);
    if (deferrals > settings.maxDeferrals) {
      results[index] = {
        kind: 'failed',
        error: new DeferralLimitExceededError(deferrals - 1, settings.maxDeferrals, error.reason, { cause: error }),
        permanent: true,
        retryAfterSeconds: 0,
      };
      continue;
    }
    if (!canResend(record)) {
      results[index] = { kind: 'released', error, retryAfterSeconds: delaySeconds };
      continue;
    }
    toSend.push({ index, deferral: { record, reason: error.reason, delaySeconds, deferrals } });
  }
  const failedSends = await resendDeferred(
    context.clients,
    queueUrl,
    toSend.map((entry) => entry.deferral),
  );
  toSend.forEach(({ index, deferral }, position) => {
    const error = (held[index] as HeldRecord).error;
    if (failedSends.has(position)) {
      context.logger.error('Could not send a deferred record again; it is released to be received again instead', {
        messageId: deferral.record.messageId,
        jobId: held[index]?.jobId,
        reason: error.reason,
      });
      results[index] = { kind: 'released', error, retryAfterSeconds: deferral.delaySeconds };
      return;
    }
    results[index] = { kind: 'deferred' };
    byReason[error.reason] = (byReason[error.reason] ?? 0) + 1;
    context.logger.info('Deferred a record under pressure', {
      messageId: deferral.record.messageId,
      jobId: held[index]?.jobId,
      reason: error.reason,
      deferrals: deferral.deferrals,
      delaySeconds: deferral.delaySeconds,
      detail: error.message,
    });
  });
  for (const [index, result] of results.entries()) {
    if (result.kind === 'released') {
      const reason = (held[index] as HeldRecord).error.reason;
      byReason[reason] = (byReason[reason] ?? 0) + 1;
    }
  }
  if (Object.keys(byReason).length > 0) {
    const sink = context.logSink ?? ((line: string) => process.stdout.write(`${line}\n`));
    for (const document of pressureMetricDocuments(
      { deferred: byReason },
      { pipeline: context.pipeline, stage: context.stage },
    )) {
      sink(document);
    }
  }
  return results;
}

/** The environment's JSON value of `name`, parsed, or a problem naming the variable. */
export function jsonFromEnv(env: NodeJS.ProcessEnv, name: string, problems: string[]): unknown {
  const value = env[name];
  if (value === undefined || value === '') {
    return undefined;
  }
  try {
    return JSON.parse(value);
  } catch (error) {
    problems.push(
      `${name} must be JSON, but ${JSON.stringify(value.slice(0, 60))} was provided (${(error as Error).message})`,
    );
    return undefined;
  }
}
