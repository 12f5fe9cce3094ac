import { Duration, type Stack } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { describe, expect, it } from 'vitest';
import { ChunkJob } from '../../functions/examples/schemas.ts';
import { IngestApi, type IngestApiProps } from '../../lib/constructs/ingest-api.ts';
import { OverflowDrainer } from '../../lib/constructs/overflow-drainer.ts';
import { definePipeline, type IngressInput, requestJsonSchema } from '../../lib/definition/index.ts';
import { templateOf, testStack } from '../helpers/stacks.ts';

function ingressOf(input: IngressInput) {
  const pipeline = definePipeline({
    name: 'docs',
    stages: [{ name: 'ingest', consumer: { entry: 'x.ts' }, flow: { depthLimit: 1000 } }],
    jobs: { enabled: true },
    ingress: input,
  });
  return pipeline.ingress ?? expect.fail('no ingress');
}

function apiWith(input: IngressInput, extra: (stack: Stack) => Partial<IngestApiProps> = () => ({})): Stack {
  const stack = testStack();
  new IngestApi(stack, 'Ingest', {
    ingress: ingressOf(input),
    queue: new sqs.Queue(stack, 'Queue'),
    requestSchema: requestJsonSchema(ChunkJob).schema,
    ...extra(stack),
  });
  return stack;
}

const table = (stack: Stack) =>
  new dynamodb.Table(stack, 'Jobs', { partitionKey: { name: 'jobId', type: dynamodb.AttributeType.STRING } });

describe('IngestApi template', () => {
  it('throttles the stage with the configured rate and burst', () => {
    const template = templateOf(apiWith({ throttle: { rateLimitPerSecond: 250, burstLimit: 100 } }));

    template.hasResourceProperties('AWS::ApiGateway::Stage', {
      StageName: 'v1',
      MethodSettings: Match.arrayWith([
        Match.objectLike({ HttpMethod: '*', ResourcePath: '/*', ThrottlingRateLimit: 250, ThrottlingBurstLimit: 100 }),
      ]),
    });
  });

  it('creates a usage plan with its throttle and quota, and an API key, per client', () => {
    const template = templateOf(
      apiWith({
        clients: [
          { name: 'acme', rateLimitPerSecond: 20, burstLimit: 40, quota: { limit: 10_000, period: 'DAY' } },
          { name: 'globex', rateLimitPerSecond: 5, burstLimit: 5 },
        ],
      }),
    );

    template.resourceCountIs('AWS::ApiGateway::ApiKey', 2);
    template.hasResourceProperties('AWS::ApiGateway::UsagePlan', {
      Throttle: { RateLimit: 20, BurstLimit: 40 },
      Quota: { Limit: 10_000, Period: 'DAY' },
    });
    template.hasResourceProperties('AWS::ApiGateway::UsagePlanKey', { KeyType: 'API_KEY' });
    template.hasResourceProperties('AWS::ApiGateway::Method', { HttpMethod: 'POST', ApiKeyRequired: true });
  });

  it('validates the body of the accept method against the model generated from zod', () => {
    const template = templateOf(apiWith({}));

    template.hasResourceProperties('AWS::ApiGateway::RequestValidator', { ValidateRequestBody: true });
    template.hasResourceProperties('AWS::ApiGateway::Model', {
      ContentType: 'application/json',
      Schema: Match.objectLike({
        $schema: 'http://json-schema.org/draft-04/schema#',
        required: ['documentId', 'chunkIndex', 'text'],
      }),
    });
    template.hasResourceProperties('AWS::ApiGateway::Method', {
      HttpMethod: 'POST',
      RequestValidatorId: Match.anyValue(),
      RequestModels: { 'application/json': Match.anyValue() },
    });
  });

  it('sends accepted jobs straight to SQS with an AWS integration that builds the envelope', () => {
    const template = templateOf(apiWith({ schemaVersion: 3 }));

    template.hasResourceProperties('AWS::ApiGateway::Method', {
      HttpMethod: 'POST',
      AuthorizationType: 'CUSTOM',
      Integration: Match.objectLike({
        Type: 'AWS',
        IntegrationHttpMethod: 'POST',
        Uri: Match.objectLike({ 'Fn::Join': ['', Match.arrayWith([Match.stringLikeRegexp(':sqs:path/')])] }),
        RequestParameters: Match.objectLike({ 'integration.request.path.queue': 'context.authorizer.queue' }),
        RequestTemplates: {
          'application/json': Match.stringLikeRegexp(
            'Action=SendMessage&MessageBody=\\$util.urlEncode\\(\\$envelope\\)',
          ),
        },
        IntegrationResponses: Match.arrayWith([
          Match.objectLike({ StatusCode: '202', ResponseTemplates: Match.anyValue() }),
        ]),
      }),
    });
    const methods = template.findResources('AWS::ApiGateway::Method', { Properties: { HttpMethod: 'POST' } });
    const requestTemplate = JSON.stringify(Object.values(methods)[0]);
    expect(requestTemplate).toMatch(/schemaVersion\$\{q\}:3/);
    expect(requestTemplate).toMatch(/jobId\$\{q\}:\$\{q\}\$context\.requestId/);
    expect(requestTemplate).toMatch(/"jobId\\":\\"\$context\.requestId\\",\\"status\\":\\"accepted\\",\\"statusUrl/);
    expect(requestTemplate).toMatch(/responseOverride\.header\.Location/);
  });

  it('authorizes with the depth-check Lambda, caching a result at most 10 s per second and method', () => {
    const template = templateOf(apiWith({ backpressure: { authorizerResultTtlSeconds: 7 } }));

    template.hasResourceProperties('AWS::ApiGateway::Authorizer', {
      Type: 'REQUEST',
      AuthorizerResultTtlInSeconds: 7,
      IdentitySource: 'context.requestTime,context.httpMethod',
    });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Runtime: 'nodejs24.x',
      Environment: { Variables: Match.objectLike({ SLUICE_ADMISSION: Match.stringLikeRegexp('"hardLimit":1000') }) },
    });
  });

  it('does not cache authorizer results with priority lanes (the lane header may be absent)', () => {
    const template = templateOf(
      apiWith({ priority: { enabled: true } }, (stack) => ({ lowLaneQueue: new sqs.Queue(stack, 'Low') })),
    );

    template.hasResourceProperties('AWS::ApiGateway::Authorizer', { AuthorizerResultTtlInSeconds: 0 });
  });

  it('maps an authorizer rejection to 503 with Retry-After and the overloaded body', () => {
    const template = templateOf(apiWith({}));

    template.hasResourceProperties('AWS::ApiGateway::GatewayResponse', {
      ResponseType: 'ACCESS_DENIED',
      StatusCode: '503',
      ResponseParameters: {
        'gatewayresponse.header.Retry-After': 'context.authorizer.retryAfterSeconds',
        'gatewayresponse.header.Content-Type': "'application/json'",
      },
      ResponseTemplates: {
        'application/json': Match.stringLikeRegexp(
          '"error":"overloaded","retryAfterSeconds":\\$context.authorizer.retryAfterSeconds',
        ),
      },
    });
  });

  it('answers throttling with 429 and Retry-After, and a bad body with 400', () => {
    const template = templateOf(apiWith({}));

    template.hasResourceProperties('AWS::ApiGateway::GatewayResponse', {
      ResponseType: 'THROTTLED',
      StatusCode: '429',
      ResponseParameters: Match.objectLike({ 'gatewayresponse.header.Retry-After': "'1'" }),
    });
    template.hasResourceProperties('AWS::ApiGateway::GatewayResponse', {
      ResponseType: 'BAD_REQUEST_BODY',
      StatusCode: '400',
    });
  });

  it('adds the job status route reading the job table directly, 200 "unknown" for no record in direct mode', () => {
    const template = templateOf(apiWith({}, (stack) => ({ jobTable: table(stack) })));

    template.hasResourceProperties('AWS::ApiGateway::Method', {
      HttpMethod: 'GET',
      Integration: Match.objectLike({
        Type: 'AWS',
        Uri: Match.objectLike({
          'Fn::Join': ['', Match.arrayWith([Match.stringLikeRegexp(':dynamodb:action/GetItem')])],
        }),
      }),
    });
    const get = Object.values(template.findResources('AWS::ApiGateway::Method', { Properties: { HttpMethod: 'GET' } }));
    expect(JSON.stringify(get)).toMatch(/\\"status\\":\\"unknown\\"/);
    expect(JSON.stringify(get)).not.toMatch(/responseOverride\.status = 404/);
  });

  it('puts the accept Lambda in the path in function mode, and answers 404 for an id never issued', () => {
    const template = templateOf(
      apiWith({ integration: 'function' }, (stack) => ({
        jobTable: table(stack),
        acceptEntry: 'functions/examples/accept-document.ts',
      })),
    );

    template.hasResourceProperties('AWS::ApiGateway::Method', {
      HttpMethod: 'POST',
      Integration: Match.objectLike({ Type: 'AWS_PROXY' }),
    });
    const get = Object.values(template.findResources('AWS::ApiGateway::Method', { Properties: { HttpMethod: 'GET' } }));
    expect(JSON.stringify(get)).toMatch(/responseOverride\.status = 404/);
  });

  it('does not set the account-wide CloudWatch role of API Gateway unless asked', () => {
    // GIVEN / WHEN the default, then an API that asks for it
    const byDefault = templateOf(apiWith({}));
    const asked = templateOf(apiWith({}, () => ({ cloudWatchRole: true })));

    // THEN only the second sets AWS::ApiGateway::Account (one per account and Region)
    byDefault.resourceCountIs('AWS::ApiGateway::Account', 0);
    asked.resourceCountIs('AWS::ApiGateway::Account', 1);
  });

  it('refuses bodies that are not JSON with 415: templates for application/json only, passthrough NEVER', () => {
    // GIVEN / WHEN
    const template = templateOf(apiWith({}));

    // THEN a request of another Content-Type is rejected before SQS
    // (https://docs.aws.amazon.com/apigateway/latest/developerguide/integration-passthrough-behaviors.html)
    const method = Object.values(
      template.findResources('AWS::ApiGateway::Method', { Properties: { HttpMethod: 'POST' } }),
    )[0];
    expect(Object.keys(method?.Properties.Integration.RequestTemplates)).toEqual(['application/json']);
    expect(method?.Properties.Integration.PassthroughBehavior).toBe('NEVER');
    template.hasResourceProperties('AWS::ApiGateway::GatewayResponse', {
      ResponseType: 'UNSUPPORTED_MEDIA_TYPE',
      StatusCode: '415',
    });
  });

  it('fails if a queue is FIFO (the ingress sends no MessageGroupId)', () => {
    expect(() =>
      apiWith({ priority: { enabled: true } }, (stack) => ({
        queue: new sqs.Queue(stack, 'Fifo', { fifo: true }),
        lowLaneQueue: new sqs.Queue(stack, 'LowFifo', { fifo: true }),
      })),
    ).toThrow(
      /queue must be a standard queue \(the ingress sends no MessageGroupId, which a FIFO queue requires\), but a FIFO queue was provided\n- lowLaneQueue must be a standard queue/,
    );
  });

  it('fails if a priority or buffer ingress lacks its queues, or function mode its entry and table', () => {
    expect(() =>
      apiWith({ priority: { enabled: true }, backpressure: { overload: 'buffer' }, integration: 'function' }),
    ).toThrow(
      /lowLaneQueue is required[\s\S]*overflowQueue is required[\s\S]*acceptEntry is required[\s\S]*jobTable is required/,
    );
  });

  it('fails if a hand-made ingress caches authorizer results longer than 10 s', () => {
    // GIVEN an ingress not from definePipeline
    const ingress = ingressOf({});
    const stack = testStack();
    const props = {
      ingress: { ...ingress, backpressure: { ...ingress.backpressure, authorizerResultTtlSeconds: 300 } },
      queue: new sqs.Queue(stack, 'Queue'),
      requestSchema: requestJsonSchema(ChunkJob).schema,
    };

    // THEN
    expect(() => new IngestApi(stack, 'Ingest', props)).toThrow(
      /authorizerResultTtlSeconds must be an integer between 0 and 10 seconds, but 300 was provided/,
    );
  });

  it('fails if the request schema is not draft-04', () => {
    expect(() =>
      apiWith({}, () => ({ requestSchema: { $schema: 'https://json-schema.org/draft/2020-12/schema' } })),
    ).toThrow(/requestSchema must be a draft-04 JSON schema/);
  });
});

describe('OverflowDrainer template', () => {
  it('runs every minute with reserved concurrency 1 and its rate and watermark', () => {
    // GIVEN
    const stack = testStack();
    new OverflowDrainer(stack, 'Drainer', {
      overflowQueue: new sqs.Queue(stack, 'Overflow'),
      queue: new sqs.Queue(stack, 'Queue'),
      ratePerSecond: 40,
      lowWatermark: 500,
    });

    // THEN
    const template = templateOf(stack);
    template.hasResourceProperties('AWS::Events::Rule', { ScheduleExpression: 'rate(1 minute)' });
    template.hasResourceProperties('AWS::Lambda::Function', {
      ReservedConcurrentExecutions: 1,
      Timeout: 60,
      Environment: { Variables: Match.objectLike({ SLUICE_DRAIN: '{"ratePerSecond":40,"lowWatermark":500}' }) },
    });
  });

  it('fails if the rate or the schedule is out of range', () => {
    const stack = testStack();
    expect(
      () =>
        new OverflowDrainer(stack, 'Drainer', {
          overflowQueue: new sqs.Queue(stack, 'Overflow'),
          queue: new sqs.Queue(stack, 'Queue'),
          ratePerSecond: 0,
          lowWatermark: 5,
          schedule: Duration.seconds(30),
        }),
    ).toThrow(
      /ratePerSecond must be an integer between 1 and 10000, but 0[\s\S]*schedule must be between 1 and 15 minutes/,
    );
  });
});
