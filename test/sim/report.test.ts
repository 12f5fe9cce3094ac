import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { definePipeline } from '../../lib/definition/index.ts';
import { examplePipeline } from '../../lib/example/pipeline.ts';
import {
  estimateCost,
  PRICES,
  PRICES_AS_OF,
  recommend,
  reportOf,
  simulate,
  summarize,
  writeOutputs,
} from '../../lib/sim/index.ts';

describe('simulation report', () => {
  const result = simulate(examplePipeline, {
    profile: { kind: 'constant', ratePerSecond: 200 },
    durationSeconds: 30,
    clientShares: { uploader: 1, backfill: 0 },
  });

  it('summarises rejections as a share of what was offered', () => {
    const summary = summarize(result);
    expect(summary.offered).toBe(6_000);
    expect(summary.rejected.total).toBe(summary.offered - summary.accepted);
    expect(summary.rejected.percent).toBeCloseTo((summary.rejected.total / summary.offered) * 100, 1);
  });

  it('prices every counted request from the dated table and divides by the accepted jobs', () => {
    // GIVEN the run's counters, WHEN priced
    const cost = estimateCost(examplePipeline, result);
    // THEN the date and region are stated, the lines add up, and the API Gateway line is accepted requests × list price
    expect(cost.pricesAsOf).toBe(PRICES_AS_OF);
    expect(cost.region).toBe('us-east-1');
    const sum = cost.lines.reduce((total, line) => total + line.usd, 0);
    expect(cost.totalUsd).toBeCloseTo(sum, 10);
    const api = cost.lines.find((line) => line.service === 'API Gateway');
    expect(api?.usd).toBeCloseTo(result.ingress.accepted * PRICES.apiGatewayRestRequest.usd, 10);
    expect(cost.usdPerMillionJobs).toBeCloseTo((cost.totalUsd / result.ingress.accepted) * 1_000_000, 6);
    // AND job status and idempotency writes are counted, since the example turns both on
    expect(cost.lines.map((line) => line.item)).toEqual(
      expect.arrayContaining(['job status writes', 'idempotency writes']),
    );
    for (const price of Object.values(PRICES)) expect(price.source).toMatch(/^https:\/\/aws\.amazon\.com\//);
  });

  it("recommends a depth limit no deeper than Little's law allows for the age SLO", () => {
    // GIVEN a depth limit of 10,000 on a stage that drains 100/s with a 20 s SLO
    const pipeline = definePipeline({
      name: 'deep',
      stages: [
        {
          name: 'work',
          consumer: { entry: 'x.ts', batchSize: 10, maxConcurrency: 10, reservedConcurrency: 10 },
          flow: { ageSloSeconds: 20, depthLimit: 10_000, recordProcessingMs: 100 },
        },
      ],
    });
    const run = simulate(pipeline, { profile: { kind: 'constant', ratePerSecond: 10 }, durationSeconds: 5 });
    // THEN it says 2,000 (20 s × 100/s)
    const advice = recommend(pipeline, run).find((item) => item.field === 'stages[0].flow.depthLimit');
    expect(advice?.message).toMatch(/set it at most 2000/);
  });

  it('flags settings AWS would reject: rates above the account throttle and concurrency above 1,000', () => {
    const run = simulate(examplePipeline, {
      profile: { kind: 'constant', ratePerSecond: 100_000 },
      durationSeconds: 5,
    });
    const advice = recommend(examplePipeline, run);
    expect(advice.some((item) => item.kind === 'reject' && item.field === 'ingress.throttle.rateLimitPerSecond')).toBe(
      true,
    );
    const busy = definePipeline({
      name: 'busy',
      stages: [
        {
          name: 'work',
          consumer: { entry: 'x.ts', batchSize: 10, maxConcurrency: 1000, reservedConcurrency: 1000 },
          flow: { recordProcessingMs: 1000, depthLimit: 1_000_000 },
        },
      ],
      ingress: { throttle: { rateLimitPerSecond: 20_000, burstLimit: 5_000 } },
    });
    const heavy = simulate(busy, {
      profile: { kind: 'constant', ratePerSecond: 5_000 },
      durationSeconds: 5,
      maxDrainSeconds: 0,
    });
    const concurrency = recommend(busy, heavy).find((item) => item.field === 'stages[0].consumer.maxConcurrency');
    expect(concurrency?.kind).toBe('reject');
    expect(concurrency?.message).toMatch(/above the 1000 an SQS event source mapping allows/);
    expect(recommend(busy, heavy).some((item) => item.field === 'stages[].consumer.reservedConcurrency')).toBe(true);
  });

  it('writes the time series, the report and one SVG chart per stage plus the ingress', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-sim-'));
    const written = writeOutputs(dir, result, reportOf(examplePipeline, result));
    // One chart per queue: every stage, and the accept stage's low lane (priority lanes are on in the example)
    const charts = result.series.stages.map((series) => `stage-${series.name.replace(':', '-')}.svg`);
    expect(charts).toContain(`stage-${examplePipeline.ingress?.stage}-low.svg`);
    expect(readdirSync(dir).sort()).toEqual(['ingress.svg', 'report.json', 'series.json', ...charts].sort());
    expect(written).toHaveLength(3 + charts.length);
    const svg = readFileSync(join(dir, charts[0] as string), 'utf8');
    expect(svg).toMatch(/^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
    expect(svg).toContain('<polyline');
    expect(svg).toContain('depth limit');
    const series = JSON.parse(readFileSync(join(dir, 'series.json'), 'utf8')) as { t: number[]; stages: unknown[] };
    expect(series.t.length).toBeGreaterThan(0);
    expect(series.stages).toHaveLength(examplePipeline.stages.length + 1);
  });
});
