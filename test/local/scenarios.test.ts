import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Engines, startEngines } from '../../lib/local/engines.ts';
import { runScenario, type ScenarioResult, scenarioPipeline } from '../../lib/local/scenarios.ts';

/**
 * A short variant of `sluice demo --scenario embedding-outage` (a 6 s outage instead of 60 s). It asserts what the
 * mechanisms guarantee whatever the machine's speed: the ledger balances and nothing accepted is lost. Depths and
 * shedding depend on the load a shared machine can carry; the full scenarios report them (README, "How pressure
 * travels").
 */
describe('pressure scenario (short variant)', () => {
  let engines: Engines;
  let result: ScenarioResult;
  const lines: string[] = [];

  beforeAll(async () => {
    engines = await startEngines();
    // WHEN
    result = await runScenario({
      engines,
      scenario: 'embedding-outage',
      timeScale: 0.1,
      maxDrainSeconds: 180,
      onProgress: (line) => lines.push(line),
    });
  }, 460_000);
  afterAll(async () => {
    await engines?.stop();
  });

  it('loses no accepted document through an embedding outage, and every offer is accounted for', () => {
    // THEN
    const { ledger } = result;
    expect(ledger.offered).toBe(ledger.accepted + ledger.shed + ledger.throttled + ledger.failed);
    expect(ledger.queued).toBe(0);
    expect(ledger.lost).toBe(0);
    expect(ledger.accepted).toBe(ledger.completed + ledger.deadLettered);
    expect(result.stages.map((stage) => stage.stage)).toEqual(scenarioPipeline().stages.map((stage) => stage.name));
  });

  it('shows on its live line the documents fully indexed so far, rising to what the ledger finds', () => {
    // GIVEN the count each live line shows (during the load, while the rest drains, and once done)
    const indexed = lines.map((line) => Number(/ · completed \(documents fully indexed\) (\d+)/.exec(line)?.[1]));
    const all = lines.join('\n');
    // THEN every line has it and it only goes up …
    expect(
      indexed.every((value) => Number.isInteger(value)),
      all,
    ).toBe(true);
    expect(indexed).toEqual([...indexed].sort((a, b) => a - b));
    // … from nothing to the ledger's completed documents (plus any fully indexed one that also has a dead letter)
    const last = indexed.at(-1) as number;
    expect(indexed[0], all).toBeLessThan(last);
    expect(last, all).toBeGreaterThanOrEqual(result.ledger.completed);
    expect(last, all).toBeLessThanOrEqual(result.ledger.completed + result.ledger.deadLettered);
    expect(lines.at(-1)).toMatch(/^embedding-outage: [\d.]+ s · done · /);
  });
});
