import { Duration } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import * as sns from 'aws-cdk-lib/aws-sns';
import { describe, expect, it } from 'vitest';
import { DurableQueue } from '../../lib/constructs/durable-queue.ts';
import { QueueAlarms } from '../../lib/constructs/queue-alarms.ts';
import { templateOf, testStack } from '../helpers/stacks.ts';

describe('QueueAlarms', () => {
  // GIVEN alarms with an age SLO and a depth limit
  const stack = testStack();
  const queue = new DurableQueue(stack, 'Jobs');
  new QueueAlarms(stack, 'Alarms', { queue, ageSlo: Duration.minutes(2), depthLimit: 1_000 });
  const template = templateOf(stack);

  it('alarms when the oldest message is older than the age SLO', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'ApproximateAgeOfOldestMessage',
      Threshold: 120,
      ComparisonOperator: 'GreaterThanThreshold',
      Statistic: 'Maximum',
    });
  });

  it('alarms when the depth is over the limit', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Threshold: 1_000,
      EvaluationPeriods: 5,
      DatapointsToAlarm: 3,
    });
  });

  it('alarms on the first dead-lettered message', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Threshold: 0,
      EvaluationPeriods: 1,
    });
  });

  it('never breaches on missing data, so idle queues do not flap', () => {
    const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm'));
    expect(alarms).toHaveLength(3);
    for (const alarm of alarms) {
      expect(alarm.Properties.TreatMissingData).toBe('notBreaching');
    }
  });

  it('notifies an encrypted TLS-only topic it creates, on alarm and on OK', () => {
    template.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: Match.anyValue() });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmActions: [Match.anyValue()],
      OKActions: [Match.anyValue()],
    });
    template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
  });

  it('uses a topic passed in instead of creating one', () => {
    const other = testStack();
    const topic = new sns.Topic(other, 'Pager');
    new QueueAlarms(other, 'Alarms', { queue: new DurableQueue(other, 'Jobs'), topic });
    templateOf(other).resourceCountIs('AWS::SNS::Topic', 1);
    templateOf(other).resourceCountIs('AWS::KMS::Key', 0);
  });

  it('fails if the age SLO is under a second', () => {
    const other = testStack();
    expect(
      () => new QueueAlarms(other, 'A', { queue: new DurableQueue(other, 'Q'), ageSlo: Duration.millis(500) }),
    ).toThrow(/ageSlo must be an integer between 1 and 1209600 seconds, but 0.5 was provided/);
  });

  it('fails if more datapoints must breach than are evaluated', () => {
    const other = testStack();
    expect(
      () =>
        new QueueAlarms(other, 'A', {
          queue: new DurableQueue(other, 'Q'),
          evaluationPeriods: 2,
          datapointsToAlarm: 3,
        }),
    ).toThrow(/datapointsToAlarm must be an integer between 1 and 2, but 3 was provided/);
  });
});
