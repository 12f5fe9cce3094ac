/**
 * Names of the CloudWatch metrics the consumer runtime writes as EMF documents, described once: the runtime writes
 * them, `PipelineMonitoring`'s alarms and dashboard read them, and `sluice status` queries them. A rename on one side
 * without the other would leave an alarm watching a metric nobody writes.
 */

/** Namespace of every sluice EMF metric. */
export const METRICS_NAMESPACE = 'sluice';

/**
 * Dimensions of the sluice EMF metrics: every metric has `Pipeline` and `Stage`; `Deferred` also has `Reason` (one
 * series per deferral reason), so it is read with a SEARCH expression rather than as one metric.
 */
export const METRIC_DIMENSIONS = { pipeline: 'Pipeline', stage: 'Stage', reason: 'Reason' } as const;

/** Metric names the runtime writes per batch (counts) and per record (`ProcessingTime`, milliseconds). */
export const RUNTIME_METRICS = {
  records: 'Records',
  succeeded: 'Succeeded',
  retried: 'Retried',
  deadLettered: 'DeadLettered',
  skipped: 'Skipped',
  processingTime: 'ProcessingTime',
  /** Records not run because the stage's circuit breaker is open (issue 9's contract: an EMF count). */
  breakerOpen: 'BreakerOpen',
  /** Records deferred for pressure (next stage full, limiter empty, breaker open, tenant over its cap). */
  deferred: 'Deferred',
  /** Waits on a shared downstream rate limiter. */
  limiterWait: 'LimiterWait',
} as const;

/** One of {@link RUNTIME_METRICS}. */
export type RuntimeMetricName = (typeof RUNTIME_METRICS)[keyof typeof RUNTIME_METRICS];
