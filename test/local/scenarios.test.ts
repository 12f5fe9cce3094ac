import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Engines, startEngines } from '../../lib/local/engines.ts';
import { runScenario, scenarioPipeline } from '../../lib/local/scenarios.ts';

/**
 * A short variant of `sluice demo --scenario embedding-outage` (a 6 s outage instead of 60 s). It asserts what the
 * mechanisms guarantee whatever the machine's speed: the ledger balances and nothing accepted is lost. Depths and
 * shedding depend on the load a shared machine can carry; the full scenarios report them (README, "How pressure
 * travels").
 */
describe('pressure scenario (short variant)', () => {
  let engines: Engines;
  beforeAll(async () => {
    engines = await startEngines();
  }, 60_000);
  afterAll(async () => {
    await engines.stop();
  });

  it('loses no accepted document through an embedding outage, and every offer is accounted for', async () => {
    // WHEN
    const result = await runScenario({ engines, scenario: 'embedding-outage', timeScale: 0.1, maxDrainSeconds: 180 });

    // THEN
    const { ledger } = result;
    expect(ledger.offered).toBe(ledger.accepted + ledger.shed + ledger.throttled + ledger.failed);
    expect(ledger.queued).toBe(0);
    expect(ledger.lost).toBe(0);
    expect(ledger.accepted).toBe(ledger.completed + ledger.deadLettered);
    expect(result.stages.map((stage) => stage.stage)).toEqual(scenarioPipeline().stages.map((stage) => stage.name));
  }, 400_000);
});
