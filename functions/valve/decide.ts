/**
 * The valve's decision: whether a stage's event source should poll. One pure function, used by the deployed valve
 * (`handler.ts`, which calls Lambda's `UpdateEventSourceMapping`) and by the local event source poller's pause and
 * resume, so both behave alike.
 *
 * - Breaker open (its `openSeconds` not yet over): disabled. Records stay in the queue, visible and unreceived, so no
 *   receive spends their retry budget (each receive adds 1 to `ApproximateReceiveCount`,
 *   https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-dead-letter-queues.html).
 * - Breaker past its open time, or half-open: enabled again first, so the runtime can let its probes through (it
 *   defers the rest while half-open); the breaker closes on their success or opens again.
 * - Next stage at or over its hard depth limit: disabled; enabled again once it has drained below
 *   {@link RESUME_FRACTION} of the limit, so the mapping does not flap around the limit.
 * - Otherwise: enabled.
 *
 * A disabled mapping finishes the batches it is processing and starts no new poll (Lambda's `Enabled: false`,
 * https://docs.aws.amazon.com/lambda/latest/api/API_UpdateEventSourceMapping.html).
 */

/** Share of the next stage's limit its depth must fall below before a paused stage polls again. */
export const RESUME_FRACTION = 0.9;

/** What the valve knows of a stage's breaker (a subset of the runtime's `BreakerState`). */
export interface ValveBreakerView {
  readonly status: 'closed' | 'open' | 'half-open';
  /** Epoch milliseconds the breaker opened. */
  readonly openedAtMs: number;
}

/** Inputs of one decision. */
export interface ValveInput {
  /** Whether the event source polls now. */
  readonly enabled: boolean;
  /** The stage's breaker and how long it stays open, when the stage has one. */
  readonly breaker?: ValveBreakerView;
  readonly openSeconds?: number;
  /** Depth of the next stage's queue (waiting, in flight and delayed), when the stage has one. */
  readonly nextDepth?: number;
  readonly nextDepthLimit?: number;
  readonly nowMs: number;
}

/** Why the valve decided what it did. */
export type ValveReason = 'flowing' | 'breaker-open' | 'breaker-half-open' | 'next-stage-full' | 'next-stage-draining';

/** The decision: poll or not, and why. */
export interface ValveDecision {
  readonly enabled: boolean;
  readonly reason: ValveReason;
}

/**
 * Decides whether a stage's event source should poll.
 *
 * @example
 * const decision = decideValve({ enabled: true, breaker, openSeconds: 30, nextDepth: 1200, nextDepthLimit: 1000, nowMs });
 * if (decision.enabled !== enabled) await setEnabled(decision.enabled);
 */
export function decideValve(input: ValveInput): ValveDecision {
  const { breaker } = input;
  const nextFull =
    input.nextDepth !== undefined && input.nextDepthLimit !== undefined && input.nextDepth >= input.nextDepthLimit;
  if (breaker && breaker.status === 'open') {
    const reopensAt = breaker.openedAtMs + (input.openSeconds ?? 0) * 1000;
    if (input.nowMs < reopensAt) return { enabled: false, reason: 'breaker-open' };
  }
  if (nextFull) return { enabled: false, reason: 'next-stage-full' };
  if (
    !input.enabled &&
    input.nextDepth !== undefined &&
    input.nextDepthLimit !== undefined &&
    input.nextDepth >= input.nextDepthLimit * RESUME_FRACTION
  ) {
    return { enabled: false, reason: 'next-stage-draining' };
  }
  if (breaker && breaker.status !== 'closed') return { enabled: true, reason: 'breaker-half-open' };
  return { enabled: true, reason: 'flowing' };
}
