import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { ExampleStack } from '../../lib/example/example-stack.ts';

/** The acceptance list, on the example app's stack (synthesized without bundling). */
describe('the example app ingress', () => {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new ExampleStack(app, 'Example');
  const template = Template.fromStack(stack);
  const acceptMethod = () =>
    Object.values(template.findResources('AWS::ApiGateway::Method', { Properties: { HttpMethod: 'POST' } }))[0];

  it('throttles the stage (rate and burst)', () => {
    template.hasResourceProperties('AWS::ApiGateway::Stage', {
      MethodSettings: Match.arrayWith([Match.objectLike({ ThrottlingRateLimit: 500, ThrottlingBurstLimit: 250 })]),
    });
  });

  it('has a usage plan with throttle values per client', () => {
    template.hasResourceProperties('AWS::ApiGateway::UsagePlan', { Throttle: { RateLimit: 200, BurstLimit: 100 } });
    template.hasResourceProperties('AWS::ApiGateway::UsagePlan', { Throttle: { RateLimit: 50, BurstLimit: 25 } });
  });

  it('has a request validator and a model on the accept method', () => {
    const method = acceptMethod();
    expect(method?.Properties.RequestValidatorId).toBeDefined();
    expect(method?.Properties.RequestModels).toEqual({ 'application/json': expect.anything() });
    template.hasResourceProperties('AWS::ApiGateway::Model', {
      Schema: Match.objectLike({ title: 'DocumentJob', required: ['documentId', 'source', 'contentType'] }),
    });
  });

  it('integrates the accept method with SQS through an AWS integration', () => {
    const integration = acceptMethod()?.Properties.Integration;
    expect(integration.Type).toBe('AWS');
    expect(JSON.stringify(integration.Uri)).toMatch(/:sqs:path\//);
  });

  it('authorizes with a Lambda authorizer whose result TTL is at most 10 s', () => {
    const authorizers = Object.values(template.findResources('AWS::ApiGateway::Authorizer'));
    expect(authorizers).toHaveLength(1);
    expect(authorizers[0]?.Properties.Type).toBe('REQUEST');
    expect(authorizers[0]?.Properties.AuthorizerResultTtlInSeconds).toBeLessThanOrEqual(10);
  });

  it('maps rejections to 503 and throttling to 429, both with Retry-After', () => {
    template.hasResourceProperties('AWS::ApiGateway::GatewayResponse', {
      ResponseType: 'ACCESS_DENIED',
      StatusCode: '503',
      ResponseParameters: Match.objectLike({ 'gatewayresponse.header.Retry-After': Match.anyValue() }),
    });
    template.hasResourceProperties('AWS::ApiGateway::GatewayResponse', {
      ResponseType: 'THROTTLED',
      StatusCode: '429',
      ResponseParameters: Match.objectLike({ 'gatewayresponse.header.Retry-After': Match.anyValue() }),
    });
  });

  it('runs a low lane consumer with its own concurrency and an overflow drainer on a schedule', () => {
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', { ScalingConfig: { MaximumConcurrency: 4 } });
    template.hasResourceProperties('AWS::Events::Rule', { ScheduleExpression: 'rate(1 minute)' });
    template.hasResourceProperties('AWS::SQS::Queue', {
      MessageRetentionPeriod: 14 * 86_400,
      RedrivePolicy: Match.anyValue(),
    });
  });

  it('alarms before a parked request expires (half the overflow retention)', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'ApproximateAgeOfOldestMessage',
      Threshold: 7 * 86_400,
    });
  });

  it("leaves the account's API Gateway CloudWatch role alone unless the app asks (-c sluice:apiGatewayCloudWatchRole=true)", () => {
    template.resourceCountIs('AWS::ApiGateway::Account', 0);

    const asking = new App({
      context: { 'aws:cdk:bundling-stacks': [], 'sluice:apiGatewayCloudWatchRole': 'true' },
    });
    Template.fromStack(new ExampleStack(asking, 'Example')).resourceCountIs('AWS::ApiGateway::Account', 1);
  });

  it('serves job status from the job table', () => {
    template.hasResourceProperties('AWS::ApiGateway::Method', { HttpMethod: 'GET', AuthorizationType: 'CUSTOM' });
  });
});
