import type { Priority } from '../../lib/spec/index.ts';

/**
 * The admission decision of the ingress, as a pure function: the deployed authorizer and the local ingress server
 * both call it, so they answer the same way to the same depth.
 *
 * - below the soft limit, everything is admitted;
 * - between the soft and the hard limit, low-priority requests are shed (429) and high priority is admitted;
 * - at or above the hard limit, the overload policy applies: `reject` answers 503, `buffer` admits into the
 *   overflow queue (until that, too, is at its own limit).
 *
 * Every rejection carries a Retry-After estimated from the backlog and the stage's drain rate.
 */

/** Thresholds and policy of one accept stage. */
export interface AdmissionPolicy {
  /** Depth from which low-priority requests are shed. */
  readonly softLimit: number;
  /** Depth from which the overload policy applies. */
  readonly hardLimit: number;
  readonly overload: 'reject' | 'buffer';
  /** Records per second the stage drains at full scale. */
  readonly drainRatePerSecond: number;
  /** Depth of the overflow queue from which even buffering is refused. @default hardLimit */
  readonly overflowLimit?: number;
  /** Longest Retry-After sluice advertises. @default 300 */
  readonly maxRetryAfterSeconds?: number;
}

/** What the decision looks at. */
export interface AdmissionInput {
  /** Messages waiting in the stage's queue (visible + in flight). */
  readonly depth: number;
  /** Messages parked in the overflow queue. @default 0 */
  readonly overflowDepth?: number;
  readonly priority: Priority;
}

/** The decision. */
export type AdmissionDecision =
  | { readonly admit: true; readonly target: 'queue' | 'overflow' }
  | {
      readonly admit: false;
      readonly status: 429 | 503;
      readonly retryAfterSeconds: number;
      readonly reason: 'shed-low-priority' | 'overloaded';
    };

const ADMIT_TO_QUEUE: AdmissionDecision = { admit: true, target: 'queue' };
const ADMIT_TO_OVERFLOW: AdmissionDecision = { admit: true, target: 'overflow' };

/** Decides whether a request is accepted, and where to. */
export function decideAdmission(input: AdmissionInput, policy: AdmissionPolicy): AdmissionDecision {
  const { depth } = input;
  if (depth < policy.softLimit) {
    return ADMIT_TO_QUEUE;
  }
  if (depth < policy.hardLimit) {
    if (input.priority === 'high') {
      return ADMIT_TO_QUEUE;
    }
    return {
      admit: false,
      status: 429,
      retryAfterSeconds: retryAfter(depth - policy.softLimit, policy),
      reason: 'shed-low-priority',
    };
  }
  if (policy.overload === 'buffer' && (input.overflowDepth ?? 0) < (policy.overflowLimit ?? policy.hardLimit)) {
    return ADMIT_TO_OVERFLOW;
  }
  return {
    admit: false,
    status: 503,
    retryAfterSeconds: retryAfter(depth - policy.softLimit, policy),
    reason: 'overloaded',
  };
}

/** Seconds until the backlog above the soft limit drains at the stage's rate: at least 1, at most the cap. */
export function retryAfter(excess: number, policy: AdmissionPolicy): number {
  const cap = policy.maxRetryAfterSeconds ?? 300;
  if (policy.drainRatePerSecond <= 0) {
    return cap;
  }
  return Math.min(cap, Math.max(1, Math.ceil(Math.max(0, excess) / policy.drainRatePerSecond)));
}
