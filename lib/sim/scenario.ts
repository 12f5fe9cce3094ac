import { API_GATEWAY_LIMITS } from '../definition/index.ts';
import { ScenarioError } from './errors.ts';
import type { ArrivalProfile } from './profile.ts';

/**
 * What the definition does not say and a simulation needs: the arrivals, how long each record really takes, how
 * often the work fails, when a downstream is down, how traffic splits over clients, lanes and tenants.
 */

/** Shape of a stage's record processing time around its mean. */
export type ServiceTimeDistribution = 'fixed' | 'exponential' | 'lognormal';

/** How one stage's work behaves. */
export interface StageBehaviour {
  /** Mean milliseconds per record. @default the stage's `flow.recordProcessingMs` */
  readonly recordMs?: number;
  /**
   * A measured record time that changes over the run (e.g. a shared machine's speed): from `atSeconds` on, the mean
   * is `recordMs`, until the next step. Before the first step, `recordMs` above applies. @default none
   */
  readonly recordMsSteps?: readonly { readonly atSeconds: number; readonly recordMs: number }[];
  /** @default 'fixed' */
  readonly distribution?: ServiceTimeDistribution;
  /** Coefficient of variation of a lognormal. @default 0.5 */
  readonly cv?: number;
  /** Share of records that fail transiently (retried with backoff, dead-lettered after maxReceiveCount). @default 0 */
  readonly transientFailureRate?: number;
  /** Share of records that fail permanently (dead-lettered at once). @default 0 */
  readonly permanentFailureRate?: number;
  /** Messages forwarded to the next stage per completed record (e.g. chunks per document). @default 1 */
  readonly fanOut?: number;
  /** Windows in which every call to the stage's downstream fails (transiently). @default none */
  readonly outages?: readonly { readonly startSeconds: number; readonly lengthSeconds: number }[];
}

/** A simulation's inputs besides the pipeline definition. */
export interface Scenario {
  readonly profile: ArrivalProfile;
  /** Seconds of arrivals. */
  readonly durationSeconds: number;
  /** After the arrivals, keep going until every queue is empty, at most this long. @default 3600 */
  readonly maxDrainSeconds?: number;
  /** Length of one step of the model. @default 0.01 */
  readonly tickSeconds?: number;
  /** Interval of the time series. @default max(1, run / 3600) seconds */
  readonly sampleSeconds?: number;
  /** Size of one message body (SQS billing chunks, the 6 MB invocation payload). @default 1024 */
  readonly messageBytes?: number;
  /** Milliseconds an invocation spends besides its records (start, deletes, forwards). @default 5 */
  readonly invocationOverheadMs?: number;
  /** Share of requests per ingress client (API key); normalised. @default an equal share each */
  readonly clientShares?: Readonly<Record<string, number>>;
  /** Share of requests sent with low priority (with priority lanes on). @default 0 */
  readonly lowPriorityShare?: number;
  /** The depth check; off shows the pipeline without backpressure. @default true */
  readonly backpressure?: boolean;
  /** Overrides of the ingress's stage throttle. */
  readonly throttle?: { readonly rateLimitPerSecond: number; readonly burstLimit: number };
  /** API Gateway's account-level throttle in the Region. @default 10,000/s, burst 5,000 */
  readonly accountThrottle?: { readonly rateLimitPerSecond: number; readonly burstLimit: number };
  /** Override of the authorizer's depth cache TTL. */
  readonly depthCacheTtlSeconds?: number;
  /**
   * Stage-to-stage backpressure (the runtime defers instead of forwarding while the next stage is over its depth
   * limit) and the valve (event source mapping disabled while a breaker is open or the next stage is over its limit).
   * @default true
   */
  readonly stageBackpressure?: boolean;
  /** Seconds between two looks of the valve at breakers and depths. @default 5 */
  readonly valveIntervalSeconds?: number;
  /** Share of the traffic that belongs to the busiest tenant (with per-tenant caps). @default 0 */
  readonly hotTenantShare?: number;
  /** Behaviour of every stage, and per stage name. */
  readonly stages?: Readonly<Record<string, StageBehaviour>>;
  readonly defaultStage?: StageBehaviour;
}

/** The scenario with every default applied. */
export interface ResolvedScenario
  extends Required<Omit<Scenario, 'throttle' | 'depthCacheTtlSeconds' | 'stages' | 'defaultStage' | 'clientShares'>> {
  readonly throttle?: Scenario['throttle'];
  readonly depthCacheTtlSeconds?: number;
  readonly clientShares?: Scenario['clientShares'];
  readonly stages: Readonly<Record<string, StageBehaviour>>;
  readonly defaultStage: StageBehaviour;
}

function check(problems: string[], field: string, value: number | undefined, min: number, max: number): void {
  if (value === undefined) return;
  if (!Number.isFinite(value) || value < min || value > max) {
    problems.push(`${field} must be between ${min} and ${max}, but ${value} was provided`);
  }
}

function checkBehaviour(problems: string[], path: string, behaviour: StageBehaviour): void {
  check(problems, `${path}.recordMs`, behaviour.recordMs, 0.01, 900_000);
  check(problems, `${path}.cv`, behaviour.cv, 0, 10);
  behaviour.recordMsSteps?.forEach((step, index) => {
    check(problems, `${path}.recordMsSteps[${index}].atSeconds`, step.atSeconds, 0, 1e9);
    check(problems, `${path}.recordMsSteps[${index}].recordMs`, step.recordMs, 0.01, 900_000);
  });
  check(problems, `${path}.transientFailureRate`, behaviour.transientFailureRate, 0, 1);
  check(problems, `${path}.permanentFailureRate`, behaviour.permanentFailureRate, 0, 1);
  check(problems, `${path}.fanOut`, behaviour.fanOut, 0, 10_000);
  behaviour.outages?.forEach((outage, index) => {
    check(problems, `${path}.outages[${index}].startSeconds`, outage.startSeconds, 0, 1e9);
    check(problems, `${path}.outages[${index}].lengthSeconds`, outage.lengthSeconds, 0, 1e9);
  });
}

/** Applies defaults and checks ranges, throwing one {@link ScenarioError} that lists every problem. */
export function resolveScenario(scenario: Scenario): ResolvedScenario {
  const problems: string[] = [];
  check(problems, 'durationSeconds', scenario.durationSeconds, 0.01, 30 * 86_400);
  check(problems, 'maxDrainSeconds', scenario.maxDrainSeconds, 0, 30 * 86_400);
  check(problems, 'tickSeconds', scenario.tickSeconds, 0.001, 10);
  check(problems, 'sampleSeconds', scenario.sampleSeconds, 0.01, 86_400);
  check(problems, 'messageBytes', scenario.messageBytes, 1, 1024 * 1024);
  check(problems, 'invocationOverheadMs', scenario.invocationOverheadMs, 0, 900_000);
  check(problems, 'lowPriorityShare', scenario.lowPriorityShare, 0, 1);
  check(problems, 'hotTenantShare', scenario.hotTenantShare, 0, 1);
  check(problems, 'depthCacheTtlSeconds', scenario.depthCacheTtlSeconds, 0.001, 3600);
  check(problems, 'valveIntervalSeconds', scenario.valveIntervalSeconds, 0.01, 3600);
  check(problems, 'throttle.rateLimitPerSecond', scenario.throttle?.rateLimitPerSecond, 0, 1e9);
  check(problems, 'throttle.burstLimit', scenario.throttle?.burstLimit, 0, 1e9);
  check(problems, 'accountThrottle.rateLimitPerSecond', scenario.accountThrottle?.rateLimitPerSecond, 0, 1e9);
  check(problems, 'accountThrottle.burstLimit', scenario.accountThrottle?.burstLimit, 0, 1e9);
  for (const [name, share] of Object.entries(scenario.clientShares ?? {})) {
    check(problems, `clientShares.${name}`, share, 0, 1e9);
  }
  if (scenario.defaultStage) checkBehaviour(problems, 'defaultStage', scenario.defaultStage);
  for (const [name, behaviour] of Object.entries(scenario.stages ?? {})) {
    checkBehaviour(problems, `stages.${name}`, behaviour);
  }
  if (problems.length > 0) {
    throw new ScenarioError(`The simulation scenario is invalid:\n  - ${problems.join('\n  - ')}`);
  }
  const runSeconds = scenario.durationSeconds + (scenario.maxDrainSeconds ?? 3600);
  return {
    profile: scenario.profile,
    durationSeconds: scenario.durationSeconds,
    maxDrainSeconds: scenario.maxDrainSeconds ?? 3600,
    tickSeconds: scenario.tickSeconds ?? 0.01,
    sampleSeconds: scenario.sampleSeconds ?? Math.max(1, Math.ceil(runSeconds / 3600)),
    messageBytes: scenario.messageBytes ?? 1024,
    invocationOverheadMs: scenario.invocationOverheadMs ?? 5,
    ...(scenario.clientShares ? { clientShares: scenario.clientShares } : {}),
    lowPriorityShare: scenario.lowPriorityShare ?? 0,
    backpressure: scenario.backpressure ?? true,
    ...(scenario.throttle ? { throttle: scenario.throttle } : {}),
    accountThrottle: scenario.accountThrottle ?? {
      rateLimitPerSecond: API_GATEWAY_LIMITS.defaultAccountRateLimitPerSecond.max,
      burstLimit: API_GATEWAY_LIMITS.defaultAccountBurstLimit.max,
    },
    ...(scenario.depthCacheTtlSeconds === undefined ? {} : { depthCacheTtlSeconds: scenario.depthCacheTtlSeconds }),
    stageBackpressure: scenario.stageBackpressure ?? true,
    valveIntervalSeconds: scenario.valveIntervalSeconds ?? 5,
    hotTenantShare: scenario.hotTenantShare ?? 0,
    stages: scenario.stages ?? {},
    defaultStage: scenario.defaultStage ?? {},
  };
}
