import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { main } from '../../lib/cli/main.ts';
import { parseStages } from '../../lib/cli/simulate.ts';
import { examplePipeline } from '../../lib/example/pipeline.ts';

function captureOutput() {
  const log = vi.spyOn(console, 'log').mockImplementation(() => undefined);
  const error = vi.spyOn(console, 'error').mockImplementation(() => undefined);
  const text = (spy: typeof log) => spy.mock.calls.map((call) => call.map(String).join(' ')).join('\n');
  return { stdout: () => text(log), stderr: () => text(error) };
}

describe('sluice simulate', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('prints the summary, the cost and the recommendations as JSON', async () => {
    // GIVEN the example pipeline, WHEN simulated at 100,000 requests/s for 20 s with --json
    const output = captureOutput();
    expect(await main(['simulate', '--rate', '100000', '--duration', '20', '--json'])).toBe(0);
    // THEN stdout is one JSON document with the three parts
    const report = JSON.parse(output.stdout()) as {
      summary: { offered: number; lost: number; stages: { name: string }[] };
      cost: { usdPerMillionJobs: number; pricesAsOf: string };
      recommendations: unknown[];
    };
    expect(report.summary.offered).toBe(2_000_000);
    expect(report.summary.lost).toBe(0);
    const accept = examplePipeline.ingress?.stage;
    expect(report.summary.stages.map((stage) => stage.name)).toEqual(
      examplePipeline.stages.flatMap((stage) =>
        stage.name === accept ? [stage.name, `${stage.name}:low`] : [stage.name],
      ),
    );
    expect(report.cost.usdPerMillionJobs).toBeGreaterThan(0);
    expect(report.cost.pricesAsOf).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    expect(report.recommendations.length).toBeGreaterThan(0);
  });

  it('writes charts and series with --out, for a CSV profile and per-stage behaviour', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-sim-cli-'));
    const csv = join(dir, 'rates.csv');
    writeFileSync(csv, 'seconds,rate\n0,50\n10,400\n20,50\n');
    const output = captureOutput();
    const code = await main([
      'simulate',
      '--profile',
      `csv:${csv}`,
      '--duration',
      '30',
      '--stages',
      'embed:failure=0.05,outage=5+5,distribution=lognormal,cv=1;*:fanOut=1',
      '--out',
      join(dir, 'out'),
    ]);
    expect(code).toBe(0);
    expect(output.stdout()).toMatch(/cost \(us-east-1, list prices of/);
    for (const file of [
      'series.json',
      'report.json',
      'ingress.svg',
      ...examplePipeline.stages.map((stage) => `stage-${stage.name}.svg`),
    ]) {
      expect(existsSync(join(dir, 'out', file))).toBe(true);
    }
  });

  it('simulates the demo pipeline and profile with --pipeline demo --profile demo', async () => {
    const output = captureOutput();
    expect(
      await main(['simulate', '--pipeline', 'demo', '--profile', 'demo:overload=20', '--duration', '40', '--json']),
    ).toBe(0);
    const report = JSON.parse(output.stdout()) as {
      summary: { pipeline: string; rejected: { overHardLimit: number } };
    };
    expect(report.summary.pipeline).toBe('demo');
    expect(report.summary.rejected.overHardLimit).toBeGreaterThan(0);
  });

  it('fails with exit code 2 naming the flag when a value is out of range or unknown', async () => {
    const output = captureOutput();
    expect(await main(['simulate', '--duration', '10'])).toBe(2);
    expect(output.stderr()).toMatch(/--rate is required with --profile constant/);
    expect(await main(['simulate', '--rate', 'lots'])).toBe(2);
    expect(output.stderr()).toMatch(/--rate must be a number between 0 and 10000000, but 'lots' was provided/);
    expect(await main(['simulate', '--rate', '5', '--stages', 'embed:speed=3'])).toBe(2);
    expect(output.stderr()).toMatch(/--stages embed: unknown key 'speed'/);
  });

  it('parses --stages into behaviours, * for every stage', () => {
    expect(parseStages('embed:recordMs=120,outage=60+30;*:failure=0.01')).toEqual({
      defaultStage: { transientFailureRate: 0.01 },
      stages: { embed: { recordMs: 120, outages: [{ startSeconds: 60, lengthSeconds: 30 }] } },
    });
  });
});
