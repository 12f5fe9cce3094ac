import type { Judgement, Verdict } from './verdict.ts';

/** One stage's state, as `sluice status` reports it (field names are the JSON output's). */
export interface StageSnapshot {
  readonly pipeline: string;
  readonly stage: string;
  /** Messages waiting (visible). */
  readonly queue_depth: number;
  /** Messages received and not yet deleted. */
  readonly in_flight: number;
  readonly oldest_job_age_seconds: number;
  /** Arrivals: sends to the stage's queue per minute (AWS: NumberOfMessagesSent; locally: Δbacklog + deletes). */
  readonly jobs_received_per_minute: number;
  /** Deletes (finished jobs) per minute. */
  readonly jobs_completed_per_minute: number;
  /** Records that failed and will be retried, per minute. */
  readonly retry_rate: number;
  /** Messages in the stage's dead-letter queue. */
  readonly dead_letter_count: number;
  /** Fraction (0–1) of the records run that failed (retried or dead-lettered); null when none ran. */
  readonly downstream_error_rate: number | null;
  readonly verdict: Verdict;
  readonly estimated_drain_seconds: number | null;
  readonly age_slo_seconds: number;
}

/** The whole pipeline. */
export interface PipelineSnapshot {
  readonly pipeline: string;
  /** Epoch milliseconds of the newest data. */
  readonly at: number;
  readonly verdict: Verdict;
  readonly estimated_drain_seconds: number | null;
  readonly stages: readonly StageSnapshot[];
}

/** Builds a stage snapshot from its numbers and its judgement. */
export function stageSnapshot(
  fields: Omit<StageSnapshot, 'verdict' | 'estimated_drain_seconds'>,
  judgement: Judgement,
): StageSnapshot {
  return { ...fields, verdict: judgement.verdict, estimated_drain_seconds: judgement.estimatedDrainSeconds };
}

/** The snapshot as a table for people. */
export function formatSnapshot(snapshot: PipelineSnapshot): string {
  const header = [
    'stage',
    'depth',
    'in flight',
    'oldest s',
    'in/min',
    'out/min',
    'retry/min',
    'DLQ',
    'err %',
    'verdict',
    'drain s',
  ];
  const rows = snapshot.stages.map((stage) => [
    stage.stage,
    String(stage.queue_depth),
    String(stage.in_flight),
    String(stage.oldest_job_age_seconds),
    String(stage.jobs_received_per_minute),
    String(stage.jobs_completed_per_minute),
    String(stage.retry_rate),
    String(stage.dead_letter_count),
    stage.downstream_error_rate === null ? '–' : (stage.downstream_error_rate * 100).toFixed(1),
    stage.verdict,
    stage.estimated_drain_seconds === null ? '∞' : String(stage.estimated_drain_seconds),
  ]);
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => (row[column] as string).length)),
  );
  const line = (cells: string[]) => cells.map((cell, column) => cell.padEnd(widths[column] as number)).join('  ');
  return [
    `pipeline ${snapshot.pipeline}: ${snapshot.verdict}${snapshot.estimated_drain_seconds === null ? ' (does not drain at this pace)' : `, drains in ~${snapshot.estimated_drain_seconds} s`}  (${new Date(snapshot.at).toISOString()})`,
    '',
    line(header),
    ...rows.map(line),
  ].join('\n');
}
