import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { isFunctionModule } from '../../lib/local/function-modules.ts';
import { type InvocationResult, LocalFunction } from '../../lib/local/local-function.ts';
import { SHARED_YOUNG_GENERATION_MB, SharedWorkerPool } from '../../lib/local/shared-worker-pool.ts';
import type { EnvironmentEcho } from '../fixtures/handlers/environment-echo.ts';

const echoEntry = resolve('test/fixtures/handlers/environment-echo.ts');

let pool: SharedWorkerPool | undefined;
afterEach(async () => {
  await pool?.stop();
  pool = undefined;
});

function pooled(
  shared: SharedWorkerPool,
  name: string,
  options: { entry?: string; timeoutSeconds?: number; memorySizeMiB?: number; reservedConcurrency?: number } = {},
): LocalFunction {
  return new LocalFunction({
    name,
    entry: options.entry ?? echoEntry,
    handlerName: 'handler',
    timeoutSeconds: options.timeoutSeconds ?? 30,
    memorySizeMiB: options.memorySizeMiB ?? 256,
    reservedConcurrency: options.reservedConcurrency ?? 10,
    environment: { SLUICE_STAGE_NAME: name, SLUICE_QUEUE_URL: `http://queue.local/${name}` },
    pool: shared,
  });
}

function echoOf(outcome: InvocationResult): EnvironmentEcho {
  expect(outcome.status).toBe('ok');
  return (outcome as { result: EnvironmentEcho }).result;
}

describe('SharedWorkerPool', () => {
  // Each Lambda function has its own execution environment with its own environment variables
  // (https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtime-environment.html); sharing a worker must not change that.
  it('gives two functions in one worker thread their own process.env at import and in concurrent invocations', async () => {
    // GIVEN two functions with different SLUICE_* variables in a pool of one worker thread
    pool = new SharedWorkerPool({ threads: 1 });
    const scan = pooled(pool, 'scan');
    const embed = pooled(pool, 'embed');

    // WHEN both run interleaved invocations at once (each waits, so the others run in between)
    const outcomes = await Promise.all(
      [40, 5, 25, 10, 30, 0].flatMap((waitMs) => [scan.invoke({ waitMs }), embed.invoke({ waitMs: 40 - waitMs })]),
    );

    // THEN every invocation saw its own function's environment, at import, across awaits and timers, and its own writes
    const echoes = outcomes.map(echoOf);
    expect(new Set(echoes.map((echo) => echo.threadId)).size).toBe(1);
    for (const [index, echo] of echoes.entries()) {
      const name = index % 2 === 0 ? 'scan' : 'embed';
      expect(echo).toMatchObject({
        entryStageAtImport: name,
        stageAtImport: name,
        stageBeforeWait: name,
        stageAfterWait: name,
        stageInTimer: name,
        writtenAfterWait: name,
      });
    }
    expect(pool.alive).toBe(1);
  });

  it('gives each function its own instance of the modules it imports', async () => {
    // GIVEN two functions of the same entry (as a stage and its low lane) in one worker thread
    pool = new SharedWorkerPool({ threads: 1 });
    const high = pooled(pool, 'scan');
    const low = pooled(pool, 'scan-low');

    // WHEN one runs three invocations and the other one
    const highEchoes = [];
    for (let i = 0; i < 3; i++) highEchoes.push(echoOf(await high.invoke({})));
    const lowEcho = echoOf(await low.invoke({}));

    // THEN each counted its own invocations in its own module instance, which read its own environment at import
    expect(highEchoes.map((echo) => echo.invocations)).toEqual([1, 2, 3]);
    expect(lowEcho).toMatchObject({ invocations: 1, stageAtImport: 'scan-low' });
    expect(lowEcho.threadId).toBe(highEchoes[0]?.threadId);
    expect(high.stats.coldStarts).toBe(1);
    expect(low.stats.coldStarts).toBe(1);
  });

  // Lambda ends an invocation at its timeout and the next one may start in a fresh environment
  // (https://docs.aws.amazon.com/lambda/latest/dg/configuration-timeout.html).
  it('ends every invocation in the worker when one times out, and starts a fresh worker for the next', async () => {
    // GIVEN a function with a 1 s timeout and another one sharing its worker thread
    pool = new SharedWorkerPool({ threads: 1 });
    const slow = pooled(pool, 'slow', { timeoutSeconds: 1 });
    const other = pooled(pool, 'other');
    const first = echoOf(await other.invoke({}));

    // WHEN the slow function outlives its timeout while the other function's invocation is running
    const [timedOut, sharing] = await Promise.all([slow.invoke({ hangMs: 60_000 }), other.invoke({ waitMs: 60_000 })]);

    // THEN the timed-out invocation is a timeout, the other ends with an error (its records are retried)
    expect(timedOut).toEqual({ status: 'timeout' });
    expect(sharing).toMatchObject({ status: 'error', error: { name: 'RuntimeExitError' } });
    expect(slow.stats.timeouts).toBe(1);
    // AND the next invocation runs in a new worker thread, loading its function again (a cold start)
    const after = echoOf(await other.invoke({}));
    expect(after.threadId).not.toBe(first.threadId);
    expect(after.invocations).toBe(1);
    expect(other.stats.coldStarts).toBe(2);
  });

  it('answers InitError for a function whose module fails to load, and keeps running the others', async () => {
    // GIVEN a function whose initialisation throws, next to a healthy one in the same worker thread
    pool = new SharedWorkerPool({ threads: 1 });
    const broken = pooled(pool, 'broken', { entry: resolve('test/fixtures/handlers/init-failure.ts') });
    const healthy = pooled(pool, 'healthy');

    // WHEN both are invoked, the broken one twice
    const [failed, ok] = await Promise.all([broken.invoke({}), healthy.invoke({})]);
    const again = await broken.invoke({});

    // THEN the broken one fails its initialisation each time (run again, as Lambda does) and the other is unaffected
    expect(failed).toMatchObject({
      status: 'error',
      error: { name: 'InitError', message: /SLUICE_QUEUE_URL is not set/ },
    });
    expect(again).toMatchObject({ status: 'error', error: { name: 'InitError' } });
    expect(broken.stats.coldStarts).toBe(2);
    expect(echoOf(ok).stageAtImport).toBe('healthy');
  });

  it("caps a shared worker's young generation and gives it the sum of its functions' memory as old generation", async () => {
    // GIVEN two functions of 192 and 320 MiB in one worker thread
    pool = new SharedWorkerPool({ threads: 1 });
    const limits = pooled(pool, 'limits', {
      entry: resolve('test/fixtures/handlers/resource-limits.ts'),
      memorySizeMiB: 192,
    });
    pooled(pool, 'neighbour', { memorySizeMiB: 320 });

    // WHEN one reports its worker's heap limits
    const outcome = await limits.invoke({});

    // THEN
    expect(outcome).toMatchObject({
      status: 'ok',
      result: { maxOldGenerationSizeMb: 512, maxYoungGenerationSizeMb: SHARED_YOUNG_GENERATION_MB },
    });
  });

  it('spreads functions over its worker threads, each function always in the same one', async () => {
    // GIVEN three functions in a pool of two worker threads
    pool = new SharedWorkerPool({ threads: 2 });
    const functions = ['a', 'b', 'c'].map((name) => pooled(pool as SharedWorkerPool, name));

    // WHEN each runs twice
    const threads = [];
    for (const fn of [...functions, ...functions]) threads.push(echoOf(await fn.invoke({})).threadId);

    // THEN a and c share one thread, b has the other, and no function moved
    expect(threads[0]).toBe(threads[2]);
    expect(threads[1]).not.toBe(threads[0]);
    expect(threads.slice(3)).toEqual(threads.slice(0, 3));
  });

  it('fails if threads is not a positive integer', () => {
    expect(() => new SharedWorkerPool({ threads: 0 })).toThrow(/threads must be an integer between 1 and 1000, but 0/);
  });
});

describe('isFunctionModule', () => {
  const repository = pathToFileURL('/work/app/').href;
  const installed = pathToFileURL('/work/app/node_modules/sluice/dist/').href;

  it("gives each function its own instance of the app's and sluice's files", () => {
    expect(isFunctionModule(`${repository}functions/extract.ts`, repository)).toBe(true);
    expect(isFunctionModule(`${installed}functions/runtime/index.js`, installed)).toBe(true);
  });

  it('shares third-party packages and built-ins across the functions of a worker', () => {
    expect(isFunctionModule(`${repository}node_modules/zod/index.js`, repository)).toBe(false);
    expect(isFunctionModule(`${repository}node_modules/@aws-sdk/client-sqs/dist-es/index.js`, installed)).toBe(false);
    expect(isFunctionModule('node:crypto', repository)).toBe(false);
  });
});
