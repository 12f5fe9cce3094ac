/**
 * The simulator against reality: runs `sluice demo` (both runs, on the embedded engines) and the simulator on the same
 * pipeline and profile, and compares max depth, max oldest age and rejected requests. They should agree within 15 %.
 *
 * npm run bench -- sim-validate                     (the demo's default 60 s overload; about 8 minutes)
 * SIM_VALIDATE_OVERLOAD=30 npm run bench -- sim-validate
 *
 * The one input the definition cannot know is how long a record really takes on this (shared) machine: the demo's
 * handler waits 50 ms, but receive, invoke, job-status writes and delete add to it, and other work on the machine slows
 * it down. So each run's per-record time is measured in that run, from the job table's completion timestamps while
 * the queue was backlogged (consumers saturated): records completed ÷ seconds, the stage's throughput C; the
 * simulator gets recordMs = maxConcurrency × 1000 / C. Depth, age and rejections are not used for it.
 */
import { type AttributeValue, DynamoDBClient, ListTablesCommand, ScanCommand } from '@aws-sdk/client-dynamodb';
import { DEMO } from '../lib/cli/simulate.ts';
import { type DemoRun, demoPipeline, runDemo } from '../lib/local/demo.ts';
import { LOCAL_CREDENTIALS, startEngines } from '../lib/local/engines.ts';
import { demoProfile, simulate } from '../lib/sim/index.ts';

const OVERLOAD_SECONDS = Number(process.env.SIM_VALIDATE_OVERLOAD ?? 60);
const TOLERANCE = 0.15;
/** The demo's 0.5× phase ends once the backlog is under 10 % of the limit, or after this long (runDemo's default). */
const MAX_DRAIN_SECONDS = 600;

const engines = await startEngines();
const dynamo = new DynamoDBClient({
  endpoint: engines.dynamoEndpoint,
  region: engines.region,
  credentials: LOCAL_CREDENTIALS,
});
let failures = 0;
try {
  const before = new Set((await dynamo.send(new ListTablesCommand({}))).TableNames ?? []);
  const demo = await runDemo({
    engines,
    overloadSeconds: OVERLOAD_SECONDS,
    onProgress: (line) => process.stderr.write(`\r${line.slice(0, 150)}\x1b[K`),
  });
  process.stderr.write('\n');
  const tables = ((await dynamo.send(new ListTablesCommand({}))).TableNames ?? []).filter(
    (name) => !before.has(name) && name.endsWith('-jobs'),
  );
  const pipeline = demoPipeline(DEMO.ageSloSeconds, DEMO.depthLimit);
  const stage = pipeline.stages[0];
  if (!stage) throw new Error('the demo pipeline has no stage');
  const rows: string[][] = [];
  for (const run of [demo.withBackpressure, demo.withoutBackpressure]) {
    const table = tables.find((name) => name.startsWith(run.backpressure ? 'demo-on-' : 'demo-off-'));
    if (!table) throw new Error(`no job table for the run ${run.backpressure ? 'with' : 'without'} backpressure`);
    const throughput = await saturatedThroughput(dynamo, table, run, OVERLOAD_SECONDS);
    const recordMs = (stage.consumer.maxConcurrency * 1000) / throughput;
    const result = simulate(pipeline, {
      profile: demoProfile(demo.capacityPerSecond, OVERLOAD_SECONDS),
      durationSeconds: OVERLOAD_SECONDS + (run.recoverySeconds ?? MAX_DRAIN_SECONDS),
      backpressure: run.backpressure,
      throttle: DEMO.throttle,
      depthCacheTtlSeconds: DEMO.depthCacheTtlSeconds,
      invocationOverheadMs: 0,
      defaultStage: { recordMs },
    });
    const simulated = result.stages[0];
    if (!simulated) throw new Error('the simulation has no stage');
    const measuredRejected = run.rejected.throttled + run.rejected.shed + run.rejected.failed + run.rejected.dropped;
    const simulatedRejected = result.ingress.offered - result.ingress.accepted;
    const label = run.backpressure ? 'with backpressure' : 'without backpressure';
    for (const [figure, measured, predicted] of [
      ['max depth', run.maxDepth, simulated.maxDepth],
      ['max oldest age (s)', run.maxOldestAgeSeconds, simulated.maxAgeSeconds],
      ['rejected', measuredRejected, simulatedRejected],
    ] as const) {
      const error = measured === 0 && predicted === 0 ? 0 : (predicted - measured) / Math.max(1, measured);
      const ok = Math.abs(error) <= TOLERANCE;
      if (!ok) failures++;
      rows.push([
        label,
        figure,
        String(measured),
        String(predicted),
        `${error >= 0 ? '+' : ''}${(error * 100).toFixed(1)} %`,
        ok ? 'ok' : 'OFF',
      ]);
    }
    rows.push([label, 'throughput C (records/s)', throughput.toFixed(1), `recordMs ${recordMs.toFixed(1)}`, '', '']);
  }
  const widths = [22, 26, 10, 16, 9, 4];
  const line = (cells: string[]) => cells.map((cell, index) => cell.padEnd(widths[index] ?? 10)).join(' ');
  console.log(
    `sluice demo (overload ${OVERLOAD_SECONDS} s) measured vs sluice simulate, tolerance ±${TOLERANCE * 100} %\n`,
  );
  console.log(line(['run', 'figure', 'measured', 'simulated', 'error', '']));
  for (const row of rows) console.log(line(row));
  console.log(failures === 0 ? '\nall figures within 15 %' : `\n${failures} figure(s) outside 15 %`);
} finally {
  dynamo.destroy();
  await engines.stop();
}
process.exit(failures === 0 ? 0 : 1);

/**
 * Records completed per second while the stage was backlogged: from 10 s after the first acceptance (the backlog has
 * built up) to the end of the overload plus the recovery (the backlog is back under 10 % of the limit).
 */
async function saturatedThroughput(
  client: DynamoDBClient,
  table: string,
  run: DemoRun,
  overloadSeconds: number,
): Promise<number> {
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
  const from = first + Math.min(10, overloadSeconds / 3) * 1000;
  const to = first + (overloadSeconds + (run.recoverySeconds ?? MAX_DRAIN_SECONDS)) * 1000;
  const inWindow = completed.filter((at) => at >= from && at < to).length;
  return inWindow / ((to - from) / 1000);
}
