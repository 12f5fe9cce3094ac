import { describe, expect, it } from 'vitest';
import { judge, judgePipeline, type TrendPoint } from '../../lib/ops/verdict.ts';

/** Points one second apart with the given backlogs and a steady in / out. */
function trend(backlogs: number[], inPerSecond: number, outPerSecond: number): TrendPoint[] {
  return backlogs.map((backlog, index) => ({ at: index * 1000, backlog, inPerSecond, outPerSecond }));
}

describe('judge', () => {
  it('calls a growing backlog falling behind, with no time to drain while in ≥ out', () => {
    // GIVEN the backlog grows by 60 a second, 100 in and 40 out: 6 s of work against a 10 s SLO
    const judgement = judge(trend([0, 60, 120, 180, 240, 300], 100, 40), 3, 10);
    expect(judgement).toEqual({ verdict: 'falling_behind', estimatedDrainSeconds: null, backlogSlopePerSecond: 60 });
  });

  it('calls a shrinking backlog recovering, draining at the observed slope', () => {
    // GIVEN it falls by 20 a second from 1000 (mean of the last three: 920)
    const judgement = judge(trend([1000, 980, 960, 940, 920, 900], 20, 40), 30, 10);
    expect(judgement).toEqual({ verdict: 'recovering', estimatedDrainSeconds: 46, backlogSlopePerSecond: -20 });
  });

  it('calls a backlog the consumer clears within half the age SLO healthy, even while it grows a little', () => {
    // GIVEN 40 waiting at 40 out a second: one second of work against a 10 s SLO
    const judgement = judge(trend([30, 32, 35, 38, 40, 40], 41, 40), 1, 10);
    expect(judgement.verdict).toBe('healthy');
    expect(judgement.estimatedDrainSeconds).toBe(1);
  });

  it('calls a standing backlog over half the SLO falling behind: it is not catching up', () => {
    const judgement = judge(trend([500, 501, 499, 500, 500, 500], 40, 40), 12, 10);
    expect(judgement.verdict).toBe('falling_behind');
  });

  it('calls a small backlog whose oldest message is over the SLO falling behind (a stuck message)', () => {
    expect(judge(trend([3, 3, 3, 3], 0, 0), 45, 30).verdict).toBe('falling_behind');
  });

  it('calls an idle stage healthy', () => {
    expect(judge(trend([0, 0, 0], 0, 0), 0, 30)).toEqual({
      verdict: 'healthy',
      estimatedDrainSeconds: 0,
      backlogSlopePerSecond: 0,
    });
    expect(judge([], 0, 30).verdict).toBe('healthy');
  });

  it('does not call noise of a steady busy stage a trend', () => {
    // GIVEN a stage at 1000 a second with a backlog wobbling by a batch (tolerance: 5 % of 1000 = 50 a second)
    const judgement = judge(trend([200, 240, 190, 250, 200, 230], 1000, 1000), 1, 10);
    expect(judgement.verdict).toBe('healthy');
  });
});

describe('judgePipeline', () => {
  it('takes the worst stage’s verdict, and drains when its slowest stage has', () => {
    const healthy = { verdict: 'healthy' as const, estimatedDrainSeconds: 2, backlogSlopePerSecond: 0 };
    const recovering = { verdict: 'recovering' as const, estimatedDrainSeconds: 90, backlogSlopePerSecond: -5 };
    const behind = { verdict: 'falling_behind' as const, estimatedDrainSeconds: null, backlogSlopePerSecond: 5 };
    expect(judgePipeline([healthy, recovering])).toEqual({ verdict: 'recovering', estimatedDrainSeconds: 90 });
    expect(judgePipeline([recovering, behind, healthy])).toEqual({
      verdict: 'falling_behind',
      estimatedDrainSeconds: null,
    });
  });
});
