import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { definePipeline } from '../../lib/definition/index.ts';
import { progressLine, runLoad } from '../../lib/local/load-generator.ts';
import { type LocalPipeline, startLocalPipeline } from '../../lib/local/local-pipeline.ts';
import { engineEndpoints, uniqueName } from '../helpers/engines.ts';

describe('sluice load', () => {
  let local: LocalPipeline;
  beforeAll(async () => {
    const { sqsEndpoint, dynamoEndpoint, region } = engineEndpoints();
    local = await startLocalPipeline(
      definePipeline({
        name: 'load',
        stages: [
          {
            name: 'work',
            consumer: { entry: 'functions/demo/simulated-work.ts', batchSize: 10, maxBatchingWindowSeconds: 0 },
          },
        ],
        jobs: { enabled: true },
      }),
      {
        engines: { sqsEndpoint, dynamoEndpoint, region, kind: 'embedded', stop: async () => {} },
        prefix: uniqueName('load'),
      },
    );
  });
  afterAll(() => local?.stop());

  it('offers requests on a fixed schedule and follows every accepted job to completion with its latency', async () => {
    // GIVEN / WHEN 40 requests a second for 2 s
    const lines: string[] = [];
    const stats = await runLoad({
      url: local.ingress.url,
      phases: [{ ratePerSecond: 40, durationMs: 2_000 }],
      body: (n) => ({ n }),
      drainTimeoutMs: 30_000,
      onProgress: (progress) => lines.push(progressLine(progress)),
    });
    // THEN
    expect(stats.offered).toBe(80);
    expect(stats.accepted).toBe(80);
    expect(stats.completed).toBe(80);
    expect(stats.pending).toBe(0);
    expect(stats.latencyP50Ms).toBeGreaterThan(0);
    expect(stats.latencyP99Ms).toBeGreaterThanOrEqual(stats.latencyP50Ms as number);
    expect(lines.some((line) => /offered \d+ · accepted \d+/.test(line))).toBe(true);
  });

  it('counts requests it could not send as dropped, never losing them from the ledger', async () => {
    const stats = await runLoad({
      url: 'http://127.0.0.1:9', // nothing listens: every request fails
      phases: [{ ratePerSecond: 100, durationMs: 500 }],
      body: (n) => ({ n }),
      maxInFlight: 1,
      follow: false,
    });
    expect(stats.offered).toBe(50);
    expect(stats.accepted + stats.failed + stats.dropped).toBe(50);
  });
});

describe('progressLine', () => {
  const stats = (followed: boolean) => ({
    offered: 10,
    accepted: 8,
    throttled: 1,
    shed: 1,
    failed: 0,
    clientErrors: 0,
    serverErrors: 0,
    networkErrors: 0,
    firstError: undefined,
    dropped: 0,
    followed,
    completed: 5,
    deadLettered: 1,
    pending: 2,
    inFlightRequests: 0,
    latencyP50Ms: 120,
    latencyP99Ms: 480,
    elapsedMs: 1_000,
  });

  it('shows completions and latencies of followed jobs', () => {
    expect(progressLine(stats(true))).toMatch(
      / · completed 5 · dead-lettered 1 · in flight 2 · p50 120 ms · p99 480 ms$/,
    );
  });

  it('says an unfollowed load does not know its completions, rather than showing completed 0', () => {
    expect(progressLine({ ...stats(false), completed: 0, deadLettered: 0, pending: 0 })).toMatch(
      / · dropped \(not sent, generator behind\) 0 · completed – \(not followed\)$/,
    );
  });

  it('shows what the caller counted as completed, with what it counts', () => {
    const line = progressLine(stats(false), { completed: 7, what: 'documents fully indexed' });
    expect(line).toMatch(/ · completed \(documents fully indexed\) 7$/);
    expect(progressLine(stats(false), { completed: 7 })).toMatch(/ · completed 7$/);
  });
});
