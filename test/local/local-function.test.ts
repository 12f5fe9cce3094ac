import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { DEV_YOUNG_GENERATION_MB, LocalFunction } from '../../lib/local/local-function.ts';

const entry = fileURLToPath(new URL('../fixtures/handlers/resource-limits.ts', import.meta.url));

function localFunction(maxIsolates?: number): LocalFunction {
  return new LocalFunction({
    name: 'limits',
    entry,
    handlerName: 'handler',
    timeoutSeconds: 30,
    memorySizeMiB: 192,
    reservedConcurrency: 4,
    environment: {},
    ...(maxIsolates === undefined ? {} : { maxIsolates }),
  });
}

describe('LocalFunction heap limits', () => {
  let fn: LocalFunction | undefined;
  afterEach(async () => {
    await fn?.stop();
    fn = undefined;
  });

  it('caps the young generation of a shared worker (sluice dev) and keeps memorySizeMiB as the old generation', async () => {
    fn = localFunction(1);
    const outcome = await fn.invoke({});
    expect(outcome).toMatchObject({
      status: 'ok',
      result: { maxOldGenerationSizeMb: 192, maxYoungGenerationSizeMb: DEV_YOUNG_GENERATION_MB },
    });
  });

  it("leaves V8's young generation to a worker per execution environment, as on Lambda", async () => {
    fn = localFunction();
    const outcome = await fn.invoke({});
    expect(outcome.status).toBe('ok');
    const limits = (outcome as { result: { maxOldGenerationSizeMb: number; maxYoungGenerationSizeMb: number } }).result;
    expect(limits.maxOldGenerationSizeMb).toBe(192);
    expect(limits.maxYoungGenerationSizeMb).not.toBe(DEV_YOUNG_GENERATION_MB);
  });
});
