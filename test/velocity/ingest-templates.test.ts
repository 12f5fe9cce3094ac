import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allSynthesizedTemplates, type SynthesizedTemplate } from './synthesized-templates.ts';
import { answerOf, SQS_SEND_ERRORS, selectIntegrationResponse, sqsErrorBody } from './template-checks.ts';
import { startVelocity, substituteGatewayResponse, type VelocityEngine } from './velocity-renderer.ts';

/** The IngestApi's templates (from the example stack's synthesized CloudFormation) on the defects found so far. */
const example = allSynthesizedTemplates().filter((template) => template.variant === 'example');

function integrationResponses(httpMethod: string): SynthesizedTemplate[] {
  return example.filter(
    (template) => template.site.kind === 'integration-response' && template.site.httpMethod === httpMethod,
  );
}

function gatewayResponse(responseType: string): SynthesizedTemplate {
  const found = example.find(
    (template) => template.site.kind === 'gateway-response' && template.site.responseType === responseType,
  );
  return found ?? expect.fail(`no ${responseType} gateway response`);
}

describe('IngestApi mapping templates', () => {
  let velocity: VelocityEngine;
  beforeAll(() => {
    velocity = startVelocity();
  });
  afterAll(async () => {
    await velocity.stop();
  });

  it("answers a dead-lettered job's lastError with its class and message", async () => {
    // GIVEN the status route's 200 response and a job the runtime dead-lettered
    const template = selectIntegrationResponse(integrationResponses('GET'), 200) ?? expect.fail('no 200 response');
    const item = {
      jobId: { S: 'job-1' },
      state: { S: 'dead-lettered' },
      attempts: { N: '3' },
      lastError: { M: { class: { S: 'PermanentError' }, message: { S: 'width 5000 is above "4096"' } } },
    };

    // WHEN it renders DynamoDB's answer
    const rendered = await velocity.render(template.template, {
      path: { id: 'job-1' },
      body: JSON.stringify({ Item: item }),
    });

    // THEN the body is JSON with the error's class (not Velocity's getClass())
    expect(answerOf(template, rendered).body).toEqual({
      jobId: 'job-1',
      status: 'dead-lettered',
      attempts: 3,
      lastError: { class: 'PermanentError', message: 'width 5000 is above "4096"' },
    });
  });

  it('answers a body the model rejects with JSON { error, message }, whatever the validator reports', () => {
    // GIVEN API Gateway's validation error, which quotes the client's input
    const validation = '[instance value ("a \\"quoted\\" value") not found in enum (possible values: ["x","y"])]';

    // WHEN the 400 gateway response is substituted (gateway responses are not run by VTL)
    const output = substituteGatewayResponse(gatewayResponse('BAD_REQUEST_BODY').template, {
      context: {
        error: {
          message: 'Invalid request body',
          messageString: '"Invalid request body"',
          validationErrorString: validation,
        },
      },
    });

    // THEN it is the README's { error, message }
    expect(JSON.parse(output)).toEqual({ error: 'invalid_request', message: expect.any(String) });
  });

  it.each([false, true])(
    'uses the request id as correlation id without the header (an absent parameter read as null: %s)',
    async (missingParamsAreNull) => {
      // GIVEN the accept method's SendMessage template and no x-correlation-id header
      const template =
        example.find(
          (candidate) => candidate.site.kind === 'integration-request' && candidate.site.httpMethod === 'POST',
        ) ?? expect.fail('no SendMessage template');

      // WHEN it renders, whether API Gateway reads the absent header as "" or as null
      const rendered = await velocity.render(template.template, {
        body: '{"documentId":"d"}',
        context: { requestId: 'req-1', requestTimeEpoch: 1, authorizer: { queue: 'q' } },
        missingParamsAreNull,
      });

      // THEN
      const envelope = JSON.parse(
        decodeURIComponent(rendered.output.split('MessageBody=')[1] ?? '').replaceAll('+', ' '),
      );
      expect(envelope.correlationId).toBe('req-1');
    },
  );

  it.each([
    { tenantId: '"acme-eu"', groupId: 'acme-eu' },
    { tenantId: '42', groupId: '42' },
    { tenantId: '"has space"', groupId: undefined },
    { tenantId: 'true', groupId: undefined },
  ])('sends tenant $tenantId as message group id $groupId on the standard queue', async ({ tenantId, groupId }) => {
    // GIVEN the example's SendMessage template (its pipeline's tenantKey is tenantId); on a standard queue SQS fair
    // queues use the message group id as the tenant
    // (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-fair-queues.html), whose
    // alphabet is printable ASCII (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SendMessage.html)
    const template =
      example.find(
        (candidate) => candidate.site.kind === 'integration-request' && candidate.site.httpMethod === 'POST',
      ) ?? expect.fail('no SendMessage template');

    // WHEN a job of that tenant is accepted
    const rendered = await velocity.render(template.template, {
      body: `{"documentId":"d","tenantId":${tenantId}}`,
      context: { requestId: 'req-1', requestTimeEpoch: 1, authorizer: { queue: 'q' } },
    });

    // THEN the form carries the tenant as MessageGroupId when it is usable as one, and nothing otherwise
    const field = rendered.output.split('&').find((part) => part.startsWith('MessageGroupId='));
    expect(field === undefined ? undefined : decodeURIComponent(field.slice('MessageGroupId='.length))).toBe(groupId);
  });

  it.each(SQS_SEND_ERRORS)(
    'answers $expect when SQS refuses SendMessage with $code (HTTP $httpStatus)',
    async (error) => {
      // GIVEN the accept method's integration responses, selected by SQS's HTTP status as API Gateway does
      const template = selectIntegrationResponse(integrationResponses('POST'), error.httpStatus);
      if (!template) return expect.fail(`no integration response for ${error.httpStatus}`);

      // WHEN it renders SQS's error
      const answer = answerOf(
        template,
        await velocity.render(template.template, { body: sqsErrorBody(error.code, 'refused', false) }),
      );

      // THEN only a body SQS cannot take is the producer's fault; throttling says when to retry
      expect(answer.status).toBe(error.expect);
      expect(answer.headers['Retry-After']).toBe(error.expect === 503 ? '1' : undefined);
    },
  );
});
