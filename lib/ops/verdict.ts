/**
 * Is a stage recovering or falling behind? A verdict from the trend of its backlog, the same rules for the local
 * runtime (one-second samples) and for AWS (one-minute CloudWatch datapoints).
 *
 * - backlog B = waiting + in flight (latest, averaged over the last 3 points to smooth batch-sized steps);
 * - pace p = the most deletes per second of any point in the window (what the consumer has shown it can do; the mean
 *   would fall to the arrival rate once the backlog is nearly gone); wait = B ÷ max(p, 1/s);
 * - slope s = least-squares slope of the backlog over the window (messages per second); tolerance = max(1/s, 5 % of
 *   the larger of in and out), so noise of a steady stage is not a trend.
 *
 * `healthy` when wait ≤ half the age SLO and the oldest age ≤ the SLO (whatever waits is a small part of the age
 * budget); otherwise `recovering` when s < −tolerance (the backlog shrinks); otherwise `falling_behind` (it grows, or
 * stands still over half the SLO). Estimated time to drain: healthy → wait; recovering → B ÷ −s; falling behind →
 * B ÷ (o − in) when out is still ahead of in, else none (it does not drain at this pace).
 */

/** The three answers. */
export const VERDICTS = ['healthy', 'recovering', 'falling_behind'] as const;
/** One of {@link VERDICTS}. */
export type Verdict = (typeof VERDICTS)[number];

/** One point of a stage's trend. */
export interface TrendPoint {
  /** Epoch milliseconds. */
  readonly at: number;
  /** Waiting plus in flight. */
  readonly backlog: number;
  /** Messages arriving per second. */
  readonly inPerSecond: number;
  /** Messages finished (deleted) per second. */
  readonly outPerSecond: number;
}

/** What {@link judge} concludes. */
export interface Judgement {
  readonly verdict: Verdict;
  /** Seconds until the backlog is gone at the current trend; null when it does not drain at this pace. */
  readonly estimatedDrainSeconds: number | null;
  /** Backlog change, messages per second (positive: growing). */
  readonly backlogSlopePerSecond: number;
}

/** The judgement of a stage from its last points (oldest first) and the oldest message's age. */
export function judge(points: readonly TrendPoint[], oldestAgeSeconds: number, ageSloSeconds: number): Judgement {
  if (points.length === 0) return { verdict: 'healthy', estimatedDrainSeconds: 0, backlogSlopePerSecond: 0 };
  const recent = points.slice(-3);
  const backlog = recent.reduce((sum, point) => sum + point.backlog, 0) / recent.length;
  const out = mean(points.map((point) => point.outPerSecond));
  const arriving = mean(points.map((point) => point.inPerSecond));
  const slope = slopePerSecond(points);
  const tolerance = Math.max(1, 0.05 * Math.max(out, arriving));
  const pace = Math.max(...points.map((point) => point.outPerSecond));
  const wait = backlog / Math.max(pace, 1);
  const round = (seconds: number) => Math.round(seconds * 10) / 10;
  if (wait <= ageSloSeconds / 2 && oldestAgeSeconds <= ageSloSeconds) {
    return { verdict: 'healthy', estimatedDrainSeconds: round(wait), backlogSlopePerSecond: round(slope) };
  }
  if (slope < -tolerance) {
    return {
      verdict: 'recovering',
      estimatedDrainSeconds: round(backlog / -slope),
      backlogSlopePerSecond: round(slope),
    };
  }
  return {
    verdict: 'falling_behind',
    estimatedDrainSeconds: out - arriving > tolerance ? round(backlog / (out - arriving)) : null,
    backlogSlopePerSecond: round(slope),
  };
}

/** The pipeline's verdict: its worst stage's; it drains when its slowest stage has. */
export function judgePipeline(stages: readonly Judgement[]): Omit<Judgement, 'backlogSlopePerSecond'> {
  const worst = stages.reduce<Verdict>(
    (verdict, stage) => (VERDICTS.indexOf(stage.verdict) > VERDICTS.indexOf(verdict) ? stage.verdict : verdict),
    'healthy',
  );
  const drains = stages.map((stage) => stage.estimatedDrainSeconds);
  return {
    verdict: worst,
    estimatedDrainSeconds: drains.some((seconds) => seconds === null) ? null : Math.max(0, ...(drains as number[])),
  };
}

function mean(values: readonly number[]): number {
  return values.length === 0 ? 0 : values.reduce((sum, value) => sum + value, 0) / values.length;
}

/** Least-squares slope of backlog over time, per second. */
function slopePerSecond(points: readonly TrendPoint[]): number {
  if (points.length < 2) return 0;
  const first = points[0] as TrendPoint;
  const xs = points.map((point) => (point.at - first.at) / 1000);
  const ys = points.map((point) => point.backlog);
  const meanX = mean(xs);
  const meanY = mean(ys);
  let numerator = 0;
  let denominator = 0;
  for (let index = 0; index < xs.length; index++) {
    const dx = (xs[index] as number) - meanX;
    numerator += dx * ((ys[index] as number) - meanY);
    denominator += dx * dx;
  }
  return denominator === 0 ? 0 : numerator / denominator;
}
