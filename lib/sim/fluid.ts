/**
 * Small pieces of the counted-jobs model: integer shares with carried remainders (so splitting 7 records 30/70 over
 * many ticks neither creates nor loses one), token buckets refilled by elapsed time, and the quantiles a service-time
 * distribution is represented by.
 */

/** Turns fractional amounts into integers, carrying the remainder to the next call. */
export class Carry {
  private remainder = 0;

  /** The integer part of `amount` plus what was carried, at most `cap`; the rest is carried. */
  take(amount: number, cap = Number.POSITIVE_INFINITY): number {
    const total = amount + this.remainder;
    const whole = Math.min(cap, Math.max(0, Math.floor(total + 1e-9)));
    this.remainder = Math.min(1, total - whole);
    return whole;
  }
}

/**
 * A token bucket as API Gateway throttles (https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-request-throttling.html):
 * `rate` tokens a second refill a bucket holding at most `burst`; a request takes one token or is throttled. Starts full.
 */
export class FluidBucket {
  tokens: number;
  readonly rate: number;
  readonly burst: number;

  constructor(rate: number, burst: number) {
    this.rate = rate;
    // A bucket smaller than one token would never let anything through; API Gateway treats burst 0 as 1 in practice.
    this.burst = Math.max(1, burst);
    this.tokens = this.burst;
  }

  /** Adds `seconds` of refill. */
  refill(seconds: number): void {
    this.tokens = Math.min(this.burst, this.tokens + this.rate * seconds);
  }

  /** Whole tokens available. */
  available(): number {
    return Math.floor(this.tokens + 1e-9);
  }

  /** Takes up to `wanted` whole tokens and returns how many it took. */
  take(wanted: number): number {
    const taken = Math.max(0, Math.min(wanted, this.available()));
    this.tokens -= taken;
    return taken;
  }
}

/** Number of equal-probability groups a service-time distribution is cut into. */
export const SERVICE_TIME_GROUPS = 4;

/** Standard normal quantiles at the midpoints of four equal-probability groups (0.125, 0.375, 0.625, 0.875). */
const NORMAL_QUANTILES = [-1.150349, -0.318639, 0.318639, 1.150349] as const;

/**
 * Multipliers of the mean record time for each of the {@link SERVICE_TIME_GROUPS} groups, scaled so their mean is 1:
 * a deterministic, stratified stand-in for drawing service times at random.
 */
export function serviceTimeMultipliers(distribution: 'fixed' | 'exponential' | 'lognormal', cv = 0.5): number[] {
  let raw: number[];
  if (distribution === 'fixed') {
    raw = [1, 1, 1, 1];
  } else if (distribution === 'exponential') {
    raw = [0.125, 0.375, 0.625, 0.875].map((q) => -Math.log(1 - q));
  } else {
    const sigma = Math.sqrt(Math.log(1 + cv * cv));
    raw = NORMAL_QUANTILES.map((z) => Math.exp(-(sigma * sigma) / 2 + sigma * z));
  }
  const mean = raw.reduce((sum, value) => sum + value, 0) / raw.length;
  return raw.map((value) => value / mean);
}
