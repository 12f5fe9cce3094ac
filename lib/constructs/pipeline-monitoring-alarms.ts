import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { Construct } from 'constructs';
import { RUNTIME_METRICS } from '../definition/index.ts';
import type { IngressMetrics } from './pipeline-monitoring-ingress.ts';
import type { StageMetrics } from './pipeline-monitoring-metrics.ts';

/**
 * The alarms of a pipeline, apart from its dashboard (cdklabs/cdk-monitoring-constructs keeps alarm factories and
 * widgets apart the same way). Every alarm treats missing data as not breaching: SQS reports nothing for an inactive
 * queue, the runtime writes no EMF document when no batch ran, and a log metric filter publishes nothing without log
 * lines — an idle pipeline must read OK, never flap
 * (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/AlarmThatSendsEmail.html#alarms-and-missing-data).
 * None of them notifies on its own; the pipeline's composite alarm does.
 */

/** Thresholds of the alarms {@link StageAlarms} creates; every field has a default. */
export interface StageAlarmThresholds {
  /**
   * Consecutive periods the stall alarm looks at: messages waiting and none deleted in every one of them.
   * @default 5
   */
  readonly stallPeriods?: number;
  /**
   * Age of the oldest dead-lettered message that alarms (the DLQ keeps messages 14 days; redrive or purge well before).
   * @default Duration.days(3)
   */
  readonly deadLetterAge?: Duration;
  /**
   * Periods the time-to-drain, error and throttle alarms look at; `datapointsToAlarm` of them must breach.
   * @default 5
   */
  readonly evaluationPeriods?: number;
  /** @default 3 */
  readonly datapointsToAlarm?: number;
}

/** Props of {@link StageAlarms}. */
export interface StageAlarmsProps extends StageAlarmThresholds {
  readonly metrics: StageMetrics;
}

/** The monitoring alarms of one stage (besides the age, depth and DLQ alarms `QueueAlarms` already has). */
export class StageAlarms extends Construct {
  /** Time to drain the backlog at the current net drain rate is over the age SLO. */
  readonly timeToDrainAlarm: cloudwatch.Alarm;
  /** Messages wait and none is deleted, for `stallPeriods` periods in a row. */
  readonly stallAlarm: cloudwatch.Alarm;
  /** The oldest dead-lettered message is older than `deadLetterAge`. */
  readonly deadLetterAgeAlarm: cloudwatch.Alarm;
  /** The consumer function failed as a whole (crash, timeout, out of memory). */
  readonly errorsAlarm: cloudwatch.Alarm;
  /** Lambda throttled the consumer (reserved concurrency exhausted). */
  readonly throttlesAlarm: cloudwatch.Alarm;
  /** The stage's circuit breaker held records back (the runtime's `BreakerOpen` EMF count). */
  readonly breakerOpenAlarm: cloudwatch.Alarm;

  constructor(scope: Construct, id: string, props: StageAlarmsProps) {
    super(scope, id);
    const { metrics } = props;
    const stage = metrics.stage;
    const where = `${metrics.pipelineName}/${stage.name}`;
    const evaluationPeriods = props.evaluationPeriods ?? 5;
    const datapointsToAlarm = props.datapointsToAlarm ?? 3;
    const stallPeriods = props.stallPeriods ?? 5;
    const deadLetterAge = props.deadLetterAge ?? Duration.days(3);
    const notBreaching = cloudwatch.TreatMissingData.NOT_BREACHING;
    const above = cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD;

    this.timeToDrainAlarm = metrics.timeToDrainSeconds(stage.ageSlo).createAlarm(this, 'TimeToDrain', {
      alarmDescription: `${where}: at the current net drain rate (out − in) the waiting messages take longer than the age SLO (${stage.ageSlo.toSeconds()} s) to drain; the stage is falling behind.`,
      threshold: stage.ageSlo.toSeconds(),
      comparisonOperator: above,
      evaluationPeriods,
      datapointsToAlarm,
      treatMissingData: notBreaching,
    });
    this.stallAlarm = metrics.stalled().createAlarm(this, 'Stalled', {
      alarmDescription: `${where}: messages have waited for ${stallPeriods} minutes and none was deleted; the consumer is not draining (disabled event source, failing handler, or breaker open).`,
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: stallPeriods,
      datapointsToAlarm: stallPeriods,
      treatMissingData: notBreaching,
    });
    this.deadLetterAgeAlarm = metrics.deadLetterAge().createAlarm(this, 'DeadLetterAge', {
      alarmDescription: `${where}: a dead-lettered message is older than ${deadLetterAge.toHumanString()}; redrive it (sluice dlq redrive) or purge it before the DLQ's retention deletes it.`,
      threshold: deadLetterAge.toSeconds(),
      comparisonOperator: above,
      evaluationPeriods: 1,
      datapointsToAlarm: 1,
      treatMissingData: notBreaching,
    });
    this.errorsAlarm = metrics.errors().createAlarm(this, 'Errors', {
      alarmDescription: `${where}: consumer invocations failed as a whole (crash, timeout or out of memory) — with partial batch responses a handler error is per record, so this is the function itself.`,
      threshold: 0,
      comparisonOperator: above,
      evaluationPeriods,
      datapointsToAlarm,
      treatMissingData: notBreaching,
    });
    this.throttlesAlarm = metrics.throttles().createAlarm(this, 'Throttles', {
      alarmDescription: `${where}: Lambda throttled the consumer; its reserved concurrency is below what the event source mapping asks for.`,
      threshold: 0,
      comparisonOperator: above,
      evaluationPeriods,
      datapointsToAlarm,
      treatMissingData: notBreaching,
    });
    this.breakerOpenAlarm = metrics.runtime(RUNTIME_METRICS.breakerOpen).createAlarm(this, 'BreakerOpen', {
      alarmDescription: `${where}: the stage's circuit breaker is open; its downstream is failing and records are deferred until it recovers.`,
      threshold: 0,
      comparisonOperator: above,
      evaluationPeriods: 1,
      datapointsToAlarm: 1,
      treatMissingData: notBreaching,
    });
  }

  /** Every alarm of the stage. */
  get alarms(): cloudwatch.Alarm[] {
    return [
      this.timeToDrainAlarm,
      this.stallAlarm,
      this.deadLetterAgeAlarm,
      this.errorsAlarm,
      this.throttlesAlarm,
      this.breakerOpenAlarm,
    ];
  }
}

/** Props of {@link IngressAlarms}. */
export interface IngressAlarmsProps {
  readonly metrics: IngressMetrics;
  readonly pipelineName: string;
  /**
   * Percent of requests answered 429 that alarms. Some throttling is the ingress doing its job; sustained throttling
   * means producers are above their plan.
   * @default 5
   */
  readonly throttledPercent?: number;
  /**
   * Percent of requests answered 503 that alarms (shed by the depth check, or SQS refusing).
   * @default 1
   */
  readonly unavailablePercent?: number;
  /** @default 5 */
  readonly evaluationPeriods?: number;
  /** @default 3 */
  readonly datapointsToAlarm?: number;
}

/** 429 and 503 rate alarms of the ingress. */
export class IngressAlarms extends Construct {
  readonly throttledRateAlarm: cloudwatch.Alarm;
  readonly unavailableRateAlarm: cloudwatch.Alarm;

  constructor(scope: Construct, id: string, props: IngressAlarmsProps) {
    super(scope, id);
    const throttled = props.throttledPercent ?? 5;
    const unavailable = props.unavailablePercent ?? 1;
    const common = {
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: props.evaluationPeriods ?? 5,
      datapointsToAlarm: props.datapointsToAlarm ?? 3,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    };
    this.throttledRateAlarm = props.metrics.throttledRate().createAlarm(this, 'ThrottledRate', {
      ...common,
      alarmDescription: `${props.pipelineName} ingress: more than ${throttled} % of requests were throttled (429); producers are above their usage plan or the stage throttle.`,
      threshold: throttled,
    });
    this.unavailableRateAlarm = props.metrics.unavailableRate().createAlarm(this, 'UnavailableRate', {
      ...common,
      alarmDescription: `${props.pipelineName} ingress: more than ${unavailable} % of requests were shed (503); the first stage is over its depth limit or SQS refused sends.`,
      threshold: unavailable,
    });
  }

  get alarms(): cloudwatch.Alarm[] {
    return [this.throttledRateAlarm, this.unavailableRateAlarm];
  }
}
