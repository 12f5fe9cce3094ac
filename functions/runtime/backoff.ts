import { SQS_LIMITS } from '../../lib/definition/limits.ts';

/** How long a transiently failed record waits before its next attempt. */
export interface BackoffOptions {
  /** Delay before the second attempt, before jitter. @default 2 */
  readonly baseSeconds?: number;
  /** Longest delay; also capped by SQS's 12-hour visibility limit. @default 900 */
  readonly maxSeconds?: number;
}

/** Default backoff: 2 s doubling per attempt, at most 15 minutes. */
export const DEFAULT_BACKOFF = { baseSeconds: 2, maxSeconds: 900 } as const;

/**
 * The visibility timeout to give a record that failed on its `receiveCount`-th receive: exponential backoff with full
 * jitter (a uniform draw between 0 and `min(max, base × 2^(receiveCount − 1))`), in whole seconds, at least 1 so the
 * record is not redelivered in a hot loop.
 */
export function backoffSeconds(
  receiveCount: number,
  options: BackoffOptions = {},
  random: () => number = Math.random,
): number {
  const base = options.baseSeconds ?? DEFAULT_BACKOFF.baseSeconds;
  const max = Math.min(options.maxSeconds ?? DEFAULT_BACKOFF.maxSeconds, SQS_LIMITS.visibilityTimeoutSeconds.max);
  const attempt = Math.max(1, Math.floor(receiveCount));
  // 2^attempt overflows to Infinity long after the cap applies; Math.min keeps it finite.
  const ceiling = Math.min(max, base * 2 ** (attempt - 1));
  return Math.max(1, Math.min(max, Math.ceil(random() * ceiling)));
}
