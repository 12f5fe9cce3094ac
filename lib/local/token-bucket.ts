/**
 * A token bucket, as API Gateway throttles: `rate` tokens a second refill a bucket of `burst`; a request takes one
 * token or is throttled.
 */
export class TokenBucket {
  private tokens: number;
  private refilledAt: number;
  readonly rate: number;
  readonly burst: number;
  private readonly now: () => number;

  constructor(rate: number, burst: number, now: () => number = Date.now) {
    this.rate = rate;
    this.burst = burst;
    this.now = now;
    this.tokens = burst;
    this.refilledAt = now();
  }

  /** Takes a token; false when the bucket is empty. */
  take(): boolean {
    const now = this.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.refilledAt) / 1000) * this.rate);
    this.refilledAt = now;
    if (this.tokens < 1) {
      return false;
    }
    this.tokens -= 1;
    return true;
  }
}
