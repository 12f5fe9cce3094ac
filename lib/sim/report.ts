import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Pipeline } from '../definition/index.ts';
import { type CostEstimate, estimateCost } from './cost.ts';
import { PRICES } from './prices.ts';
import { type Recommendation, recommend } from './recommend.ts';
import type { SimulationResult } from './simulate.ts';
import { ingressChart, stageChart } from './svg-chart.ts';

/** The summary, cost and advice of a run: what `sluice simulate` prints. */

/** Per-stage lines of the summary. */
export interface StageSummary {
  readonly name: string;
  readonly maxDepth: number;
  readonly depthLimit: number;
  readonly maxAgeSeconds: number;
  readonly ageSloSeconds: number;
  readonly sloBreachSeconds: number;
  readonly peakConcurrency: number;
  readonly completed: number;
  readonly retried: number;
  readonly deferred: number;
  readonly deadLettered: number;
  readonly timedOut: number;
}

/** The figures of a run. */
export interface SimulationSummary {
  readonly pipeline: string;
  readonly simulatedSeconds: number;
  readonly wallSeconds: number;
  readonly offered: number;
  readonly accepted: number;
  readonly rejected: {
    readonly throttled: number;
    readonly quotaExceeded: number;
    readonly shed: number;
    readonly overHardLimit: number;
    readonly overflowFull: number;
    /** 503 because a stage after the ingress stage was at its limit (whole-pipeline admission). */
    readonly downstreamOverLimit: number;
    readonly total: number;
    /** Share of the offered requests not accepted, in percent. */
    readonly percent: number;
  };
  readonly buffered: number;
  readonly completed: number;
  readonly deadLettered: number;
  readonly queuedAtEnd: number;
  readonly lost: number;
  /** Seconds from the end of arrivals until every queue was empty; null when it did not happen in the run. */
  readonly drainSeconds: number | null;
  readonly stages: readonly StageSummary[];
  /** Stages whose oldest message outlived the age SLO. */
  readonly sloBreaches: readonly { readonly stage: string; readonly seconds: number; readonly maxAgeSeconds: number }[];
}

/** Everything `sluice simulate --json` prints. */
export interface SimulationReport {
  readonly summary: SimulationSummary;
  readonly cost: CostEstimate;
  readonly recommendations: readonly Recommendation[];
}

/** The summary of a run. */
export function summarize(result: SimulationResult): SimulationSummary {
  const { ingress, ledger } = result;
  const total =
    ingress.throttled +
    ingress.quotaExceeded +
    ingress.shed +
    ingress.overHardLimit +
    ingress.overflowFull +
    ingress.downstreamOverLimit;
  return {
    pipeline: result.pipeline,
    simulatedSeconds: result.simulatedSeconds,
    wallSeconds: result.wallMs / 1000,
    offered: ingress.offered,
    accepted: ingress.accepted,
    rejected: {
      throttled: ingress.throttled,
      quotaExceeded: ingress.quotaExceeded,
      shed: ingress.shed,
      overHardLimit: ingress.overHardLimit,
      overflowFull: ingress.overflowFull,
      downstreamOverLimit: ingress.downstreamOverLimit,
      total,
      percent: ingress.offered > 0 ? Math.round((total / ingress.offered) * 10_000) / 100 : 0,
    },
    buffered: ingress.buffered,
    completed: ledger.completed,
    deadLettered: ledger.deadLettered,
    queuedAtEnd: ledger.queued,
    lost: ledger.lost,
    drainSeconds: result.drainSeconds,
    stages: result.stages.map((stage) => ({
      name: stage.name,
      maxDepth: stage.maxDepth,
      depthLimit: stage.depthLimit,
      maxAgeSeconds: stage.maxAgeSeconds,
      ageSloSeconds: stage.ageSloSeconds,
      sloBreachSeconds: stage.sloBreachSeconds,
      peakConcurrency: stage.counters.peakConcurrency,
      completed: stage.counters.completed,
      retried: stage.counters.retried,
      deferred: Object.values(stage.counters.deferred).reduce((sum, value) => sum + value, 0),
      deadLettered: stage.counters.deadLettered,
      timedOut: stage.counters.timedOut,
    })),
    sloBreaches: result.stages
      .filter((stage) => stage.sloBreachSeconds > 0)
      .map((stage) => ({ stage: stage.name, seconds: stage.sloBreachSeconds, maxAgeSeconds: stage.maxAgeSeconds })),
  };
}

/** Summary, cost and recommendations of a run. */
export function reportOf(pipeline: Pipeline, result: SimulationResult): SimulationReport {
  return {
    summary: summarize(result),
    cost: estimateCost(pipeline, result),
    recommendations: recommend(pipeline, result),
  };
}

/** Writes `series.json`, `report.json`, `ingress.svg` and one `stage-<name>.svg` per stage into `dir`; returns the paths. */
export function writeOutputs(dir: string, result: SimulationResult, report: SimulationReport): string[] {
  mkdirSync(dir, { recursive: true });
  const written: string[] = [];
  const write = (name: string, text: string) => {
    const path = join(dir, name);
    writeFileSync(path, text);
    written.push(path);
  };
  write(
    'series.json',
    JSON.stringify({ pipeline: result.pipeline, sampleSeconds: result.scenario.sampleSeconds, ...result.series }),
  );
  write('report.json', JSON.stringify(report, null, 2));
  write('ingress.svg', ingressChart(result));
  for (const series of result.series.stages) {
    write(`stage-${series.name.replace(/[^a-z0-9-]/g, '-')}.svg`, stageChart(series, result.series.t));
  }
  return written;
}

/** The report as text for a terminal. */
export function formatReport(report: SimulationReport): string {
  const { summary, cost } = report;
  const lines = [
    `${summary.pipeline}: ${summary.simulatedSeconds} s simulated in ${summary.wallSeconds} s`,
    `offered ${summary.offered} · accepted ${summary.accepted} (${summary.buffered} via overflow) · rejected ${summary.rejected.total} (${summary.rejected.percent} %: 429 throttled ${summary.rejected.throttled}, quota ${summary.rejected.quotaExceeded}, 503 shed ${summary.rejected.shed}, over limit ${summary.rejected.overHardLimit}, overflow full ${summary.rejected.overflowFull}, downstream full ${summary.rejected.downstreamOverLimit})`,
    `completed ${summary.completed} · dead-lettered ${summary.deadLettered} · queued at end ${summary.queuedAtEnd} · lost ${summary.lost} · drain ${summary.drainSeconds === null ? 'not within the run' : `${summary.drainSeconds} s`}`,
    '',
    `${'stage'.padEnd(14)} ${'max depth / limit'.padStart(20)} ${'max age / SLO (s)'.padStart(20)} ${'peak conc.'.padStart(10)} ${'retried'.padStart(9)} ${'deferred'.padStart(9)} ${'DLQ'.padStart(7)}`,
    ...summary.stages.map(
      (stage) =>
        `${stage.name.padEnd(14)} ${`${stage.maxDepth} / ${stage.depthLimit}`.padStart(20)} ${`${stage.maxAgeSeconds} / ${stage.ageSloSeconds}${stage.sloBreachSeconds > 0 ? ' !' : ''}`.padStart(20)} ${String(stage.peakConcurrency).padStart(10)} ${String(stage.retried).padStart(9)} ${String(stage.deferred).padStart(9)} ${String(stage.deadLettered).padStart(7)}`,
    ),
    '',
    `cost (${cost.region}, list prices of ${cost.pricesAsOf}): $${cost.totalUsd.toFixed(2)} for ${cost.acceptedJobs} jobs = ${cost.usdPerMillionJobs === null ? '–' : `$${cost.usdPerMillionJobs.toFixed(2)}`} per million jobs`,
    ...cost.lines.map(
      (line) =>
        `  ${line.service.padEnd(12)} ${line.item.padEnd(42)} ${String(line.quantity).padStart(14)}  $${line.usd.toFixed(4)}`,
    ),
    `  prices: ${[...new Set(Object.values(PRICES).map((price) => price.source))].join(', ')}`,
    '',
    report.recommendations.length === 0 ? 'no recommendations' : 'recommendations:',
    ...report.recommendations.map((item) => `  [${item.kind}] ${item.field}: ${item.message}`),
  ];
  return lines.join('\n');
}
