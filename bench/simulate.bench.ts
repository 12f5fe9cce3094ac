/**
 * The simulator's speed and the accuracy its tick length costs.
 *
 * 1. The acceptance run: the example pipeline at 100,000 requests/s for 600 s (constant), as `sluice simulate --rate
 *    100000 --duration 600 --json` runs it, against a peer measured in the same process: the same run at 10
 *    requests/s. Jobs are counted per tick, so the ratio should stay near 1.
 * 2. Tick length: the demo scenario (one stage, 2.5× overload for 60 s) at 1, 10, 50 and 100 ms ticks; the figures at
 *    1 ms are the reference.
 *
 * npm run bench -- simulate
 */
import { DEMO } from '../lib/cli/simulate.ts';
import { examplePipeline } from '../lib/example/pipeline.ts';
import { demoPipeline } from '../lib/local/demo.ts';
import { demoProfile, reportOf, simulate } from '../lib/sim/index.ts';

function timed<T>(run: () => T): { value: T; ms: number } {
  const started = performance.now();
  const value = run();
  return { value, ms: performance.now() - started };
}

const heavy = timed(() => {
  const result = simulate(examplePipeline, {
    profile: { kind: 'constant', ratePerSecond: 100_000 },
    durationSeconds: 600,
  });
  return { result, report: reportOf(examplePipeline, result) };
});
// The peer: the same 600 simulated seconds (no drain phase, so both simulate exactly as long) at 100,000/s and at 10/s.
const arrivalsOnly = (ratePerSecond: number) =>
  timed(() =>
    simulate(examplePipeline, {
      profile: { kind: 'constant', ratePerSecond },
      durationSeconds: 600,
      maxDrainSeconds: 0,
    }),
  );
const heavyArrivals = arrivalsOnly(100_000);
const light = arrivalsOnly(10);
console.log('## 100,000 requests/s for 600 s on the example pipeline (10 ms ticks)\n');
console.log(
  `acceptance run (arrivals, then the drain up to 3,600 s): ${heavy.value.result.simulatedSeconds} s simulated in ${(heavy.ms / 1000).toFixed(2)} s; goal < 60 s: ${heavy.ms < 60_000 ? 'met' : 'MISSED'}`,
);
console.log(
  `600 s of arrivals only: 100,000/s in ${(heavyArrivals.ms / 1000).toFixed(2)} s, peer 10/s in ${(light.ms / 1000).toFixed(2)} s: ratio ${(heavyArrivals.ms / light.ms).toFixed(2)} ×`,
);
console.log(
  `offered ${heavy.value.report.summary.offered}, rejected ${heavy.value.report.summary.rejected.percent} %, $${heavy.value.report.cost.usdPerMillionJobs?.toFixed(2)} per million jobs`,
);

console.log('\n## tick length vs accuracy (demo pipeline, 40 records/s capacity, 100/s for 60 s then 20/s)\n');
const pipeline = demoPipeline(DEMO.ageSloSeconds, DEMO.depthLimit);
const rows: {
  tickMs: number;
  maxDepth: number;
  maxAge: number;
  rejected: number;
  noBpDepth: number;
  noBpAge: number;
  ms: number;
}[] = [];
for (const tickMs of [1, 10, 50, 100]) {
  const run = (backpressure: boolean) =>
    simulate(pipeline, {
      profile: demoProfile(40, 60),
      durationSeconds: 120,
      tickSeconds: tickMs / 1000,
      backpressure,
      throttle: DEMO.throttle,
      depthCacheTtlSeconds: Math.max(DEMO.depthCacheTtlSeconds, tickMs / 1000),
    });
  const { value, ms } = timed(() => [run(true), run(false)] as const);
  const [on, off] = value;
  rows.push({
    tickMs,
    maxDepth: on.stages[0]?.maxDepth ?? 0,
    maxAge: on.stages[0]?.maxAgeSeconds ?? 0,
    rejected: on.ingress.offered - on.ingress.accepted,
    noBpDepth: off.stages[0]?.maxDepth ?? 0,
    noBpAge: off.stages[0]?.maxAgeSeconds ?? 0,
    ms,
  });
}
const reference = rows[0];
const pct = (value: number, base: number) => `${(((value - base) / Math.max(1, base)) * 100).toFixed(1)} %`;
console.log('tick   max depth   max age (s)   rejected   no-bp depth   no-bp age (s)   wall ms');
for (const row of rows) {
  if (!reference) break;
  console.log(
    [
      `${row.tickMs} ms`.padEnd(6),
      `${row.maxDepth} (${pct(row.maxDepth, reference.maxDepth)})`.padEnd(11),
      `${row.maxAge} (${pct(row.maxAge, reference.maxAge)})`.padEnd(13),
      `${row.rejected} (${pct(row.rejected, reference.rejected)})`.padEnd(10),
      `${row.noBpDepth} (${pct(row.noBpDepth, reference.noBpDepth)})`.padEnd(13),
      `${row.noBpAge} (${pct(row.noBpAge, reference.noBpAge)})`.padEnd(15),
      row.ms.toFixed(0),
    ].join(' '),
  );
}
