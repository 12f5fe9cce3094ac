import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { AGE_SLO_SECONDS, DEFAULTS } from '../definition/index.ts';
import { AlarmTopic } from './alarm-topic.ts';
import type { DurableQueue } from './durable-queue.ts';
import { InvalidPropsError } from './errors.ts';
import { checkRange, knownSeconds } from './validate-range.ts';

/** Props of {@link QueueAlarms}. */
export interface QueueAlarmsProps {
  /** The queue (and its dead-letter queue) to watch. */
  readonly queue: DurableQueue;
  /**
   * The age a waiting message may reach: the `ApproximateAgeOfOldestMessage` alarm's threshold.
   * @default Duration.minutes(5)
   */
  readonly ageSlo?: Duration;
  /**
   * Depth above which the queue is overloaded: the `ApproximateNumberOfMessagesVisible` alarm's threshold.
   * @default - no depth alarm
   */
  readonly depthLimit?: number;
  /**
   * Where alarm and OK notifications go.
   * @default - a new KMS-encrypted, TLS-only topic
   */
  readonly topic?: sns.ITopic;
  /**
   * Consecutive one-minute periods the age and depth alarms look at; `datapointsToAlarm` of them must breach, so a
   * single spike does not page anyone.
   * @default 5 periods, 3 of them breaching
   */
  readonly evaluationPeriods?: number;
  /** @default 3 */
  readonly datapointsToAlarm?: number;
}

/**
 * Alarms for one queue: the oldest message older than the age SLO, depth over its limit, and any message in the
 * dead-letter queue. Missing data (an idle queue reports nothing) never breaches, so idle queues do not flap.
 *
 * @example
 * new QueueAlarms(this, 'UploadAlarms', { queue, ageSlo: Duration.minutes(2), depthLimit: 5_000, topic: pagerTopic });
 */
export class QueueAlarms extends Construct {
  readonly topic: sns.ITopic;
  readonly ageOfOldestMessageAlarm: cloudwatch.Alarm;
  readonly depthAlarm?: cloudwatch.Alarm;
  readonly deadLetterQueueAlarm: cloudwatch.Alarm;

  constructor(scope: Construct, id: string, props: QueueAlarmsProps) {
    super(scope, id);
    const evaluationPeriods = props.evaluationPeriods ?? 5;
    const datapointsToAlarm = props.datapointsToAlarm ?? 3;
    const ageSlo = props.ageSlo ?? Duration.seconds(DEFAULTS.ageSloSeconds);
    const problems: string[] = [];
    checkRange(problems, 'evaluationPeriods', evaluationPeriods, { min: 1, max: 1440 });
    checkRange(problems, 'datapointsToAlarm', datapointsToAlarm, { min: 1, max: evaluationPeriods });
    checkRange(problems, 'ageSlo', knownSeconds(ageSlo), AGE_SLO_SECONDS, ' seconds');
    checkRange(problems, 'depthLimit', props.depthLimit, { min: 1, max: Number.MAX_SAFE_INTEGER });
    if (problems.length > 0) {
      throw new InvalidPropsError('QueueAlarms', this.node.path, problems);
    }

    this.topic = props.topic ?? new AlarmTopic(this, 'Topic').topic;
    const action = new actions.SnsAction(this.topic);
    const period = Duration.minutes(1);
    const notBreaching = cloudwatch.TreatMissingData.NOT_BREACHING;

    this.ageOfOldestMessageAlarm = props.queue
      .metricApproximateAgeOfOldestMessage({ period })
      .createAlarm(this, 'AgeOfOldestMessage', {
        alarmDescription: `The oldest message in ${props.queue.node.path} is older than its age SLO (${ageSlo.toSeconds()} s): consumers are falling behind.`,
        threshold: ageSlo.toSeconds(),
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods,
        datapointsToAlarm,
        treatMissingData: notBreaching,
      });
    if (props.depthLimit !== undefined) {
      this.depthAlarm = props.queue.metricApproximateNumberOfMessagesVisible({ period }).createAlarm(this, 'Depth', {
        alarmDescription: `${props.queue.node.path} holds more than its depth limit (${props.depthLimit} messages).`,
        threshold: props.depthLimit,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods,
        datapointsToAlarm,
        treatMissingData: notBreaching,
      });
    }
    // One parked message is already worth a look: it is a job that did not complete.
    this.deadLetterQueueAlarm = props.queue
      .metricDeadLetterMessagesVisible({ period })
      .createAlarm(this, 'DeadLetterMessages', {
        alarmDescription: `${props.queue.node.path} has messages in its dead-letter queue; each carries the reason it failed.`,
        threshold: 0,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        datapointsToAlarm: 1,
        treatMissingData: notBreaching,
      });
    for (const alarm of [this.ageOfOldestMessageAlarm, this.depthAlarm, this.deadLetterQueueAlarm]) {
      alarm?.addAlarmAction(action);
      alarm?.addOkAction(action);
    }
  }
}
