/**
 * The simulator against reality: runs `sluice demo` (both runs, on the embedded engines) and the simulator on the same
 * pipeline and profile, and compares max depth, max oldest age and rejected requests. They should agree within 15 %.
 *
 * npm run bench -- sim-validate                          (the demo's default 60 s overload; 10–20 minutes here)
 * SIM_VALIDATE_OVERLOAD=30 npm run bench -- sim-validate
 * SIM_VALIDATE_MEASURED=/tmp/sim-validate-measured.json npm run bench -- sim-validate   (compare a saved run again)
 *
 * The one input the definition cannot know is how fast a record really goes on this shared machine: the demo's
 * handler waits 50 ms, but receive, invoke, job-status writes and delete add to it, and the other work on the machine
 * slows it down — by a factor that changes minute to minute. So the simulator gets the stage's measured throughput
 * over time as its service time: from the job table's completion timestamps, records completed in each 5-second
 * window while the queue was backlogged (consumers saturated), C(t), and recordMs(t) = maxConcurrency × 1000 / C(t).
 * Depths, ages and rejections are not inputs; they come out of the model (arrivals, throttle, the depth check on a
 * 50 ms cache, the queue, the event source mapping).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type AttributeValue, DynamoDBClient, ListTablesCommand, ScanCommand } from '@aws-sdk/client-dynamodb';
import { DEMO } from '../lib/cli/simulate.ts';
import { type DemoResult, type DemoRun, demoPipeline, runDemo } from '../lib/local/demo.ts';
import { LOCAL_CREDENTIALS, startEngines } from '../lib/local/engines.ts';
import { demoProfile, simulate } from '../lib/sim/index.ts';

const OVERLOAD_SECONDS = Number(process.env.SIM_VALIDATE_OVERLOAD ?? 60);
const TOLERANCE = 0.15;
/** The demo's 0.5× phase ends once the backlog is under 10 % of the limit, or after this long (runDemo's default). */
const MAX_DRAIN_SECONDS = 600;
/** Width of the windows the throughput is measured in. */
const WINDOW_SECONDS = 5;

/** One demo run as measured: its ledger and the completion times of its jobs, relative to its first acceptance. */
interface MeasuredRun {
  readonly run: DemoRun;
  /** Seconds after the first acceptance at which each job completed. */
  readonly completedAt: number[];
}

interface Measured {
  readonly overloadSeconds: number;
  readonly capacityPerSecond: number;
  readonly runs: MeasuredRun[];
}

const measured = process.env.SIM_VALIDATE_MEASURED
  ? (JSON.parse(readFileSync(process.env.SIM_VALIDATE_MEASURED, 'utf8')) as Measured)
  : await measure();

const pipeline = demoPipeline(DEMO.ageSloSeconds, DEMO.depthLimit);
const stage = pipeline.stages[0];
if (!stage) throw new Error('the demo pipeline has no stage');
let failures = 0;
const rows: string[][] = [];
for (const { run, completedAt } of measured.runs) {
  const phaseSeconds = measured.overloadSeconds + (run.recoverySeconds ?? MAX_DRAIN_SECONDS);
  const steps = throughputSteps(completedAt, phaseSeconds).map((step) => ({
    atSeconds: step.atSeconds,
    recordMs: (stage.consumer.maxConcurrency * 1000) / step.perSecond,
  }));
  const meanPerSecond = saturatedMean(completedAt, phaseSeconds);
  const result = simulate(pipeline, {
    profile: demoProfile(measured.capacityPerSecond, measured.overloadSeconds),
    durationSeconds: phaseSeconds,
    backpressure: run.backpressure,
    throttle: DEMO.throttle,
    depthCacheTtlSeconds: DEMO.depthCacheTtlSeconds,
    invocationOverheadMs: 0,
    defaultStage: { recordMs: (stage.consumer.maxConcurrency * 1000) / meanPerSecond, recordMsSteps: steps },
  });
  const simulated = result.stages[0];
  if (!simulated) throw new Error('the simulation has no stage');
  // Not accepted = offered − accepted, on both sides (the demo's ledger). On an overloaded machine part of it is
  // requests the local ingress did not answer in time (network errors) or the generator could not send (dropped); the
  // 429/503 share is listed on its own line.
  const measuredRejected = run.rejected.throttled + run.rejected.shed + run.rejected.failed + run.rejected.dropped;
  const unanswered = run.rejected.failed + run.rejected.dropped;
  const simulatedRejected = result.ingress.offered - result.ingress.accepted;
  const label = run.backpressure ? 'with backpressure' : 'without backpressure';
  for (const [figure, real, predicted] of [
    ['max depth', run.maxDepth, simulated.maxDepth],
    ['max oldest age (s)', run.maxOldestAgeSeconds, simulated.maxAgeSeconds],
    ['not accepted', measuredRejected, simulatedRejected],
  ] as const) {
    const error = real === 0 && predicted === 0 ? 0 : (predicted - real) / Math.max(1, real);
    const ok = Math.abs(error) <= TOLERANCE;
    if (!ok) failures++;
    rows.push([
      label,
      figure,
      String(real),
      String(Math.round(predicted * 10) / 10),
      `${error >= 0 ? '+' : ''}${(error * 100).toFixed(1)} %`,
      ok ? 'ok' : 'OFF',
    ]);
  }
  if (unanswered > 0) {
    rows.push([label, '  of which 429/503', String(measuredRejected - unanswered), '', '', '']);
    rows.push([label, '  of which unanswered', String(unanswered), '', '', '']);
  }
  const rates = steps.map((step) => (stage.consumer.maxConcurrency * 1000) / step.recordMs);
  rows.push([
    label,
    'throughput (records/s)',
    `mean ${meanPerSecond.toFixed(1)}`,
    `${Math.min(...rates).toFixed(1)}–${Math.max(...rates).toFixed(1)}`,
    '',
    '',
  ]);
}
const widths = [22, 24, 12, 12, 9, 4];
const line = (cells: string[]) =>
  cells
    .map((cell, index) => cell.padEnd(widths[index] ?? 10))
    .join(' ')
    .trimEnd();
console.log(
  `sluice demo (overload ${measured.overloadSeconds} s) measured vs sluice simulate, tolerance ±${TOLERANCE * 100} %\n`,
);
console.log(line(['run', 'figure', 'measured', 'simulated', 'error', '']));
for (const row of rows) console.log(line(row));
console.log(failures === 0 ? '\nall figures within 15 %' : `\n${failures} figure(s) outside 15 %`);
process.exit(failures === 0 ? 0 : 1);

/** Runs the demo on fresh engines and reads each run's completion times from its job table. */
async function measure(): Promise<Measured> {
  const engines = await startEngines();
  const dynamo = new DynamoDBClient({
    endpoint: engines.dynamoEndpoint,
    region: engines.region,
    credentials: LOCAL_CREDENTIALS,
  });
  try {
    const before = new Set((await dynamo.send(new ListTablesCommand({}))).TableNames ?? []);
    const demo: DemoResult = await runDemo({
      engines,
      overloadSeconds: OVERLOAD_SECONDS,
      onProgress: (text) => process.stderr.write(`\r${text.slice(0, 150)}\x1b[K`),
    });
    process.stderr.write('\n');
    const tables = ((await dynamo.send(new ListTablesCommand({}))).TableNames ?? []).filter(
      (name) => !before.has(name) && name.endsWith('-jobs'),
    );
    const runs: MeasuredRun[] = [];
    for (const run of [demo.withBackpressure, demo.withoutBackpressure]) {
      const table = tables.find((name) => name.startsWith(run.backpressure ? 'demo-on-' : 'demo-off-'));
      if (!table) throw new Error(`no job table for the run ${run.backpressure ? 'with' : 'without'} backpressure`);
      runs.push({ run, completedAt: await completionTimes(dynamo, table) });
    }
    const result: Measured = { overloadSeconds: OVERLOAD_SECONDS, capacityPerSecond: demo.capacityPerSecond, runs };
    const file = join(tmpdir(), 'sim-validate-measured.json');
    writeFileSync(file, JSON.stringify(result));
    console.error(`measured run saved to ${file} (SIM_VALIDATE_MEASURED=${file} compares it again)`);
    return result;
  } finally {
    dynamo.destroy();
    await engines.stop();
  }
}

/** Seconds after the first acceptance at which each job of the table completed. */
async function completionTimes(client: DynamoDBClient, table: string): Promise<number[]> {
  const accepted: number[] = [];
  const completed: number[] = [];
  let startKey: Record<string, AttributeValue> | undefined;
  do {
    const page = await client.send(
      new ScanCommand({ TableName: table, ...(startKey ? { ExclusiveStartKey: startKey } : {}) }),
    );
    for (const item of page.Items ?? []) {
      const acceptedAt = Number(item.acceptedAt?.N ?? Number.NaN);
      const completedAt = Number(item.completedAt?.N ?? Number.NaN);
      if (Number.isFinite(acceptedAt)) accepted.push(acceptedAt);
      if (Number.isFinite(completedAt)) completed.push(completedAt);
    }
    startKey = page.LastEvaluatedKey;
  } while (startKey);
  const first = Math.min(...accepted);
  return completed.map((at) => (at - first) / 1000).sort((a, b) => a - b);
}

/** The backlogged period: from when the backlog has built up to the end of the demo's two phases. */
function saturatedWindow(phaseSeconds: number): { from: number; to: number } {
  return { from: Math.min(10, measured.overloadSeconds / 3), to: phaseSeconds };
}

/** Records completed per second over the whole backlogged period. */
function saturatedMean(completedAt: readonly number[], phaseSeconds: number): number {
  const { from, to } = saturatedWindow(phaseSeconds);
  return Math.max(0.1, completedAt.filter((at) => at >= from && at < to).length / (to - from));
}

/** Records completed per second in each window of the backlogged period. */
function throughputSteps(
  completedAt: readonly number[],
  phaseSeconds: number,
): { atSeconds: number; perSecond: number }[] {
  const { from, to } = saturatedWindow(phaseSeconds);
  const steps: { atSeconds: number; perSecond: number }[] = [];
  for (let start = from; start < to; start += WINDOW_SECONDS) {
    const end = Math.min(to, start + WINDOW_SECONDS);
    const count = completedAt.filter((at) => at >= start && at < end).length;
    // A window with no completion (the queue ran dry, or a stall) keeps the previous speed.
    const perSecond = count > 0 ? count / (end - start) : (steps.at(-1)?.perSecond ?? saturatedMean(completedAt, to));
    steps.push({ atSeconds: start, perSecond });
  }
  return steps;
}
