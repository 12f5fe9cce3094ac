import type { DeferralReason } from './errors.ts';

/** What pressure did during one batch. */
export interface PressureMetrics {
  /** Records deferred, by reason. */
  readonly deferred?: Partial<Record<DeferralReason, number>>;
  /** 1 when the stage's circuit breaker held records back (open or out of half-open probes) in this batch, else 0. */
  readonly breakerOpen?: number;
  /** Limiter takes that had to wait for tokens. */
  readonly limiterWaits?: number;
}

/**
 * CloudWatch embedded metric format documents for pressure, in the `sluice` namespace: `Deferred` with dimensions
 * `Pipeline`, `Stage` and `Reason` (one document per reason: a document carries one value per dimension), and
 * `BreakerOpen` and `LimiterWait` with `Pipeline` and `Stage`
 * (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html).
 * Only written for batches where pressure did something.
 */
export function pressureMetricDocuments(
  metrics: PressureMetrics,
  dimensions: { readonly pipeline: string; readonly stage: string },
  now = Date.now(),
): string[] {
  const documents: string[] = [];
  const base = { Pipeline: dimensions.pipeline, Stage: dimensions.stage };
  for (const [reason, count] of Object.entries(metrics.deferred ?? {})) {
    documents.push(
      JSON.stringify({
        _aws: {
          Timestamp: now,
          CloudWatchMetrics: [
            {
              Namespace: 'sluice',
              Dimensions: [['Pipeline', 'Stage', 'Reason']],
              Metrics: [{ Name: 'Deferred', Unit: 'Count' }],
            },
          ],
        },
        ...base,
        Reason: reason,
        Deferred: count,
      }),
    );
  }
  const gauges: { Name: string; Unit: string }[] = [];
  const values: Record<string, number> = {};
  if (metrics.breakerOpen !== undefined) {
    gauges.push({ Name: 'BreakerOpen', Unit: 'Count' });
    values.BreakerOpen = metrics.breakerOpen;
  }
  if (metrics.limiterWaits !== undefined && metrics.limiterWaits > 0) {
    gauges.push({ Name: 'LimiterWait', Unit: 'Count' });
    values.LimiterWait = metrics.limiterWaits;
  }
  if (gauges.length > 0) {
    documents.push(
      JSON.stringify({
        _aws: {
          Timestamp: now,
          CloudWatchMetrics: [{ Namespace: 'sluice', Dimensions: [['Pipeline', 'Stage']], Metrics: gauges }],
        },
        ...base,
        ...values,
      }),
    );
  }
  return documents;
}
