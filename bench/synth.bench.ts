/**
 * `cdk synth` wall time: the example app, and generated pipelines of 10, 25 and 50 stages built by sluice next to the
 * same resources written with plain aws-cdk-lib (the peer), through the real CDK CLI, each run 3 times.
 *
 * npm run bench -- synth
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const RUNS = Number(process.env.SYNTH_RUNS ?? 3);
const cdk = join('node_modules', '.bin', 'cdk');

function synthSeconds(stages: number, variant: string): number {
  const times: number[] = [];
  for (let run = 0; run < RUNS; run++) {
    const output = mkdtempSync(join(tmpdir(), 'sluice-synth-'));
    const started = performance.now();
    const result = spawnSync(
      cdk,
      ['synth', '--quiet', '--no-notices', '--app', `node bench/fixtures/synth-app.ts`, '--output', output],
      {
        env: { ...process.env, SYNTH_STAGES: String(stages), SYNTH_VARIANT: variant, CDK_DISABLE_VERSION_CHECK: '1' },
        encoding: 'utf8',
      },
    );
    times.push((performance.now() - started) / 1000);
    rmSync(output, { recursive: true, force: true });
    if (result.status !== 0) {
      throw new Error(`cdk synth (${stages} stages, ${variant}) failed:\n${result.stderr}`);
    }
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)] as number;
}

const rows: string[] = ['| app | sluice (s) | plain aws-cdk-lib (s) | ratio |', '| --- | ---: | ---: | ---: |'];
rows.push(`| example (2 stages + tables, cdk-nag off) | ${synthSeconds(0, 'sluice').toFixed(2)} | – | – |`);
for (const stages of [10, 25, 50]) {
  const sluice = synthSeconds(stages, 'sluice');
  const bare = synthSeconds(stages, 'bare');
  rows.push(`| ${stages} stages | ${sluice.toFixed(2)} | ${bare.toFixed(2)} | ${(sluice / bare).toFixed(2)}× |`);
  console.error(`${stages} stages: sluice ${sluice.toFixed(2)} s, bare ${bare.toFixed(2)} s`);
}
console.log(`median of ${RUNS} runs, wall time of the CDK CLI including esbuild bundling\n`);
console.log(rows.join('\n'));
