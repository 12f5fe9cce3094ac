import { LAMBDA_LIMITS, VISIBILITY_TIMEOUT_FACTOR } from './limits.ts';

/**
 * Values sluice derives from others. Each is computed here and only here; the constructs, the local runtime and the
 * simulator call these functions instead of repeating the arithmetic.
 */

/**
 * The smallest visibility timeout AWS recommends for a queue a Lambda function consumes: six times the function
 * timeout plus the batching window, so a batch retried by Lambda after throttling is not delivered twice.
 */
export function requiredVisibilityTimeoutSeconds(timeoutSeconds: number, maxBatchingWindowSeconds: number): number {
  return VISIBILITY_TIMEOUT_FACTOR * timeoutSeconds + maxBatchingWindowSeconds;
}

/**
 * Records per second a stage drains at full scale: each of `maxConcurrency` invocations works on
 * `min(recordConcurrency, batchSize)` records at a time, each taking `recordProcessingMs`.
 */
export function drainRatePerSecond(args: {
  readonly maxConcurrency: number;
  readonly batchSize: number;
  readonly recordConcurrency: number;
  readonly recordProcessingMs: number;
}): number {
  const parallelRecords = Math.min(args.recordConcurrency, args.batchSize);
  return (args.maxConcurrency * parallelRecords * 1000) / args.recordProcessingMs;
}

/**
 * Little's law (L = λ·W): the deepest queue that a stage draining `drainRate` records per second clears within the
 * age SLO. Past it, a newly accepted record is expected to wait longer than the SLO. At least 1.
 */
export function depthLimitFor(ageSloSeconds: number, drainRate: number): number {
  return Math.max(1, Math.floor(ageSloSeconds * drainRate));
}

/** Worst-case request payload of one invocation: a full batch of maximum-size messages. */
export function worstCaseBatchPayloadBytes(batchSize: number, maxMessageSizeBytes: number): number {
  return batchSize * maxMessageSizeBytes;
}

/** Whether a full batch of maximum-size messages can exceed Lambda's 6 MB synchronous payload. */
export function exceedsInvocationPayload(batchSize: number, maxMessageSizeBytes: number): boolean {
  return worstCaseBatchPayloadBytes(batchSize, maxMessageSizeBytes) > LAMBDA_LIMITS.invocationPayloadBytes.max;
}
