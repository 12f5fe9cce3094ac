import type { BreakerSettings } from './topology.ts';

/**
 * A stage's circuit breaker in counted form, with the transitions of the pressure contract: closed → open when at
 * least `minimumCalls` calls in the last `windowSeconds` failed at `failureRatio` or more; open → half-open after
 * `openSeconds`; half-open lets `halfOpenProbes` calls through, closing when none of them failed and opening again
 * when one did.
 */
export class BreakerModel {
  state: 'closed' | 'open' | 'half-open' = 'closed';
  /** Times it opened. */
  opened = 0;
  private openedAt = 0;
  private probesLeft = 0;
  private probeFailures = 0;
  private readonly calls: number[];
  private readonly failures: number[];
  private bucketSecond = 0;
  readonly settings: BreakerSettings;

  constructor(settings: BreakerSettings) {
    this.settings = settings;
    const buckets = Math.max(1, Math.ceil(settings.windowSeconds));
    this.calls = new Array(buckets).fill(0);
    this.failures = new Array(buckets).fill(0);
  }

  /** Open and still inside its `openSeconds` (what the valve reads). */
  isOpen(now: number): boolean {
    return this.state === 'open' && now - this.openedAt < this.settings.openSeconds;
  }

  /** How many of `wanted` calls may run now (0 while open). */
  allow(wanted: number, now: number): number {
    if (this.state === 'open' && now - this.openedAt >= this.settings.openSeconds) {
      this.state = 'half-open';
      this.probesLeft = this.settings.halfOpenProbes;
      this.probeFailures = 0;
    }
    if (this.state === 'closed') return wanted;
    if (this.state === 'open') return 0;
    const allowed = Math.min(wanted, this.probesLeft);
    this.probesLeft -= allowed;
    return allowed;
  }

  /** Records the outcome of calls made now. */
  record(succeeded: number, failed: number, now: number): void {
    if (succeeded + failed === 0) return;
    if (this.state === 'half-open') {
      this.probeFailures += failed;
      if (this.probeFailures > 0) this.open(now);
      else if (this.probesLeft === 0) this.close();
      return;
    }
    if (this.state === 'open') return;
    this.advance(now);
    const index = this.bucketSecond % this.calls.length;
    this.calls[index] = (this.calls[index] ?? 0) + succeeded + failed;
    this.failures[index] = (this.failures[index] ?? 0) + failed;
    let calls = 0;
    let failures = 0;
    for (let i = 0; i < this.calls.length; i++) {
      calls += this.calls[i] ?? 0;
      failures += this.failures[i] ?? 0;
    }
    if (calls >= this.settings.minimumCalls && failures / calls >= this.settings.failureRatio) this.open(now);
  }

  private advance(now: number): void {
    const second = Math.floor(now);
    while (this.bucketSecond < second) {
      this.bucketSecond++;
      const index = this.bucketSecond % this.calls.length;
      this.calls[index] = 0;
      this.failures[index] = 0;
      if (second - this.bucketSecond > this.calls.length) this.bucketSecond = second - this.calls.length;
    }
  }

  private open(now: number): void {
    this.state = 'open';
    this.openedAt = now;
    this.opened++;
  }

  private close(): void {
    this.state = 'closed';
    this.calls.fill(0);
    this.failures.fill(0);
  }
}
