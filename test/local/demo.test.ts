import { describe, expect, it } from 'vitest';
import { runDemo } from '../../lib/local/demo.ts';
import { engineEndpoints } from '../helpers/engines.ts';

describe('sluice demo (a shortened scenario)', () => {
  it('balances the ledger with nothing lost, keeps depth and age within limits with backpressure, and breaches the SLO without', async () => {
    // GIVEN a 40 jobs/s stage with an 8 s age SLO and a depth limit of 200, overloaded at 2.5× for 8 s
    const { sqsEndpoint, dynamoEndpoint, region } = engineEndpoints();
    const engines = { sqsEndpoint, dynamoEndpoint, region, kind: 'embedded' as const, stop: async () => {} };
    // WHEN
    const result = await runDemo({
      engines,
      overloadSeconds: 8,
      ageSloSeconds: 6,
      depthLimit: 120,
      maxDrainSeconds: 120,
    });
    // THEN
    for (const run of [result.withBackpressure, result.withoutBackpressure]) {
      expect(run.offered).toBe(
        run.accepted + run.rejected.throttled + run.rejected.shed + run.rejected.failed + run.rejected.dropped,
      );
      expect(run.accepted).toBe(run.completed + run.deadLettered + run.queued);
      expect(run.lost).toBe(0);
    }
    expect(result.withBackpressure.rejected.shed).toBeGreaterThan(0);
    expect(result.withBackpressure.maxDepth).toBeLessThanOrEqual(210);
    expect(result.withBackpressure.sloBreached).toBe(false);
    expect(result.withoutBackpressure.rejected.shed).toBe(0);
    expect(result.withoutBackpressure.sloBreached).toBe(true);
    expect(result.ok).toBe(true);
  }, 240_000);
});
