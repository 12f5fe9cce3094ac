import { CfnOutput, Stack } from 'aws-cdk-lib';
import type * as apigateway from 'aws-cdk-lib/aws-apigateway';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { AlarmTopic } from './alarm-topic.ts';
import { InvalidPropsError } from './errors.ts';
import { IngressAlarms, StageAlarms, type StageAlarmThresholds } from './pipeline-monitoring-alarms.ts';
import { PipelineDashboard } from './pipeline-monitoring-dashboard.ts';
import { IngressMetrics } from './pipeline-monitoring-ingress.ts';
import { type MonitoredStage, StageMetrics } from './pipeline-monitoring-metrics.ts';
import { checkRange } from './validate-range.ts';

/** Props of {@link PipelineMonitoring}. */
export interface PipelineMonitoringProps extends StageAlarmThresholds {
  readonly pipelineName: string;
  /** The stages, in pipeline order. */
  readonly stages: readonly MonitoredStage[];
  /**
   * The ingress API and its access log group: adds the 429 / 503 rate alarms and the ingress row.
   * @default - no ingress monitoring
   */
  readonly ingress?: { readonly api: apigateway.RestApi; readonly accessLogGroup: logs.ILogGroup };
  /**
   * Alarms that exist already (e.g. each stage's `QueueAlarms`) to include in the pipeline's composite alarm.
   * @default - none
   */
  readonly existingAlarms?: readonly cloudwatch.IAlarm[];
  /**
   * Where the composite alarm notifies (alarm and OK).
   * @default - a new KMS-encrypted, TLS-only topic
   */
  readonly topic?: sns.ITopic;
  /**
   * The job status table, written to the stack outputs for `sluice jobs`.
   * @default - none
   */
  readonly jobTable?: dynamodb.ITable;
  /**
   * Write the stack outputs `sluice status --stack` reads (one per stage and one for the pipeline).
   * @default true
   */
  readonly writeOutputs?: boolean;
  /** @default - `sluice-<pipelineName>` */
  readonly dashboardName?: string;
}

/** The rule of a composite alarm may name at most 100 alarms (PutCompositeAlarm). */
export const COMPOSITE_ALARM_MAX_CHILDREN = 100;

/** Description prefix of the stack outputs sluice writes; `sluice status --stack` reads outputs carrying it. */
export const SLUICE_OUTPUT_DESCRIPTION = 'sluice:';

/**
 * Monitoring of a whole pipeline: per stage, alarms for time to drain over the age SLO, stalls, dead-letter age,
 * consumer errors and throttles and the circuit breaker; the ingress's 429 and 503 rates; one composite alarm per
 * pipeline (the only one that notifies) and a dashboard with a row per stage. Part of `Pipeline`; usable alone.
 *
 * Composite alarms: https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/Create_Composite_Alarm.html —
 * a rule may name at most 100 alarms (https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutCompositeAlarm.html),
 * so each stage gets a composite of its own alarms and the pipeline's composite names the stages' composites.
 *
 * @example
 * new PipelineMonitoring(this, 'Monitoring', {
 *   pipelineName: 'uploads',
 *   stages: [{ name: 'scan', queue, function: consumer.function, ageSlo: Duration.minutes(2) }],
 *   topic: pagerTopic,
 * });
 */
export class PipelineMonitoring extends Construct {
  readonly topic: sns.ITopic;
  readonly stageMetrics: readonly StageMetrics[];
  readonly stageAlarms: ReadonlyMap<string, StageAlarms>;
  readonly ingressMetrics?: IngressMetrics;
  readonly ingressAlarms?: IngressAlarms;
  /** The pipeline's composite alarm: ALARM when any alarm of any stage or of the ingress is. */
  readonly compositeAlarm: cloudwatch.CompositeAlarm;
  readonly dashboard: PipelineDashboard;

  constructor(scope: Construct, id: string, props: PipelineMonitoringProps) {
    super(scope, id);
    const problems: string[] = [];
    if (props.stages.length === 0) problems.push('stages must name at least one stage, but none was provided');
    checkRange(problems, 'evaluationPeriods', props.evaluationPeriods, { min: 1, max: 1440 });
    checkRange(problems, 'datapointsToAlarm', props.datapointsToAlarm, { min: 1, max: props.evaluationPeriods ?? 5 });
    checkRange(problems, 'stallPeriods', props.stallPeriods, { min: 1, max: 1440 });
    const extraChildren = (props.existingAlarms?.length ?? 0) + (props.ingress ? 2 : 0);
    if (props.stages.length + extraChildren > COMPOSITE_ALARM_MAX_CHILDREN) {
      problems.push(
        `stages plus existingAlarms plus the 2 ingress alarms must be at most ${COMPOSITE_ALARM_MAX_CHILDREN} (a composite alarm's rule names at most 100 alarms), but ${props.stages.length + extraChildren} were provided`,
      );
    }
    if (problems.length > 0) throw new InvalidPropsError('PipelineMonitoring', this.node.path, problems);

    this.topic = props.topic ?? new AlarmTopic(this, 'Topic', { displayName: `sluice ${props.pipelineName}` }).topic;
    this.stageMetrics = props.stages.map((stage) => new StageMetrics(props.pipelineName, stage));
    const stageAlarms = new Map<string, StageAlarms>();
    const children: cloudwatch.IAlarm[] = [...(props.existingAlarms ?? [])];
    for (const metrics of this.stageMetrics) {
      const stage = metrics.stage;
      const alarmScope = stage.alarmScope ?? this;
      const alarms = new StageAlarms(alarmScope, `Monitoring-${stage.name}`, { ...props, metrics });
      stageAlarms.set(stage.name, alarms);
      children.push(
        new cloudwatch.CompositeAlarm(alarms, 'Composite', {
          alarmDescription: `${props.pipelineName}/${stage.name}: one of the stage's monitoring alarms is in ALARM.`,
          alarmRule: cloudwatch.AlarmRule.anyOf(...(stage.existingAlarms ?? []), ...alarms.alarms),
        }),
      );
    }
    this.stageAlarms = stageAlarms;
    if (props.ingress) {
      this.ingressMetrics = new IngressMetrics(this, 'IngressMetrics', {
        pipelineName: props.pipelineName,
        ...props.ingress,
      });
      this.ingressAlarms = new IngressAlarms(this, 'IngressAlarms', {
        metrics: this.ingressMetrics,
        pipelineName: props.pipelineName,
        ...(props.evaluationPeriods === undefined ? {} : { evaluationPeriods: props.evaluationPeriods }),
        ...(props.datapointsToAlarm === undefined ? {} : { datapointsToAlarm: props.datapointsToAlarm }),
      });
      children.push(...this.ingressAlarms.alarms);
    }
    this.compositeAlarm = new cloudwatch.CompositeAlarm(this, 'Composite', {
      alarmDescription: `sluice pipeline ${props.pipelineName}: a stage is falling behind, stalled, failing or dead-lettering, or the ingress is rejecting producers. Open the dashboard sluice-${props.pipelineName} or run sluice status.`,
      alarmRule: cloudwatch.AlarmRule.anyOf(...children),
    });
    const action = new actions.SnsAction(this.topic);
    this.compositeAlarm.addAlarmAction(action);
    this.compositeAlarm.addOkAction(action);
    this.dashboard = new PipelineDashboard(this, 'Dashboard', {
      pipelineName: props.pipelineName,
      stages: this.stageMetrics,
      ...(this.ingressMetrics ? { ingress: this.ingressMetrics } : {}),
      alarms: [this.compositeAlarm],
      ...(props.dashboardName === undefined ? {} : { dashboardName: props.dashboardName }),
    });
    if (props.writeOutputs ?? true) this.writeOutputs(props);
  }

  /** One output per stage and one for the pipeline, each a JSON object `sluice status --stack` reads. */
  private writeOutputs(props: PipelineMonitoringProps): void {
    const stack = Stack.of(this);
    for (const stage of props.stages) {
      new CfnOutput(this, `Stage-${stage.name}`, {
        description: `${SLUICE_OUTPUT_DESCRIPTION}stage ${props.pipelineName}/${stage.name}`,
        value: stack.toJsonString({
          kind: 'stage',
          pipeline: props.pipelineName,
          stage: stage.name,
          queueUrl: stage.queue.queue.queueUrl,
          queueArn: stage.queue.queue.queueArn,
          queueName: stage.queue.queue.queueName,
          deadLetterQueueUrl: stage.queue.deadLetterQueue.queueUrl,
          deadLetterQueueArn: stage.queue.deadLetterQueue.queueArn,
          deadLetterQueueName: stage.queue.deadLetterQueue.queueName,
          functionName: stage.function.functionName,
          ageSloSeconds: stage.ageSlo.toSeconds(),
        }),
      });
    }
    new CfnOutput(this, 'Pipeline', {
      description: `${SLUICE_OUTPUT_DESCRIPTION}pipeline ${props.pipelineName}`,
      value: stack.toJsonString({
        kind: 'pipeline',
        pipeline: props.pipelineName,
        stages: props.stages.map((stage) => stage.name),
        ...(props.jobTable ? { jobTable: props.jobTable.tableName } : {}),
        dashboard: this.dashboard.dashboard.dashboardName,
        compositeAlarm: this.compositeAlarm.alarmName,
      }),
    });
  }
}
