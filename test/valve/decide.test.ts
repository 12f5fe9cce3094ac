import { describe, expect, it } from 'vitest';
import { decideValve, RESUME_FRACTION } from '../../functions/valve/decide.ts';
import { type ValvePorts, valvePass } from '../../functions/valve/valve.ts';

const open = (openedAtMs: number) => ({ status: 'open' as const, openedAtMs });

describe('decideValve', () => {
  it('keeps a stage polling while its breaker is closed and its next stage has room', () => {
    expect(decideValve({ enabled: true, breaker: { status: 'closed', openedAtMs: 0 }, nowMs: 0 })).toEqual({
      enabled: true,
      reason: 'flowing',
    });
  });

  it('pauses a stage while its breaker is open', () => {
    expect(decideValve({ enabled: true, breaker: open(1_000), openSeconds: 30, nowMs: 30_999 })).toEqual({
      enabled: false,
      reason: 'breaker-open',
    });
  });

  it('resumes half-open first once the open time is over, so probes can run', () => {
    expect(decideValve({ enabled: false, breaker: open(1_000), openSeconds: 30, nowMs: 31_000 })).toEqual({
      enabled: true,
      reason: 'breaker-half-open',
    });
    expect(
      decideValve({ enabled: true, breaker: { status: 'half-open', openedAtMs: 1_000 }, openSeconds: 30, nowMs: 0 }),
    ).toEqual({ enabled: true, reason: 'breaker-half-open' });
  });

  it('pauses a stage whose next stage is at its hard limit', () => {
    expect(decideValve({ enabled: true, nextDepth: 100, nextDepthLimit: 100, nowMs: 0 })).toEqual({
      enabled: false,
      reason: 'next-stage-full',
    });
  });

  it('resumes only once the next stage drained below the resume fraction of its limit', () => {
    const below = Math.ceil(100 * RESUME_FRACTION) - 1;
    expect(decideValve({ enabled: false, nextDepth: below + 1, nextDepthLimit: 100, nowMs: 0 })).toEqual({
      enabled: false,
      reason: 'next-stage-draining',
    });
    expect(decideValve({ enabled: false, nextDepth: below, nextDepthLimit: 100, nowMs: 0 })).toEqual({
      enabled: true,
      reason: 'flowing',
    });
    // A stage that polls keeps polling up to the limit itself.
    expect(decideValve({ enabled: true, nextDepth: 99, nextDepthLimit: 100, nowMs: 0 }).enabled).toBe(true);
  });
});

describe('valvePass', () => {
  function ports(state: { enabled: boolean; depth: number; failRead?: boolean }): ValvePorts & { switches: boolean[] } {
    const switches: boolean[] = [];
    return {
      switches,
      readBreaker: async () => ({ status: 'closed', openedAtMs: 0 }),
      readDepth: async () => {
        if (state.failRead) throw new Error('no permission');
        return state.depth;
      },
      isEnabled: async () => state.enabled,
      setEnabled: async (_stage, enabled) => {
        switches.push(enabled);
        state.enabled = enabled;
      },
    };
  }

  it('switches only the stages whose decision differs from their state', async () => {
    // GIVEN a polling stage whose next stage is full
    const state = { enabled: true, depth: 10 };
    const port = ports(state);
    const stages = [{ stage: 'chunk', nextQueueUrl: 'q', nextDepthLimit: 10 }];

    // WHEN two passes
    await valvePass(stages, port, 0);
    const second = await valvePass(stages, port, 1);

    // THEN one switch, off; the second pass leaves it
    expect(port.switches).toEqual([false]);
    expect(second).toEqual([
      { stage: 'chunk', decision: { enabled: false, reason: 'next-stage-full' }, switched: false },
    ]);
  });

  it('leaves a stage as it is when its reads fail, and reports the error', async () => {
    const port = ports({ enabled: true, depth: 0, failRead: true });
    const errors: string[] = [];
    const steps = await valvePass([{ stage: 'chunk', nextQueueUrl: 'q', nextDepthLimit: 10 }], port, 0, (stage) =>
      errors.push(stage),
    );
    expect(steps).toEqual([]);
    expect(errors).toEqual(['chunk']);
    expect(port.switches).toEqual([]);
  });
});
