import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BrowserContext, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { definePipeline } from '../../lib/definition/index.ts';
import { runLoad } from '../../lib/local/load-generator.ts';
import { type LocalPipeline, startLocalPipeline } from '../../lib/local/local-pipeline.ts';
import { engineEndpoints, uniqueName } from '../helpers/engines.ts';

/** Debian's Chromium, installed by `.ci/run` (apt-get install chromium) when missing. */
const CHROMIUM = '/usr/bin/chromium';

describe('the live dashboard in headless Chromium', () => {
  let local: LocalPipeline;
  let browser: BrowserContext;
  beforeAll(async () => {
    const { sqsEndpoint, dynamoEndpoint, region } = engineEndpoints();
    local = await startLocalPipeline(
      definePipeline({
        name: 'dash',
        stages: [
          {
            name: 'work',
            consumer: {
              entry: 'functions/demo/simulated-work.ts',
              batchSize: 10,
              maxBatchingWindowSeconds: 0,
              maxConcurrency: 2,
            },
          },
        ],
        jobs: { enabled: true },
      }),
      {
        engines: { sqsEndpoint, dynamoEndpoint, region, kind: 'embedded', stop: async () => {} },
        prefix: uniqueName('dash'),
        dashboard: true,
      },
    );
    browser = await chromium.launchPersistentContext(mkdtempSync(join(tmpdir(), 'sluice-chromium-')), {
      executablePath: CHROMIUM,
      headless: true,
      viewport: { width: 1280, height: 720 },
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
  });
  afterAll(async () => {
    await browser?.close();
    await local?.stop();
  });

  it('labels every chart: a y axis from 0 to its scale, a time axis, and a legend naming its series', async () => {
    // GIVEN the dashboard open, WHEN the first sample is drawn
    const page = await browser.newPage();
    await page.goto(`${local.dashboard?.url}/dashboard`);
    const depth = page.locator('figure[data-consumer="work"][data-metric="depth"]');
    await depth.waitFor();
    await page.waitForFunction('document.body.dataset.sampledAt !== undefined');
    // THEN each axis and the legend are there
    const [scale, zero] = await depth.locator('.y span').allTextContents();
    expect(Number(scale)).toBeGreaterThanOrEqual(1);
    expect(zero).toBe('0');
    expect(await depth.locator('.x span').allTextContents()).toEqual(['−120 s', 'now']);
    expect(await depth.locator('.legend').textContent()).toBe('waiting in flight');
    expect(await page.locator('figure[data-metric="latency"] .legend').first().textContent()).toBe('p50 p99');
    await page.close();
  });

  it('draws the stage charts and they move while load runs; keeps a screenshot', async () => {
    // GIVEN the dashboard open
    const page = await browser.newPage();
    await page.goto(`${local.dashboard?.url}/dashboard`);
    const out = page.locator('figure[data-consumer="work"][data-metric="rate"]');
    await out.waitFor();
    const rateBefore = await out.getAttribute('data-latest');
    // WHEN load arrives (80 jobs a second for 4 s, more than the stage's 40 a second)
    const load = runLoad({
      url: local.ingress.url,
      phases: [{ ratePerSecond: 80, durationMs: 4_000 }],
      body: (n) => ({ n }),
      follow: false,
    });
    // THEN the depth and the in/out rates leave zero while the page polls
    await page.waitForFunction(
      `(() => {
        const latest = (metric) => document.querySelector('figure[data-consumer="work"][data-metric="' + metric + '"]')?.getAttribute('data-latest') ?? '';
        const waiting = Number(latest('depth').split(' / ')[0]);
        const outRate = Number(latest('rate').split(' / ')[1]);
        return waiting > 0 && outRate > 0;
      })()`,
      undefined,
      { timeout: 20_000, polling: 250 },
    );
    const rateDuring = await out.getAttribute('data-latest');
    expect(rateDuring).not.toBe(rateBefore);
    const line = await page
      .locator('figure[data-consumer="work"][data-metric="depth"] polyline.first')
      .getAttribute('points');
    expect(line?.split(' ').length).toBeGreaterThanOrEqual(2);
    mkdirSync('test-results', { recursive: true });
    await page.screenshot({ path: 'test-results/dashboard.png', fullPage: true });
    await load;
  }, 60_000);
});
