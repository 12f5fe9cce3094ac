/**
 * An open-loop load generator: requests leave on a fixed arrival schedule whether or not earlier ones were answered,
 * as real producers do (a closed loop would slow down with the system and hide its overload). In-flight requests are
 * bounded; a request that finds the bound full is counted as `dropped` (offered but not sent: the generator, not the
 * target, could not keep up), never silently lost.
 *
 * Accepted jobs are followed through the status route until they complete or are dead-lettered, which gives the
 * end-to-end latency (acceptedAt → completedAt, both from the job record).
 */

/** One phase of the schedule: `ratePerSecond` arrivals for `durationMs`. */
export interface LoadPhase {
  readonly ratePerSecond: number;
  readonly durationMs: number;
}

/** Options of {@link runLoad}. */
export interface LoadOptions {
  /** Base URL of the ingress (`POST {url}/jobs`, `GET {url}/jobs/{id}`). */
  readonly url: string;
  readonly phases: readonly LoadPhase[];
  /** The body of the i-th request. */
  readonly body: (index: number) => unknown;
  /** Headers of the i-th request (e.g. priority). */
  readonly headers?: (index: number) => Record<string, string>;
  /** Requests in flight at most. @default 512 */
  readonly maxInFlight?: number;
  /** After the schedule, how long to keep following accepted jobs. @default 120000 */
  readonly drainTimeoutMs?: number;
  /** Called about every 500 ms with the running totals. */
  readonly onProgress?: (stats: LoadStats) => void;
  /** Stop following jobs early when this returns true (e.g. the queues are empty). */
  readonly drained?: () => Promise<boolean>;
  /** Ends the last phase early when this returns true (checked every second). */
  readonly stopWhen?: () => Promise<boolean>;
  /** Follow accepted jobs through the status route. @default true */
  readonly follow?: boolean;
}

/** Running totals and the summary. */
export interface LoadStats {
  offered: number;
  accepted: number;
  /** 429 from the throttle. */
  throttled: number;
  /** 503 from the depth check. */
  shed: number;
  /** Every answer that is not 202, 429 or 503, and every network error: `clientErrors + serverErrors + networkErrors`. */
  failed: number;
  /** 4xx other than 429: a body the target refuses (400, 413), a missing or wrong API key (403), a wrong URL (404). */
  clientErrors: number;
  /** 5xx other than 503. */
  serverErrors: number;
  /** No answer: refused connection, reset, DNS failure. */
  networkErrors: number;
  /** The first 4xx/5xx answer or network error, as `status: message`, to say why requests failed. */
  firstError: string | undefined;
  /** Offered while maxInFlight requests were outstanding, so not sent: the generator, not the target, fell behind. */
  dropped: number;
  /**
   * Whether accepted jobs are followed through the status route (`follow`). Without it `completed`, `deadLettered`,
   * `pending` and the latencies stay empty: the generator does not know what became of a job.
   */
  followed: boolean;
  completed: number;
  deadLettered: number;
  /** Accepted and not yet completed or dead-lettered (followed jobs only). */
  pending: number;
  inFlightRequests: number;
  latencyP50Ms: number | undefined;
  latencyP99Ms: number | undefined;
  elapsedMs: number;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Runs the schedule and follows the accepted jobs. */
export async function runLoad(options: LoadOptions): Promise<LoadStats> {
  const maxInFlight = options.maxInFlight ?? 512;
  const following = options.follow ?? true;
  const stats: LoadStats = {
    offered: 0,
    accepted: 0,
    throttled: 0,
    shed: 0,
    failed: 0,
    clientErrors: 0,
    serverErrors: 0,
    networkErrors: 0,
    firstError: undefined,
    dropped: 0,
    followed: following,
    completed: 0,
    deadLettered: 0,
    pending: 0,
    inFlightRequests: 0,
    latencyP50Ms: undefined,
    latencyP99Ms: undefined,
    elapsedMs: 0,
  };
  const outstanding = new Set<string>();
  const latencies: number[] = [];
  const started = Date.now();
  const progress = setInterval(() => {
    summarise(stats, latencies, outstanding, started);
    options.onProgress?.(stats);
  }, 500);
  const requests = new Set<Promise<void>>();

  const send = async (index: number) => {
    stats.inFlightRequests++;
    try {
      const response = await fetch(`${options.url}/jobs`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...options.headers?.(index) },
        body: JSON.stringify(options.body(index)),
      });
      const text = await response.text().catch(() => '');
      const body = parseObject(text) as { jobId?: string; message?: string; error?: string };
      if (response.status === 202 && body.jobId) {
        stats.accepted++;
        // Only followed jobs are remembered: an unfollowed run keeps no per-job state, however long it lasts.
        if (following) outstanding.add(body.jobId);
      } else if (response.status === 429) {
        stats.throttled++;
      } else if (response.status === 503) {
        stats.shed++;
      } else {
        stats.failed++;
        if (response.status >= 500) stats.serverErrors++;
        else stats.clientErrors++;
        stats.firstError ??= `${response.status}: ${body.message ?? body.error ?? text.slice(0, 200)}`;
      }
    } catch (error) {
      stats.failed++;
      stats.networkErrors++;
      const cause = (error as { cause?: { code?: string; message?: string } }).cause;
      stats.firstError ??= `network error: ${cause?.code ?? cause?.message ?? (error as Error).message}`;
    } finally {
      stats.inFlightRequests--;
    }
  };

  let stopFollowing = !following;
  const follower = follow(options.url, outstanding, stats, latencies, () => stopFollowing);

  // The schedule: arrival i of a phase leaves at phaseStart + i / rate, measured against the clock, not the answers.
  let index = 0;
  let phaseStart = Date.now();
  let lastCheck = Date.now();
  let stopped = false;
  for (const [phaseIndex, phase] of options.phases.entries()) {
    const arrivals = Math.floor((phase.ratePerSecond * phase.durationMs) / 1000);
    const last = phaseIndex === options.phases.length - 1;
    for (let arrival = 0; arrival < arrivals && !stopped; arrival++) {
      if (last && options.stopWhen && Date.now() - lastCheck >= 1_000) {
        lastCheck = Date.now();
        stopped = await options.stopWhen();
      }
      const due = phaseStart + (arrival * 1000) / phase.ratePerSecond;
      const wait = due - Date.now();
      if (wait > 1) await sleep(wait);
      stats.offered++;
      if (stats.inFlightRequests >= maxInFlight) {
        stats.dropped++;
        continue;
      }
      const request = send(index++);
      requests.add(request);
      void request.finally(() => requests.delete(request));
    }
    phaseStart += phase.durationMs;
  }
  await Promise.all([...requests]);

  const deadline = Date.now() + (options.drainTimeoutMs ?? 120_000);
  while (!stopFollowing && outstanding.size > 0 && Date.now() < deadline) {
    if (options.drained && (await options.drained()) && outstanding.size === 0) break;
    await sleep(200);
  }
  stopFollowing = true;
  await follower;
  clearInterval(progress);
  summarise(stats, latencies, outstanding, started);
  return stats;
}

/** Follows outstanding jobs through the status route, a bounded number at a time. */
async function follow(
  url: string,
  outstanding: Set<string>,
  stats: LoadStats,
  latencies: number[],
  stop: () => boolean,
): Promise<void> {
  const CONCURRENT_READS = 16;
  while (!stop()) {
    const ids = [...outstanding].slice(0, 256);
    if (ids.length === 0) {
      await sleep(100);
      continue;
    }
    let next = 0;
    const reader = async () => {
      while (next < ids.length) {
        const id = ids[next++] as string;
        try {
          const response = await fetch(`${url}/jobs/${encodeURIComponent(id)}`);
          const job = (await response.json()) as {
            status?: string;
            acceptedAt?: number;
            completedAt?: number;
            deadLetteredAt?: number;
          };
          if (job.status === 'completed' || job.status === 'dead-lettered') {
            outstanding.delete(id);
            if (job.status === 'completed') stats.completed++;
            else stats.deadLettered++;
            const end = job.completedAt ?? job.deadLetteredAt;
            if (end !== undefined && job.acceptedAt !== undefined) latencies.push(end - job.acceptedAt);
          }
        } catch {
          // The next round asks again.
        }
      }
    };
    await Promise.all(Array.from({ length: CONCURRENT_READS }, reader));
    await sleep(100);
  }
}

function parseObject(text: string): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(text);
    return value !== null && typeof value === 'object' ? (value as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

function summarise(stats: LoadStats, latencies: number[], outstanding: Set<string>, started: number): void {
  stats.pending = outstanding.size;
  stats.elapsedMs = Date.now() - started;
  if (latencies.length > 0) {
    const sorted = [...latencies].sort((a, b) => a - b);
    stats.latencyP50Ms = sorted[Math.floor(sorted.length * 0.5)];
    stats.latencyP99Ms = sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.99))];
  }
}

/**
 * What a caller that does not follow jobs counts as completed another way (the stage's deletes, the index), with what
 * it counts in `what` when that is not plain jobs (e.g. `documents fully indexed`).
 */
export interface CompletedSoFar {
  readonly completed: number;
  readonly what?: string;
}

/**
 * One progress line: what a terminal shows while the load runs. A load that follows its jobs shows their completions
 * and latencies; one that does not shows `completedSoFar` when the caller counts completions another way, and says
 * `not followed` otherwise, rather than a 0 that reads as nothing done.
 */
export function progressLine(stats: LoadStats, completedSoFar?: CompletedSoFar): string {
  const ms = (value: number | undefined) => (value === undefined ? '–' : `${Math.round(value)} ms`);
  const requests = [
    `${(stats.elapsedMs / 1000).toFixed(1)} s`,
    `offered ${stats.offered}`,
    `accepted ${stats.accepted}`,
    `throttled ${stats.throttled}`,
    `shed ${stats.shed}`,
    `4xx ${stats.clientErrors}`,
    `5xx ${stats.serverErrors}`,
    `network errors ${stats.networkErrors}`,
    `dropped (not sent, generator behind) ${stats.dropped}`,
  ];
  const outcomes = stats.followed
    ? [
        `completed ${stats.completed}`,
        `dead-lettered ${stats.deadLettered}`,
        `in flight ${stats.pending}`,
        `p50 ${ms(stats.latencyP50Ms)}`,
        `p99 ${ms(stats.latencyP99Ms)}`,
      ]
    : completedSoFar
      ? [`completed${completedSoFar.what ? ` (${completedSoFar.what})` : ''} ${completedSoFar.completed}`]
      : ['completed – (not followed)'];
  return [...requests, ...outcomes].join(' · ');
}
