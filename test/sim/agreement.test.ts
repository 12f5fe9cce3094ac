import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decideAdmission } from '../../functions/authorizer/decide.ts';
import { DEFAULT_BACKOFF } from '../../functions/runtime/backoff.ts';
import { DEFAULT_DEFERRAL } from '../../functions/runtime/deferral.ts';
import { RESUME_FRACTION } from '../../functions/valve/decide.ts';
import type { AdmissionSettings } from '../../lib/definition/index.ts';
import { INITIAL_CONCURRENCY, SCALE_UP_PER_SECOND } from '../../lib/local/event-source-poller.ts';
import { admissionOutcome } from '../../lib/sim/admission.ts';
import { VALVE_RESUME_FRACTION } from '../../lib/sim/simulate.ts';
import {
  DEFERRAL_BACKOFF,
  ESM_INITIAL_CONCURRENCY,
  ESM_SCALE_UP_PER_MINUTE,
  RETRY_BACKOFF,
} from '../../lib/sim/stage-model.ts';

/**
 * The simulator may not import Lambda code or the local runtime (CONVENTIONS.md), so it carries its own copies of the
 * admission decision and a few constants; these tests keep the copies equal to the originals.
 */
describe('simulator agrees with the runtime it models', () => {
  it('decides admission as the authorizer does, on any depths and settings', () => {
    const settings = fc.record({
      softLimit: fc.integer({ min: 1, max: 1000 }),
      hardLimit: fc.integer({ min: 1, max: 1000 }),
      overload: fc.constantFrom('reject' as const, 'buffer' as const),
      drainRatePerSecond: fc.integer({ min: 1, max: 100 }),
      maxRetryAfterSeconds: fc.integer({ min: 1, max: 120 }),
      overflowMaxDepth: fc.integer({ min: 1, max: 5000 }),
      overflowDrainRatePerSecond: fc.integer({ min: 1, max: 100 }),
      priorityEnabled: fc.boolean(),
      // Whole-pipeline admission: the stages after the ingress stage.
      downstream: fc.array(
        fc.record({
          stage: fc.constantFrom('a', 'b', 'c'),
          depthLimit: fc.integer({ min: 1, max: 1000 }),
          ageSloSeconds: fc.integer({ min: 1, max: 60 }),
          drainRatePerSecond: fc.integer({ min: 1, max: 100 }),
        }),
        { maxLength: 3 },
      ),
    });
    fc.assert(
      fc.property(
        settings,
        fc.integer({ min: 0, max: 2000 }),
        fc.integer({ min: 0, max: 2000 }),
        fc.integer({ min: 0, max: 6000 }),
        fc.constantFrom('high' as const, 'low' as const),
        fc.array(fc.integer({ min: 0, max: 3000 }), { minLength: 3, maxLength: 3 }),
        (admission: AdmissionSettings, depth, laneDepth, overflowDepth, lane, downstreamDepths) => {
          // GIVEN one request's view, WHEN both decide
          const authorizer = decideAdmission({
            depth,
            laneDepth,
            overflowDepth,
            lane,
            downstreamDepths,
            settings: admission,
          });
          const simulated = admissionOutcome({ depth, laneDepth, overflowDepth, lane, downstreamDepths }, admission);
          // THEN the outcome is the same
          const expected = authorizer.admit ? authorizer.target : authorizer.reason;
          expect(simulated).toBe(expected);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('uses the runtime retry and deferral backoff, the valve hysteresis and the local poller scaling constants', () => {
    expect(RETRY_BACKOFF).toEqual(DEFAULT_BACKOFF);
    expect(DEFERRAL_BACKOFF).toEqual(DEFAULT_DEFERRAL);
    expect(VALVE_RESUME_FRACTION).toBe(RESUME_FRACTION);
    expect(ESM_INITIAL_CONCURRENCY).toBe(INITIAL_CONCURRENCY);
    expect(ESM_SCALE_UP_PER_MINUTE / 60).toBe(SCALE_UP_PER_SECOND);
  });
});
