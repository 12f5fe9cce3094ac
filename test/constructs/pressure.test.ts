import { App, Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import { describe, expect, it } from 'vitest';
import { ControlTable } from '../../lib/constructs/control-table.ts';
import { Pipeline } from '../../lib/constructs/pipeline.ts';
import { PipelineValve } from '../../lib/constructs/pipeline-valve.ts';
import { definePipeline } from '../../lib/definition/index.ts';
import { ExampleStack } from '../../lib/example/example-stack.ts';
import { ECHO_ENTRY } from '../helpers/stacks.ts';

const NO_BUNDLING = { 'aws:cdk:bundling-stacks': [] };

describe('pressure resources of the example stack', () => {
  // GIVEN the example app's stack
  const template = Template.fromStack(new ExampleStack(new App({ context: NO_BUNDLING }), 'Example'));
  const functionWithStage = (stage: string) =>
    Object.entries(template.findResources('AWS::Lambda::Function')).find(
      ([, fn]) => fn.Properties.Environment?.Variables?.SLUICE_STAGE === stage,
    );

  it('has one control table: pk, TTL on expiresAt, on-demand, PITR, encrypted', () => {
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
      TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
      BillingMode: 'PAY_PER_REQUEST',
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      SSESpecification: { SSEEnabled: true },
    });
  });

  it('gives embed its limiter, breaker, control table and next depth limit in the environment', () => {
    const [, embed] = functionWithStage('embed') ?? [];
    const variables = embed?.Properties.Environment.Variables;
    expect(JSON.parse(variables.SLUICE_DOWNSTREAMS)).toEqual({ embeddings: { ratePerMinute: 3000, burst: 500 } });
    expect(JSON.parse(variables.SLUICE_BREAKER)).toMatchObject({ failureRatio: 0.5, openSeconds: 10 });
    expect(variables.SLUICE_CONTROL_TABLE).toEqual({ Ref: expect.stringMatching(/^PipelineControlTable/) });
    expect(variables.SLUICE_NEXT_DEPTH_LIMIT).toBe('20000');
    expect(variables.SLUICE_TENANT_KEY).toBe('tenantId');
  });

  it('gives a stage without limiter or breaker only its next depth limit', () => {
    const [, chunk] = functionWithStage('chunk') ?? [];
    const variables = chunk?.Properties.Environment.Variables;
    expect(variables.SLUICE_NEXT_DEPTH_LIMIT).toBe('1500');
    expect(variables.SLUICE_CONTROL_TABLE).toBeUndefined();
    expect(variables.SLUICE_BREAKER).toBeUndefined();
  });

  it('lets a consumer send deferred records to its own queue and read the next queue depth', () => {
    const [, chunk] = functionWithStage('chunk') ?? [];
    const roleRef = chunk?.Properties.Role['Fn::GetAtt'][0];
    const policies = Object.values(template.findResources('AWS::IAM::Policy')).filter((policy) =>
      policy.Properties.Roles.some((role: { Ref: string }) => role.Ref === roleRef),
    );
    const statements = policies.flatMap((policy) => policy.Properties.PolicyDocument.Statement);
    const resourcesOf = (action: string) =>
      JSON.stringify(
        statements
          .filter((statement) => [statement.Action].flat().includes(action))
          .map((statement) => statement.Resource),
      );
    expect(resourcesOf('sqs:SendMessage')).toMatch(/PipelinechunkQueue/);
    expect(resourcesOf('sqs:GetQueueAttributes')).toMatch(/PipelineembedQueue/);
  });

  it('runs the valve every minute for at most one run at a time', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(1 minute)',
      Description: 'Runs the sluice valve of pipeline documents',
    });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Description: 'sluice valve of pipeline documents',
      ReservedConcurrentExecutions: 1,
      Timeout: 60,
    });
  });

  it('scopes the valve to the pipeline mappings: Get/UpdateEventSourceMapping on their ARNs only', () => {
    const statements = Object.values(template.findResources('AWS::IAM::Policy')).flatMap(
      (policy) => policy.Properties.PolicyDocument.Statement,
    );
    const valve = statements.find((statement) => [statement.Action].flat().includes('lambda:UpdateEventSourceMapping'));
    expect(valve.Action).toEqual(['lambda:GetEventSourceMapping', 'lambda:UpdateEventSourceMapping']);
    // scan, extract, chunk, embed: each has a next stage (embed also a breaker); index has neither
    expect(valve.Resource).toHaveLength(4);
    expect(JSON.stringify(valve.Resource)).not.toContain('"*"');
    expect(JSON.stringify(valve.Resource)).toContain('event-source-mapping:');
  });

  it('tells the valve each watched stage: its mapping, breaker open time and next queue limit', () => {
    const valve = Object.values(template.findResources('AWS::Lambda::Function')).find(
      (fn) => fn.Properties.Description === 'sluice valve of pipeline documents',
    );
    const config = JSON.stringify(valve?.Properties.Environment.Variables.SLUICE_VALVE);
    expect(config).toContain('\\"stage\\":\\"embed\\"');
    expect(config).toContain('\\"openSeconds\\":10');
    expect(config).toContain('\\"nextDepthLimit\\":1500');
    expect(config).toMatch(/Pipelineembed.*EventSource/);
  });

  it('lets the authorizer read every stage after the ingress stage', () => {
    const authorizer = Object.values(template.findResources('AWS::Lambda::Function')).find((fn) =>
      String(fn.Properties.Description).includes('depth-check authorizer'),
    );
    const urls = JSON.stringify(authorizer?.Properties.Environment.Variables.SLUICE_DOWNSTREAM_QUEUE_URLS);
    for (const stage of ['extract', 'chunk', 'embed', 'index']) expect(urls).toContain(`Pipeline${stage}Queue`);
    expect(urls).not.toContain('PipelinescanQueue');
    const admission = JSON.parse(authorizer?.Properties.Environment.Variables.SLUICE_ADMISSION);
    expect(admission.downstream.map((stage: { stage: string }) => stage.stage)).toEqual([
      'extract',
      'chunk',
      'embed',
      'index',
    ]);
  });
});

describe('PipelineValve and ControlTable', () => {
  it('creates no control table and no valve for a single plain stage', () => {
    const stack = new Stack(new App({ context: NO_BUNDLING }), 'Plain');
    new Pipeline(stack, 'P', {
      definition: definePipeline({ name: 'plain', stages: [{ name: 'only', consumer: { entry: ECHO_ENTRY } }] }),
    });
    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::DynamoDB::Table', 0);
    template.resourceCountIs('AWS::Events::Rule', 0);
  });

  it('watches a single stage with a breaker and grants it the control table', () => {
    const stack = new Stack(new App({ context: NO_BUNDLING }), 'Breaker');
    new Pipeline(stack, 'P', {
      definition: definePipeline({
        name: 'one',
        stages: [{ name: 'only', consumer: { entry: ECHO_ENTRY }, breaker: { openSeconds: 20 } }],
      }),
    });
    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::DynamoDB::Table', 1);
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({ SLUICE_STAGE: 'only', SLUICE_CONTROL_TABLE: Match.anyValue() }),
      },
    });
    template.hasResourceProperties('AWS::Events::Rule', { ScheduleExpression: 'rate(1 minute)' });
  });

  it('fails if the interval is out of range or a breaker stage has no control table', () => {
    const stack = new Stack(new App({ context: NO_BUNDLING }), 'Bad');
    const pipeline = new Pipeline(stack, 'P', {
      definition: definePipeline({ name: 'bad', stages: [{ name: 'only', consumer: { entry: ECHO_ENTRY } }] }),
    });
    const consumer = pipeline.stage('only').consumer;
    expect(
      () =>
        new PipelineValve(stack, 'V', {
          pipelineName: 'bad',
          interval: Duration.seconds(60),
          stages: [{ stage: 'only', consumer, breakerOpen: Duration.seconds(30) }],
        }),
    ).toThrow(/interval must be between 1 and 30 seconds, but 60 seconds was provided[\s\S]*controlTable is required/);
  });

  it('grants read-write on the control table and returns its name', () => {
    const stack = new Stack(new App({ context: NO_BUNDLING }), 'Grant');
    const table = new ControlTable(stack, 'Control');
    const role = new iam.Role(stack, 'R', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
    const name = table.grantReadWrite(role);
    expect(stack.resolve(name)).toEqual({ Ref: expect.stringMatching(/^ControlTable/) });
    const [policy] = Object.values(Template.fromStack(stack).findResources('AWS::IAM::Policy'));
    const actions = policy?.Properties.PolicyDocument.Statement.flatMap((statement: { Action: string[] }) => [
      statement.Action,
    ]).flat();
    expect(actions).toEqual(expect.arrayContaining(['dynamodb:UpdateItem', 'dynamodb:GetItem']));
  });
});
