/**
 * An SQS queue as counted jobs: messages travel in cohorts (a count with the time they were sent, their receive
 * count and how often they were deferred), never one object per message, so 100,000 requests a second cost what 10
 * do. Three states, as SQS reports them: visible (ApproximateNumberOfMessages), not visible — in a batch or hidden
 * by a visibility timeout — (…NotVisible) and delayed (…Delayed)
 * (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-visibility-timeout.html).
 */

/** Messages that share a send time, receive count and deferral count. */
export interface Cohort {
  /** Simulated seconds when the messages were sent (their `SentTimestamp`). */
  sentAt: number;
  count: number;
  /** `ApproximateReceiveCount` so far. */
  readonly receives: number;
  /** Times the job was deferred for pressure (`sluice-deferrals`). */
  readonly deferrals: number;
}

/** A first-in first-out list of cohorts with O(1) push and shift. */
class CohortList {
  private items: Cohort[] = [];
  private head = 0;

  get empty(): boolean {
    return this.head >= this.items.length;
  }

  peek(): Cohort | undefined {
    return this.items[this.head];
  }

  last(): Cohort | undefined {
    return this.head < this.items.length ? this.items[this.items.length - 1] : undefined;
  }

  push(cohort: Cohort): void {
    this.items.push(cohort);
  }

  shift(): void {
    this.head++;
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
  }
}

/** Messages becoming visible again at a tick. */
interface Due {
  readonly cohort: Cohort;
  readonly hidden: 'invisible' | 'delayed';
}

/**
 * One queue. Receives take the oldest messages first (SQS standard queues do not promise an order, but a busy queue
 * is close to first-in first-out); messages that come back after a visibility timeout keep their send time, as on
 * SQS, and wait in a second list so the first stays sorted.
 */
export class SimQueue {
  /** ApproximateNumberOfMessages. */
  visible = 0;
  /** Messages in a batch being processed. */
  inBatches = 0;
  /** Messages hidden by a visibility timeout (backoff, a timed-out invocation): not visible, not in a batch. */
  invisible = 0;
  /** ApproximateNumberOfMessagesDelayed: re-sent with DelaySeconds (deferrals). */
  delayed = 0;
  private readonly fresh = new CohortList();
  private readonly returned = new CohortList();
  private readonly due = new Map<number, Due[]>();
  /** Cohorts sent this close together (seconds) share one entry; the oldest age is over-stated by at most this. */
  readonly mergeSeconds: number;

  constructor(mergeSeconds: number) {
    this.mergeSeconds = mergeSeconds;
  }

  /** ApproximateNumberOfMessagesNotVisible. */
  get notVisible(): number {
    return this.inBatches + this.invisible;
  }

  /** Everything the queue holds: what the depth-check authorizer sums. */
  get depth(): number {
    return this.visible + this.inBatches + this.invisible + this.delayed;
  }

  /** Sends `count` new messages at `now`. */
  send(now: number, count: number, receives = 0, deferrals = 0): void {
    if (count <= 0) return;
    this.visible += count;
    const last = this.fresh.last();
    if (
      last !== undefined &&
      last.receives === receives &&
      last.deferrals === deferrals &&
      now - last.sentAt <= this.mergeSeconds
    ) {
      last.count += count;
      return;
    }
    this.fresh.push({ sentAt: now, count, receives, deferrals });
  }

  /** Hides `cohort` until tick `tick` (a visibility timeout: `invisible`; a DelaySeconds re-send: `delayed`). */
  hideUntil(tick: number, cohort: Cohort, hidden: 'invisible' | 'delayed'): void {
    if (cohort.count <= 0) return;
    if (hidden === 'invisible') this.invisible += cohort.count;
    else this.delayed += cohort.count;
    const list = this.due.get(tick);
    if (list) list.push({ cohort, hidden });
    else this.due.set(tick, [{ cohort, hidden }]);
  }

  /**
   * Makes the messages due at `tick` visible again. Those whose receive count has reached `maxReceiveCount` are moved
   * to the dead-letter queue by SQS's redrive policy instead, and their number is returned
   * (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-dead-letter-queues.html).
   */
  release(tick: number, maxReceiveCount: number): number {
    const list = this.due.get(tick);
    if (!list) return 0;
    this.due.delete(tick);
    let redriven = 0;
    for (const { cohort, hidden } of list) {
      if (hidden === 'invisible') this.invisible -= cohort.count;
      else this.delayed -= cohort.count;
      if (cohort.receives >= maxReceiveCount) {
        redriven += cohort.count;
        continue;
      }
      this.visible += cohort.count;
      if (hidden === 'delayed') this.fresh.push(cohort);
      else this.returned.push(cohort);
    }
    return redriven;
  }

  /** Send time of the oldest visible message, or undefined when none is visible. */
  oldestSentAt(): number | undefined {
    const a = this.fresh.peek()?.sentAt;
    const b = this.returned.peek()?.sentAt;
    if (a === undefined) return b;
    if (b === undefined) return a;
    return Math.min(a, b);
  }

  /**
   * Receives up to `count` visible messages, oldest first, into a batch (they become in-batch, not visible);
   * `visit` sees each slice with the receive count it had before this receive.
   */
  receive(count: number, visit: (slice: Cohort) => void): number {
    let left = Math.min(count, this.visible);
    const taken = left;
    while (left > 0) {
      const a = this.fresh.peek();
      const b = this.returned.peek();
      const list = a === undefined || (b !== undefined && b.sentAt < a.sentAt) ? this.returned : this.fresh;
      const cohort = list.peek() as Cohort;
      const n = Math.min(left, cohort.count);
      visit({ sentAt: cohort.sentAt, count: n, receives: cohort.receives, deferrals: cohort.deferrals });
      cohort.count -= n;
      left -= n;
      if (cohort.count === 0) list.shift();
    }
    this.visible -= taken;
    this.inBatches += taken;
    return taken;
  }
}
