import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type { Construct } from 'constructs';
import { METRIC_DIMENSIONS, METRICS_NAMESPACE, RUNTIME_METRICS, type RuntimeMetricName } from '../definition/index.ts';
import type { DurableQueue } from './durable-queue.ts';

/**
 * The metrics of one monitored stage, built once and shared by the alarms and the dashboard (the metric factory of
 * cdklabs/cdk-monitoring-constructs: alarms and widgets never build their own metrics, so they cannot disagree).
 *
 * SQS metrics: https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-available-cloudwatch-metrics.html
 * — CloudWatch receives them only for active queues (a queue with no messages and no API calls for about six hours
 * reports nothing), so every alarm on them treats missing data as not breaching.
 * Lambda metrics: https://docs.aws.amazon.com/lambda/latest/dg/monitoring-metrics-types.html
 * Metric math: https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/using-metric-math.html
 */

/** One stage for {@link PipelineMonitoring}: its queue (with DLQ), its consumer function and its age SLO. */
export interface MonitoredStage {
  /** The stage's name, as in the pipeline definition. */
  readonly name: string;
  readonly queue: DurableQueue;
  /** The stage's consumer function. */
  readonly function: lambda.IFunction;
  /** The age a waiting message may reach. */
  readonly ageSlo: Duration;
  /**
   * Where this stage's alarms are created (a stage in a nested stack keeps its alarms in that stack, so the parent
   * stays under CloudFormation's 500 resources).
   * @default - the PipelineMonitoring construct
   */
  readonly alarmScope?: Construct;
  /**
   * Alarms the stage has already (e.g. its `QueueAlarms`), included in the stage's composite alarm.
   * @default - none
   */
  readonly existingAlarms?: readonly cloudwatch.IAlarm[];
}

/** Smallest net drain rate (messages per second) the time-to-drain expression divides by: never divide by zero. */
export const DRAIN_RATE_EPSILON = 0.001;

/** The metrics of one stage. */
export class StageMetrics {
  readonly pipelineName: string;
  readonly stage: MonitoredStage;
  readonly period: Duration;
  private readonly dimensions: Record<string, string>;

  constructor(pipelineName: string, stage: MonitoredStage, period: Duration = Duration.minutes(1)) {
    this.pipelineName = pipelineName;
    this.stage = stage;
    this.period = period;
    this.dimensions = { [METRIC_DIMENSIONS.pipeline]: pipelineName, [METRIC_DIMENSIONS.stage]: stage.name };
  }

  /** `ApproximateNumberOfMessagesVisible`, Maximum. */
  visible(): cloudwatch.Metric {
    return this.stage.queue.metricApproximateNumberOfMessagesVisible({ period: this.period, label: 'waiting' });
  }

  /** `ApproximateNumberOfMessagesNotVisible`, Maximum. */
  inFlight(): cloudwatch.Metric {
    return this.stage.queue.metricApproximateNumberOfMessagesNotVisible({ period: this.period, label: 'in flight' });
  }

  /** `ApproximateAgeOfOldestMessage`, Maximum, seconds. */
  oldestAge(): cloudwatch.Metric {
    return this.stage.queue.metricApproximateAgeOfOldestMessage({ period: this.period, label: 'oldest age (s)' });
  }

  /** `NumberOfMessagesSent`, Sum: what came in. */
  sent(): cloudwatch.Metric {
    return this.stage.queue.queue.metricNumberOfMessagesSent({ period: this.period, statistic: 'Sum', label: 'in' });
  }

  /** `NumberOfMessagesDeleted`, Sum: what the consumer finished. */
  deleted(): cloudwatch.Metric {
    return this.stage.queue.queue.metricNumberOfMessagesDeleted({
      period: this.period,
      statistic: 'Sum',
      label: 'out',
    });
  }

  /** The dead-letter queue's `ApproximateNumberOfMessagesVisible`, Maximum. */
  deadLetterVisible(): cloudwatch.Metric {
    return this.stage.queue.metricDeadLetterMessagesVisible({ period: this.period, label: 'dead-lettered' });
  }

  /** The dead-letter queue's `ApproximateAgeOfOldestMessage`, Maximum, seconds. */
  deadLetterAge(): cloudwatch.Metric {
    return this.stage.queue.deadLetterQueue.metricApproximateAgeOfOldestMessage({
      period: this.period,
      statistic: 'Maximum',
      label: 'oldest dead letter (s)',
    });
  }

  /** Lambda `Errors`, Sum: invocations that failed as a whole (with partial batch responses, a crash or timeout). */
  errors(): cloudwatch.Metric {
    return this.stage.function.metricErrors({ period: this.period, statistic: 'Sum', label: 'errors' });
  }

  /** Lambda `Throttles`, Sum. */
  throttles(): cloudwatch.Metric {
    return this.stage.function.metricThrottles({ period: this.period, statistic: 'Sum', label: 'throttles' });
  }

  /** Lambda `ConcurrentExecutions` of the consumer function, Maximum. */
  concurrency(): cloudwatch.Metric {
    return this.stage.function.metric('ConcurrentExecutions', {
      period: this.period,
      statistic: 'Maximum',
      label: 'concurrency',
    });
  }

  /** A runtime EMF metric of this stage (namespace `sluice`, dimensions Pipeline and Stage). */
  runtime(metricName: RuntimeMetricName, statistic = 'Sum', label: string = metricName): cloudwatch.Metric {
    return new cloudwatch.Metric({
      namespace: METRICS_NAMESPACE,
      metricName,
      dimensionsMap: this.dimensions,
      statistic,
      period: this.period,
      label,
    });
  }

  /**
   * Records deferred for pressure, one series per reason: `Deferred` carries a `Reason` dimension, so it is found with
   * a SEARCH expression (dashboards only; alarms cannot use SEARCH:
   * https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/using-search-expressions.html).
   */
  deferredByReason(): cloudwatch.MathExpression {
    const { pipeline, stage, reason } = METRIC_DIMENSIONS;
    return new cloudwatch.MathExpression({
      expression: `SEARCH('{${METRICS_NAMESPACE},${pipeline},${reason},${stage}} MetricName="${RUNTIME_METRICS.deferred}" ${pipeline}="${this.pipelineName}" ${stage}="${this.stage.name}"', 'Sum', ${this.period.toSeconds()})`,
      usingMetrics: {},
      period: this.period,
      label: 'deferred',
    });
  }

  /**
   * Seconds to drain the waiting messages at the current net drain rate: visible ÷ max(out − in, ε) per second.
   * A backlog that the consumer clears within the age SLO at its current out rate counts as 0 (a steady stage whose
   * in and out are equal would otherwise divide a small backlog by ε and page someone).
   */
  timeToDrainSeconds(ageSlo: Duration): cloudwatch.MathExpression {
    const seconds = this.period.toSeconds();
    const slo = ageSlo.toSeconds();
    return new cloudwatch.MathExpression({
      expression: `IF(visible <= (FILL(deleted, 0) / ${seconds}) * ${slo}, 0, IF((FILL(deleted, 0) - FILL(sent, 0)) / ${seconds} > ${DRAIN_RATE_EPSILON}, visible / ((FILL(deleted, 0) - FILL(sent, 0)) / ${seconds}), visible / ${DRAIN_RATE_EPSILON}))`,
      usingMetrics: { visible: this.visible(), deleted: this.deleted(), sent: this.sent() },
      period: this.period,
      label: 'time to drain (s)',
    });
  }

  /** 1 in a period where messages wait and none is deleted, else 0 (missing when the queue reports nothing). */
  stalled(): cloudwatch.MathExpression {
    return new cloudwatch.MathExpression({
      expression: 'IF(visible > 0 AND FILL(deleted, 0) == 0, 1, 0)',
      usingMetrics: { visible: this.visible(), deleted: this.deleted() },
      period: this.period,
      label: 'stalled',
    });
  }

  /** Percent of the records the runtime ran that failed (retried or dead-lettered), from its EMF counts. */
  downstreamErrorRate(): cloudwatch.MathExpression {
    return new cloudwatch.MathExpression({
      expression: 'IF(records > 0, 100 * (FILL(retried, 0) + FILL(dead, 0)) / records, 0)',
      usingMetrics: {
        records: this.runtime(RUNTIME_METRICS.records),
        retried: this.runtime(RUNTIME_METRICS.retried),
        dead: this.runtime(RUNTIME_METRICS.deadLettered),
      },
      period: this.period,
      label: 'error rate (%)',
    });
  }
}
