import { resolve } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { main } from '../../lib/cli/main.ts';
import { runLoad } from '../../lib/local/load-generator.ts';
import { startLocalPipeline } from '../../lib/local/local-pipeline.ts';
import type { PipelineSnapshot } from '../../lib/ops/snapshot.ts';
import type { Verdict } from '../../lib/ops/verdict.ts';
import { engineEndpoints, uniqueName } from '../helpers/engines.ts';
import { pipeline } from './fixtures/status-pipeline.ts';

const FIXTURE = resolve(import.meta.dirname, 'fixtures/status-pipeline.ts');

/** `sluice status --json` through the CLI, as a user runs it; its stdout parsed. */
async function statusJson(url: string): Promise<PipelineSnapshot> {
  const lines: string[] = [];
  const log = vi.spyOn(console, 'log').mockImplementation((line: string) => {
    lines.push(line);
  });
  try {
    const code = await main(['status', '--url', url, '--json', '--pipeline', FIXTURE]);
    expect(code).toBe(0);
  } finally {
    log.mockRestore();
  }
  return JSON.parse(lines.join('\n')) as PipelineSnapshot;
}

describe('sluice status against a local pipeline', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('reports every field per stage, and the verdict goes falling_behind → recovering → healthy across an overload and its recovery', async () => {
    // GIVEN the demo's 40 jobs/s stage (5 s age SLO), running locally with its dashboard sampler
    const { sqsEndpoint, dynamoEndpoint, region } = engineEndpoints();
    const local = await startLocalPipeline(pipeline, {
      engines: { sqsEndpoint, dynamoEndpoint, region, kind: 'embedded', stop: async () => {} },
      prefix: uniqueName('status'),
      backpressure: false,
      rateLimitPerSecond: 10_000,
      burstLimit: 10_000,
      dashboard: true,
    });
    const url = local.dashboard?.url as string;
    const verdicts: Verdict[] = [];
    const snapshots: PipelineSnapshot[] = [];
    let watching = true;
    const watcher = (async () => {
      while (watching) {
        const snapshot = await statusJson(url);
        snapshots.push(snapshot);
        const stage = snapshot.stages.find((candidate) => candidate.stage === 'work');
        if (stage) verdicts.push(stage.verdict);
        await new Promise((resolveTimer) => setTimeout(resolveTimer, 500));
      }
    })();
    const sequence = () => verdicts.filter((verdict, index) => index === 0 || verdicts[index - 1] !== verdict);
    const recovered = () => {
      const seen = sequence();
      const fell = seen.indexOf('falling_behind');
      return (
        fell >= 0 &&
        seen.indexOf('recovering', fell) > fell &&
        seen.indexOf('healthy', fell) > seen.indexOf('recovering', fell)
      );
    };
    try {
      // WHEN producers run at 2.5× capacity for 6 s, then at 0.2× until the backlog is gone
      await runLoad({
        url: local.ingress.url,
        phases: [
          { ratePerSecond: 100, durationMs: 6_000 },
          { ratePerSecond: 8, durationMs: 120_000 },
        ],
        body: (n) => ({ n }),
        follow: false,
        maxInFlight: 1_024,
        stopWhen: async () => recovered(),
      });
      const deadline = Date.now() + 30_000;
      while (!recovered() && Date.now() < deadline) await new Promise((resolveTimer) => setTimeout(resolveTimer, 500));
    } finally {
      watching = false;
      await watcher;
      await local.stop();
    }
    // THEN every field is there for the stage
    const busiest = (snapshot: PipelineSnapshot) => snapshot.stages[0]?.queue_depth ?? 0;
    const busy = snapshots.reduce((most, snapshot) => (busiest(snapshot) > busiest(most) ? snapshot : most));
    expect(busy.verdict).toBe('falling_behind');
    expect(busy.pipeline).toBe('demo');
    expect(Object.keys(busy.stages[0] ?? {}).sort()).toEqual(
      [
        'pipeline',
        'stage',
        'queue_depth',
        'in_flight',
        'oldest_job_age_seconds',
        'jobs_received_per_minute',
        'jobs_completed_per_minute',
        'retry_rate',
        'dead_letter_count',
        'downstream_error_rate',
        'verdict',
        'estimated_drain_seconds',
        'age_slo_seconds',
      ].sort(),
    );
    expect(busy.stages[0]?.jobs_received_per_minute).toBeGreaterThan(busy.stages[0]?.jobs_completed_per_minute ?? 0);
    // and, from the first time it fell behind, the stage's verdicts run falling_behind → recovering → healthy: it may
    // fall behind again while draining (a CPU-starved consumer does stall), but healthy comes only at the end, after
    // recovering
    const seen = sequence();
    const phases = seen.slice(seen.indexOf('falling_behind'));
    expect(phases[0], JSON.stringify(verdicts)).toBe('falling_behind');
    expect(phases.slice(-2), JSON.stringify(verdicts)).toEqual(['recovering', 'healthy']);
    expect(
      phases.filter((verdict) => verdict === 'healthy'),
      JSON.stringify(verdicts),
    ).toHaveLength(1);
    const recovering = snapshots.find((snapshot) => snapshot.verdict === 'recovering');
    expect(recovering?.estimated_drain_seconds).toBeGreaterThan(0);
  }, 180_000);
});

describe('sluice status --watch', () => {
  it('prints one JSON snapshot per interval, one line each, until SIGINT, then exits 0', async () => {
    // GIVEN a local pipeline with its dashboard
    const { sqsEndpoint, dynamoEndpoint, region } = engineEndpoints();
    const local = await startLocalPipeline(pipeline, {
      engines: { sqsEndpoint, dynamoEndpoint, region, kind: 'embedded', stop: async () => {} },
      prefix: uniqueName('watch'),
      dashboard: true,
    });
    const lines: string[] = [];
    let sawEnough: () => void = () => {};
    const enough = new Promise<void>((resolveEnough) => {
      sawEnough = resolveEnough;
    });
    vi.spyOn(console, 'log').mockImplementation((line: string) => {
      lines.push(line);
      if (lines.length === 3) sawEnough();
    });
    try {
      // WHEN status watches it every second and, after three snapshots, the user presses Ctrl-C
      const exit = main([
        'status',
        '--url',
        local.dashboard?.url as string,
        '--json',
        '--watch',
        '--interval',
        '1',
        '--pipeline',
        FIXTURE,
      ]);
      await enough;
      process.emit('SIGINT');
      // THEN it ends with exit code 0, having printed each snapshot as one JSON line
      expect(await exit).toBe(0);
    } finally {
      vi.restoreAllMocks();
      await local.stop();
    }
    expect(lines.length).toBeGreaterThanOrEqual(3);
    for (const line of lines) {
      expect(line).not.toContain('\n');
      const snapshot = JSON.parse(line) as PipelineSnapshot;
      expect(snapshot.pipeline).toBe('demo');
      expect(snapshot.stages.map((stage) => stage.stage)).toEqual(['work']);
    }
  }, 60_000);
});
