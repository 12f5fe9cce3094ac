import { describe, expect, it } from 'vitest';
import { DEMO_MAX_IN_FLIGHT, runDemo } from '../../lib/local/demo.ts';
import { engineEndpoints } from '../helpers/engines.ts';

describe('sluice demo (a shortened scenario)', () => {
  it('balances the ledger with nothing lost, keeps depth and age within limits with backpressure, and breaches the SLO without', async () => {
    // GIVEN a 40 jobs/s stage with a 15 s age SLO and a depth limit of 200 (a 5 s wait at full speed, so a slow
    // machine still meets the SLO), overloaded at 2.5× for 12 s (about 20 s of backlog without backpressure)
    const { sqsEndpoint, dynamoEndpoint, region } = engineEndpoints();
    const engines = { sqsEndpoint, dynamoEndpoint, region, kind: 'embedded' as const, stop: async () => {} };
    // WHEN
    const result = await runDemo({
      engines,
      overloadSeconds: 12,
      ageSloSeconds: 15,
      depthLimit: 200,
      maxDrainSeconds: 120,
    });
    // THEN
    const ledger = JSON.stringify(result);
    for (const run of [result.withBackpressure, result.withoutBackpressure]) {
      expect(run.offered).toBe(
        run.accepted + run.rejected.throttled + run.rejected.shed + run.rejected.failed + run.rejected.dropped,
      );
      expect(run.accepted).toBe(run.completed + run.deadLettered + run.queued);
      expect(run.lost, ledger).toBe(0);
    }
    expect(result.withBackpressure.rejected.shed).toBeGreaterThan(0);
    // What the depth check guarantees whatever the machine's load: each admitted request saw a depth under the limit,
    // and at most DEMO_MAX_IN_FLIGHT requests are between their check and their enqueue. (How close to the limit it
    // stays depends on load and goes in bench/, not here.)
    expect(result.withBackpressure.maxDepth, ledger).toBeLessThanOrEqual(200 + DEMO_MAX_IN_FLIGHT);
    expect(result.withBackpressure.sloBreached, ledger).toBe(false);
    expect(result.withoutBackpressure.rejected.shed).toBe(0);
    expect(result.withoutBackpressure.sloBreached, ledger).toBe(true);
    // result.ok is the demo's own verdict for a person watching (depth within 5 % of the limit), which depends on the
    // machine's load; its guaranteed parts are asserted above.
  }, 240_000);
});
