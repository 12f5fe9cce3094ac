import { METRIC_DIMENSIONS, METRICS_NAMESPACE, RUNTIME_METRICS } from '../../lib/definition/metrics.ts';
import type { DeferralReason } from './errors.ts';

/** What pressure did during one batch. */
export interface PressureMetrics {
  /** Records deferred, by reason. */
  readonly deferred?: Partial<Record<DeferralReason, number>>;
  /** Records the stage's circuit breaker held back (open, or out of half-open probes). */
  readonly breakerOpen?: number;
  /** Limiter takes that had to wait for tokens. */
  readonly limiterWaits?: number;
}

/**
 * CloudWatch embedded metric format documents for pressure, with the names of `lib/definition/metrics.ts` (what
 * `PipelineMonitoring` reads): `Deferred` with dimensions `Pipeline`, `Stage` and `Reason` (one document per reason: a
 * document carries one value per dimension), and the counts `BreakerOpen` (records held back by the breaker) and
 * `LimiterWait` (takes that waited) with `Pipeline` and `Stage`
 * (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html).
 * Only written for batches where pressure did something.
 */
export function pressureMetricDocuments(
  metrics: PressureMetrics,
  dimensions: { readonly pipeline: string; readonly stage: string },
  now = Date.now(),
): string[] {
  const documents: string[] = [];
  const { pipeline, stage, reason: reasonDimension } = METRIC_DIMENSIONS;
  const base = { [pipeline]: dimensions.pipeline, [stage]: dimensions.stage };
  for (const [reason, count] of Object.entries(metrics.deferred ?? {})) {
    documents.push(
      JSON.stringify({
        _aws: {
          Timestamp: now,
          CloudWatchMetrics: [
            {
              Namespace: METRICS_NAMESPACE,
              Dimensions: [[pipeline, stage, reasonDimension]],
              Metrics: [{ Name: RUNTIME_METRICS.deferred, Unit: 'Count' }],
            },
          ],
        },
        ...base,
        [reasonDimension]: reason,
        [RUNTIME_METRICS.deferred]: count,
      }),
    );
  }
  const counts: { Name: string; Unit: string }[] = [];
  const values: Record<string, number> = {};
  for (const [name, value] of [
    [RUNTIME_METRICS.breakerOpen, metrics.breakerOpen],
    [RUNTIME_METRICS.limiterWait, metrics.limiterWaits],
  ] as const) {
    if (value !== undefined && value > 0) {
      counts.push({ Name: name, Unit: 'Count' });
      values[name] = value;
    }
  }
  if (counts.length > 0) {
    documents.push(
      JSON.stringify({
        _aws: {
          Timestamp: now,
          CloudWatchMetrics: [{ Namespace: METRICS_NAMESPACE, Dimensions: [[pipeline, stage]], Metrics: counts }],
        },
        ...base,
        ...values,
      }),
    );
  }
  return documents;
}
