import type { Priority } from '../../lib/definition/envelope.ts';
import type { AdmissionSettings, DownstreamAdmission } from '../../lib/definition/resolve-ingress.ts';

export {
  type AdmissionSettings,
  admissionSettingsOf,
  type DownstreamAdmission,
} from '../../lib/definition/resolve-ingress.ts';

/**
 * The admission decision of the ingress: a pure function of the stage's backlog and the thresholds of the pipeline
 * definition. The AWS authorizer (`handler.ts`) and the local ingress server both call it, so they shed alike.
 *
 * - Below the soft limit: admit.
 * - From the soft limit (with priority lanes on, counted over both lanes): shed `low` requests; `high` ones are still
 *   admitted.
 * - From the hard limit (counted on the request's own lane): the overload policy. `reject` answers 503; `buffer` admits to the overflow queue until that
 *   queue holds `overflowMaxDepth` messages, then answers 503 too.
 *
 * - Whole pipeline: whatever the lane and the policy, a request is rejected (503) while any stage downstream of the
 *   ingress is at or over its pressure limit: its depth at its hard depth limit, or its backlog's expected wait
 *   (depth ÷ drain rate, Little's law) at its age SLO. `GetQueueAttributes` has no age attribute (the age of the
 *   oldest message is a CloudWatch metric, one-minute data), so the wait is estimated from the depth. The overflow
 *   buffer does not take such a request: it absorbs a burst at the front door, and would only move a later stage's
 *   backlog.
 *
 * Every rejection carries `retryAfterSeconds`: the time the bottleneck stage's consumers need to drain its backlog
 * back below the threshold that was crossed, at least 1 and at most `maxRetryAfterSeconds`, and names that stage.
 *
 * Rejections are always 503: API Gateway maps an authorizer's Deny to one gateway response (ACCESS_DENIED) with one
 * status code, and 503 + Retry-After is HTTP's "overloaded, come back later" (RFC 9110 §15.6.4). 429 stays the
 * answer of the per-client and stage throttles (usage plans), so a producer can tell "you send too fast" (429) from
 * "the system is full" (503), and both from authentication failures (401/403).
 */

/** Status of an overload rejection. */
export const OVERLOADED_STATUS = 503;
/** Status of a throttled request (stage or per-client token bucket, usage plan quota). */
export const THROTTLED_STATUS = 429;

/** What the decision looks at for one request. */
export interface AdmissionInput {
  /** Messages in the stage's queues (every lane): waiting, in flight and delayed. The soft limit applies to it. */
  readonly depth: number;
  /**
   * Messages in the request's own lane queue, with priority lanes: the hard limit applies to it, since each lane has
   * its own consumer and a high-priority job waits only behind the high lane. @default depth
   */
  readonly laneDepth?: number;
  /** Messages on the overflow queue; only read with the `buffer` policy. */
  readonly overflowDepth?: number;
  /** Depth of each stage in `settings.downstream`, in the same order. @default none weighed */
  readonly downstreamDepths?: readonly number[];
  readonly lane: Priority;
  readonly settings: AdmissionSettings;
}

/** Why a request was not admitted. */
export type RejectionReason = 'shed-low-priority' | 'over-hard-limit' | 'overflow-full' | 'downstream-over-limit';

/** The outcome: admitted to a lane's queue or to the overflow queue, or rejected with a status and Retry-After. */
export type AdmissionDecision =
  | { readonly admit: true; readonly lane: Priority; readonly target: 'queue' | 'overflow' }
  | {
      readonly admit: false;
      readonly status: typeof OVERLOADED_STATUS;
      readonly retryAfterSeconds: number;
      readonly reason: RejectionReason;
      /** The bottleneck: the stage whose backlog the request was refused for. */
      readonly stage: string;
    };

/** How pressured one stage is: the larger of depth ÷ depth limit and expected wait ÷ age SLO (1 = at its limit). */
export interface StagePressure {
  readonly stage: string;
  readonly pressure: number;
  /** Messages over the threshold that was crossed (the basis of Retry-After); 0 when under it. */
  readonly excess: number;
  readonly drainRatePerSecond: number;
}

/**
 * Decides whether one request is admitted.
 *
 * @example
 * const decision = decideAdmission({ depth: 950, lane: 'low', settings });
 * if (!decision.admit) respond(decision.status, { error: 'overloaded', retryAfterSeconds: decision.retryAfterSeconds });
 */
export function decideAdmission(input: AdmissionInput): AdmissionDecision {
  const { depth, settings } = input;
  const ingressStage = settings.stage ?? 'ingress';
  const bottleneck = mostPressuredDownstream(settings.downstream ?? [], input.downstreamDepths ?? []);
  if (bottleneck && bottleneck.pressure >= 1) {
    return reject(
      'downstream-over-limit',
      bottleneck.excess,
      bottleneck.drainRatePerSecond,
      settings,
      bottleneck.stage,
    );
  }
  const lane: Priority = settings.priorityEnabled ? input.lane : 'high';
  const laneDepth = settings.priorityEnabled ? (input.laneDepth ?? depth) : depth;
  if (laneDepth >= settings.hardLimit) {
    if (settings.overload === 'buffer') {
      const overflowDepth = input.overflowDepth ?? 0;
      if (overflowDepth < settings.overflowMaxDepth) return { admit: true, lane, target: 'overflow' };
      return reject(
        'overflow-full',
        overflowDepth - settings.overflowMaxDepth + 1,
        settings.overflowDrainRatePerSecond,
        settings,
        ingressStage,
      );
    }
    return reject(
      'over-hard-limit',
      laneDepth - settings.hardLimit + 1,
      settings.drainRatePerSecond,
      settings,
      ingressStage,
    );
  }
  if (lane === 'low' && depth >= settings.softLimit) {
    return reject(
      'shed-low-priority',
      depth - settings.softLimit + 1,
      settings.drainRatePerSecond,
      settings,
      ingressStage,
    );
  }
  return { admit: true, lane, target: 'queue' };
}

/**
 * Seconds until `excess` messages are drained at `ratePerSecond`, rounded up, at least 1 and at most
 * `maxRetryAfterSeconds` (a rate of 0 or less gives the maximum).
 */
export function retryAfterSecondsFor(excess: number, ratePerSecond: number, maxRetryAfterSeconds: number): number {
  if (!(ratePerSecond > 0)) return maxRetryAfterSeconds;
  const seconds = Math.ceil(Math.max(1, excess) / ratePerSecond);
  return Math.min(maxRetryAfterSeconds, Math.max(1, seconds));
}

/**
 * The lane a request asks for through the priority header: `high` or `low` (any case, surrounding spaces ignored).
 * A missing or unknown value gets the default lane: the authorizer cannot answer 400, and a producer that mislabels
 * its priority should not lose its request.
 */
export function laneOf(headerValue: string | undefined, defaultLane: Priority): Priority {
  const value = headerValue?.trim().toLowerCase();
  return value === 'high' || value === 'low' ? value : defaultLane;
}

/**
 * The pressure of one stage: depth ÷ depth limit, or the backlog's expected wait (depth ÷ drain rate) ÷ age SLO when
 * that is larger (a stage whose depth limit was set above what it drains within its SLO).
 */
export function stagePressure(stage: DownstreamAdmission, depth: number): StagePressure {
  const byDepth = depth / stage.depthLimit;
  const sloDepth = stage.ageSloSeconds * stage.drainRatePerSecond;
  const byAge = sloDepth > 0 ? depth / sloDepth : byDepth;
  const threshold = byAge > byDepth ? sloDepth : stage.depthLimit;
  return {
    stage: stage.stage,
    pressure: Math.max(byDepth, byAge),
    excess: Math.max(0, Math.ceil(depth - threshold + 1)),
    drainRatePerSecond: stage.drainRatePerSecond,
  };
}

/** The most pressured of `stages` (depths in the same order), or undefined when there are none. */
export function mostPressuredDownstream(
  stages: readonly DownstreamAdmission[],
  depths: readonly number[],
): StagePressure | undefined {
  let worst: StagePressure | undefined;
  for (let index = 0; index < stages.length; index++) {
    const stage = stages[index] as DownstreamAdmission;
    const pressure = stagePressure(stage, depths[index] ?? 0);
    if (worst === undefined || pressure.pressure > worst.pressure) worst = pressure;
  }
  return worst;
}

function reject(
  reason: RejectionReason,
  excess: number,
  ratePerSecond: number,
  settings: AdmissionSettings,
  stage: string,
): AdmissionDecision {
  return {
    admit: false,
    status: OVERLOADED_STATUS,
    retryAfterSeconds: retryAfterSecondsFor(excess, ratePerSecond, settings.maxRetryAfterSeconds),
    reason,
    stage,
  };
}
