import { describe, expect, it } from 'vitest';
import { pressureMetricDocuments } from '../../functions/runtime/index.ts';

describe('pressure metrics (EMF)', () => {
  it('writes Deferred by reason, one document per reason, with Pipeline, Stage and Reason dimensions', () => {
    const documents = pressureMetricDocuments(
      { deferred: { 'rate-limit': 3, 'next-stage': 1 } },
      { pipeline: 'docs', stage: 'embed' },
      1_700_000_000_000,
    ).map((document) => JSON.parse(document));
    expect(documents).toHaveLength(2);
    expect(documents[0]).toMatchObject({
      _aws: {
        Timestamp: 1_700_000_000_000,
        CloudWatchMetrics: [
          {
            Namespace: 'sluice',
            Dimensions: [['Pipeline', 'Stage', 'Reason']],
            Metrics: [{ Name: 'Deferred', Unit: 'Count' }],
          },
        ],
      },
      Pipeline: 'docs',
      Stage: 'embed',
      Reason: 'rate-limit',
      Deferred: 3,
    });
    expect(documents[1]).toMatchObject({ Reason: 'next-stage', Deferred: 1 });
  });

  it('writes BreakerOpen and LimiterWait together, and nothing when pressure did nothing', () => {
    const [document] = pressureMetricDocuments(
      { breakerOpen: 1, limiterWaits: 4 },
      { pipeline: 'docs', stage: 'embed' },
    );
    expect(JSON.parse(document as string)).toMatchObject({
      _aws: {
        CloudWatchMetrics: [
          { Dimensions: [['Pipeline', 'Stage']], Metrics: [{ Name: 'BreakerOpen' }, { Name: 'LimiterWait' }] },
        ],
      },
      BreakerOpen: 1,
      LimiterWait: 4,
    });
    expect(pressureMetricDocuments({ limiterWaits: 0, breakerOpen: 0 }, { pipeline: 'docs', stage: 'embed' })).toEqual(
      [],
    );
  });
});
