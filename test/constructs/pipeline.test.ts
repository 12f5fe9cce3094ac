import { readdirSync, readFileSync } from 'node:fs';
import { App, Stack, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { AwsSolutionsChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import { Pipeline } from '../../lib/constructs/pipeline.ts';
import { definePipeline, type StageInput } from '../../lib/definition/index.ts';
import { ExampleStack } from '../../lib/example/example-stack.ts';
import { ECHO_ENTRY } from '../helpers/stacks.ts';

const NO_BUNDLING = { 'aws:cdk:bundling-stacks': [] };

function stages(count: number): StageInput[] {
  return Array.from({ length: count }, (_, index) => ({
    name: `s${index}`,
    ...(index + 1 < count ? { next: `s${index + 1}` } : {}),
    consumer: { entry: ECHO_ENTRY },
  }));
}

describe('the example stack', () => {
  // GIVEN the example app's stack
  const app = new App({ context: NO_BUNDLING });
  const template = Template.fromStack(new ExampleStack(app, 'Example'));
  const resources = (type: string) => Object.values(template.findResources(type));

  it('redrives every queue to a dead-letter queue after at least 3 receives', () => {
    // scan, extract, chunk, embed, index, and the ingress's low lane and overflow queues
    const withRedrive = resources('AWS::SQS::Queue').filter((queue) => queue.Properties.RedrivePolicy);
    expect(withRedrive).toHaveLength(7);
    for (const queue of withRedrive) {
      expect(queue.Properties.RedrivePolicy.maxReceiveCount).toBeGreaterThanOrEqual(3);
    }
  });

  it('keeps dead letters 14 days', () => {
    const deadLetterQueues = resources('AWS::SQS::Queue').filter((queue) => queue.Properties.RedriveAllowPolicy);
    expect(deadLetterQueues).toHaveLength(7);
    for (const queue of deadLetterQueues) {
      expect(queue.Properties.MessageRetentionPeriod).toBe(14 * 86_400);
    }
  });

  it('encrypts every queue at rest explicitly and denies non-TLS requests to each', () => {
    const queues = resources('AWS::SQS::Queue');
    expect(queues).toHaveLength(14);
    for (const queue of queues) {
      expect(queue.Properties.SqsManagedSseEnabled).toBe(true);
    }
    const tlsOnly = resources('AWS::SQS::QueuePolicy').filter((policy) =>
      JSON.stringify(policy.Properties.PolicyDocument).includes('"aws:SecureTransport":"false"'),
    );
    expect(tlsOnly).toHaveLength(14);
  });

  it('gives every mapping partial batch responses, a batching window and a maximum concurrency covered by reserved concurrency', () => {
    const functions = template.findResources('AWS::Lambda::Function');
    // scan (both priority lanes), extract, chunk, embed and index
    const mappings = resources('AWS::Lambda::EventSourceMapping');
    expect(mappings).toHaveLength(6);
    for (const mapping of mappings) {
      expect(mapping.Properties.FunctionResponseTypes).toEqual(['ReportBatchItemFailures']);
      expect(mapping.Properties.MaximumBatchingWindowInSeconds).toBeGreaterThanOrEqual(1);
      const maximum = mapping.Properties.ScalingConfig.MaximumConcurrency;
      expect(maximum).toBeGreaterThanOrEqual(2);
      const fn = functions[mapping.Properties.FunctionName.Ref];
      expect(fn?.Properties.ReservedConcurrentExecutions).toBeGreaterThanOrEqual(maximum);
      expect(fn?.Properties.Runtime).toBe('nodejs24.x');
    }
  });

  it('sets each queue visibility timeout to at least 6 × its function timeout + window', () => {
    const queues = template.findResources('AWS::SQS::Queue');
    const functions = template.findResources('AWS::Lambda::Function');
    for (const mapping of resources('AWS::Lambda::EventSourceMapping')) {
      const queue = queues[mapping.Properties.EventSourceArn['Fn::GetAtt'][0]];
      const fn = functions[mapping.Properties.FunctionName.Ref];
      const required = 6 * fn?.Properties.Timeout + mapping.Properties.MaximumBatchingWindowInSeconds;
      expect(queue?.Properties.VisibilityTimeout).toBeGreaterThanOrEqual(required);
    }
  });

  it('alarms on the age of the oldest message and on dead-lettered messages', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'ApproximateAgeOfOldestMessage',
      Threshold: 20,
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'ApproximateAgeOfOldestMessage',
      Threshold: 30,
    });
    const deadLetterAlarms = resources('AWS::CloudWatch::Alarm').filter(
      (alarm) =>
        alarm.Properties.MetricName === 'ApproximateNumberOfMessagesVisible' && alarm.Properties.Threshold === 0,
    );
    expect(deadLetterAlarms).toHaveLength(7);
  });

  it('creates the job and idempotency tables with TTL and point-in-time recovery', () => {
    // jobs, idempotency and the control table
    template.resourceCountIs('AWS::DynamoDB::Table', 3);
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      KeySchema: [{ AttributeName: 'jobId', KeyType: 'HASH' }],
      TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      SSESpecification: Match.anyValue(),
    });
  });

  it('has five stages, each with a queue, a dead-letter queue, a consumer and alarms', () => {
    for (const stage of ['scan', 'extract', 'chunk', 'embed', 'index']) {
      template.hasResourceProperties('AWS::Lambda::Function', {
        Environment: { Variables: Match.objectLike({ SLUICE_STAGE: stage, SLUICE_DLQ_URL: Match.anyValue() }) },
      });
      const ids = Object.keys(template.findResources('AWS::CloudWatch::Alarm'));
      expect(ids.some((id) => id.startsWith(`Pipeline${stage}Alarms`))).toBe(true);
      const queues = Object.keys(template.findResources('AWS::SQS::Queue'));
      expect(queues.filter((id) => id.startsWith(`Pipeline${stage}Queue`)).length).toBeGreaterThanOrEqual(2);
    }
  });

  it('writes the index into its own table, granted to the index consumer only', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({ SLUICE_STAGE: 'index', EXAMPLE_INDEX_TABLE: Match.anyValue() }),
      },
    });
    template.hasResourceProperties('AWS::DynamoDB::GlobalTable', {
      KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
      BillingMode: 'PAY_PER_REQUEST',
    });
  });

  it('wires each stage to the next through SLUICE_NEXT_QUEUE_URL and names the tables for the consumers', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          SLUICE_STAGE: 'scan',
          SLUICE_NEXT_QUEUE_URL: Match.anyValue(),
          SLUICE_JOB_TABLE: Match.anyValue(),
        }),
      },
    });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          SLUICE_STAGE: 'index',
          SLUICE_NEXT_QUEUE_URL: Match.absent(),
          SLUICE_IDEMPOTENCY_TABLE: Match.anyValue(),
        }),
      },
    });
  });
});

describe('cdk-nag', () => {
  it('finds no unacknowledged AwsSolutions error in the example stack', () => {
    // GIVEN the example stack under AwsSolutionsChecks
    const app = new App({ context: NO_BUNDLING });
    new ExampleStack(app, 'Example');
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
    // WHEN / THEN synthesis passes validation
    expect(() => app.synth()).not.toThrow();
  });

  it('fails the same check on a bare queue, so the check above can fail', () => {
    const app = new App({ context: NO_BUNDLING });
    new sqs.Queue(new Stack(app, 'Bare'), 'Queue');
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
    expect(() => app.synth()).toThrow(/AwsSolutions-SQS3|not used as a dead-letter queue/);
  });
});

describe('Pipeline', () => {
  it('puts each stage of a 50-stage pipeline in a nested stack, every template under 500 resources', () => {
    // GIVEN
    const app = new App({ context: NO_BUNDLING });
    const stack = new Stack(app, 'Big');
    // WHEN
    const pipeline = new Pipeline(stack, 'P', { definition: definePipeline({ name: 'big', stages: stages(50) }) });
    // THEN
    const assembly = app.synth();
    expect(pipeline.stages).toHaveLength(50);
    const templates = [...assembly.stacks.map((artifact) => artifact.template), ...nestedTemplates(assembly.directory)];
    expect(templates.length).toBeGreaterThan(50);
    for (const template of templates) {
      expect(Object.keys(template.Resources ?? {}).length).toBeLessThanOrEqual(500);
    }
  });

  it('keeps a small pipeline in one stack', () => {
    const app = new App({ context: NO_BUNDLING });
    const stack = new Stack(app, 'Small');
    new Pipeline(stack, 'P', { definition: definePipeline({ name: 'small', stages: stages(3) }) });
    Template.fromStack(stack).resourceCountIs('AWS::CloudFormation::Stack', 0);
    // 3 consumers and the valve (each stage but the last has a next stage to watch)
    Template.fromStack(stack).resourceCountIs('AWS::Lambda::Function', 4);
  });

  it('fails if asked for a stage it does not have', () => {
    const app = new App({ context: NO_BUNDLING });
    const pipeline = new Pipeline(new Stack(app, 'S'), 'P', {
      definition: definePipeline({ name: 'small', stages: stages(2) }),
    });
    expect(() => pipeline.stage('nope')).toThrow(/has no stage 'nope'; its stages are: s0, s1/);
  });
});

function nestedTemplates(directory: string) {
  return readdirSync(directory)
    .filter((file) => file.endsWith('.nested.template.json'))
    .map((file) => JSON.parse(readFileSync(`${directory}/${file}`, 'utf8')));
}
