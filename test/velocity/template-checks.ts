import fc from 'fast-check';
import { expect } from 'vitest';
import { tenantGroupIdOf } from '../../lib/definition/index.ts';
import { examplePipeline } from '../../lib/example/pipeline.ts';
import { adversarialJsonObject, adversarialString, requestId, shortAdversarialString } from './adversarial.ts';
import type { SynthesizedTemplate } from './synthesized-templates.ts';

/** The example's tenant key; the tenant field the generated bodies carry. */
const TENANT_KEY = examplePipeline.tenantKey ?? 'tenantId';

import {
  type Rendered,
  substituteGatewayResponse,
  type TemplateInput,
  type VelocityEngine,
} from './velocity-renderer.ts';

/**
 * What each synthesized template must do, as a property over adversarial inputs: an input generator and a check of
 * the rendered output. Every template the constructs synthesize must have one (a new template without a check fails
 * the harness).
 */
export interface TemplateCheck<Case = unknown> {
  readonly description: string;
  /** Cases: what the template sees (`input`) and what the producer must get (`expected`). */
  readonly cases: fc.Arbitrary<Case>;
  /** Renders `template` for the case and throws when the result is wrong. */
  check(engine: VelocityEngine, template: SynthesizedTemplate, testCase: Case): Promise<void>;
}

function defineCheck<Case>(check: TemplateCheck<Case>): TemplateCheck {
  return check as TemplateCheck;
}

/**
 * SQS's answers to a `SendMessage` on the query protocol: error code → HTTP status
 * (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SendMessage.html#API_SendMessage_Errors,
 * https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/CommonErrors.html; query codes and statuses as
 * in the SQS service model's awsQueryError traits), and what the producer must get back.
 * A too-long body is `InvalidParameterValue` ("Message must be shorter than 262144 bytes"): the envelope is the only
 * parameter the template sends besides `Action`.
 */
export const SQS_SEND_ERRORS: readonly {
  readonly code: string;
  readonly httpStatus: number;
  readonly expect: 400 | 500 | 503;
}[] = [
  { code: 'InvalidParameterValue', httpStatus: 400, expect: 400 },
  { code: 'InvalidMessageContents', httpStatus: 400, expect: 400 },
  { code: 'RequestThrottled', httpStatus: 403, expect: 503 },
  { code: 'ThrottlingException', httpStatus: 400, expect: 503 },
  { code: 'KMS.ThrottlingException', httpStatus: 400, expect: 503 },
  { code: 'OverLimit', httpStatus: 403, expect: 503 },
  { code: 'AccessDenied', httpStatus: 403, expect: 500 },
  { code: 'AccessDeniedException', httpStatus: 400, expect: 500 },
  { code: 'InvalidClientTokenId', httpStatus: 403, expect: 500 },
  { code: 'KMS.AccessDeniedException', httpStatus: 400, expect: 500 },
  { code: 'KMS.DisabledException', httpStatus: 400, expect: 500 },
  { code: 'KMS.InvalidKeyUsageException', httpStatus: 400, expect: 500 },
  { code: 'KMS.InvalidStateException', httpStatus: 400, expect: 500 },
  { code: 'KMS.NotFoundException', httpStatus: 400, expect: 500 },
  { code: 'KMS.OptInRequired', httpStatus: 403, expect: 500 },
  { code: 'AWS.SimpleQueueService.NonExistentQueue', httpStatus: 400, expect: 500 },
  { code: 'AWS.SimpleQueueService.UnsupportedOperation', httpStatus: 400, expect: 500 },
  { code: 'InvalidSecurity', httpStatus: 403, expect: 500 },
  { code: 'InternalError', httpStatus: 500, expect: 503 },
  { code: 'ServiceUnavailable', httpStatus: 503, expect: 503 },
];

/** The SQS error body as the query protocol returns it with `Accept: application/json` (both shapes seen). */
export function sqsErrorBody(code: string, message: string, wrapped: boolean): string {
  const error = {
    Error: { Type: 'Sender', Code: code, Message: message },
    RequestId: 'b6f1ce26-0000-4a4b-9a1c-5b1e0c8f6a3e',
  };
  return JSON.stringify(wrapped ? { ErrorResponse: error } : error);
}

/** API Gateway's choice of integration response: the first whose selection pattern matches the status, or the default. */
export function selectIntegrationResponse(
  responses: readonly SynthesizedTemplate[],
  backendStatus: number,
): SynthesizedTemplate | undefined {
  const status = String(backendStatus);
  const patterned = responses.find(
    (response) =>
      response.site.kind === 'integration-response' &&
      response.site.selectionPattern !== undefined &&
      new RegExp(`^(?:${response.site.selectionPattern})$`).test(status),
  );
  return (
    patterned ??
    responses.find((response) => response.site.kind === 'integration-response' && !response.site.selectionPattern)
  );
}

/** The answer a producer gets: the status (overridden or the integration response's), headers and parsed body. */
export function answerOf(template: SynthesizedTemplate, rendered: Rendered) {
  const site = template.site;
  if (site.kind !== 'integration-response') throw new Error(`${template.name} is not an integration response`);
  const staticHeaders = Object.fromEntries(
    Object.entries(site.responseParameters ?? {})
      .filter(([name, value]) => name.startsWith('method.response.header.') && /^'.*'$/.test(value))
      .map(([name, value]) => [name.slice('method.response.header.'.length), value.slice(1, -1)]),
  );
  return {
    status: Number(rendered.status ?? site.statusCode),
    headers: { ...staticHeaders, ...rendered.headers },
    body: JSON.parse(rendered.output) as Record<string, unknown>,
  };
}

function formField(form: string, name: string): string {
  const fields = form.split('&').map((field) => field.split('='));
  for (const [key, value] of fields) {
    if (key === name) return decodeURIComponent((value ?? '').replaceAll('+', ' '));
  }
  throw new Error(`form body has no ${name}: ${form.slice(0, 200)}`);
}

interface SendMessageCase {
  readonly input: TemplateInput;
  readonly body: unknown;
  readonly correlation?: string;
  readonly lane?: string;
  readonly requestId: string;
  readonly epoch: number;
}

const sendMessage = defineCheck<SendMessageCase>({
  description: 'builds a SendMessage form whose MessageBody is the envelope with the body and headers intact',
  cases: fc
    .record(
      {
        body: adversarialJsonObject,
        // The example's tenant key: a string (printable or not, up to and over 128 characters), an integer, a
        // fraction, true, an object or nothing; only a usable value becomes the message group id.
        tenant: fc.oneof(
          adversarialString,
          fc.stringMatching(/^[\x21-\x7e]{1,140}$/),
          fc.integer(),
          fc.bigInt({ min: -(10n ** 17n), max: 10n ** 17n }).map(Number),
          fc.double({ noNaN: true, noDefaultInfinity: true }),
          fc.constant(true),
          fc.constant({ id: 'x' }),
          fc.constant(undefined),
        ),
        correlation: adversarialString,
        lane: fc.constantFrom('high', 'low'),
        requestId,
        epoch: fc.integer({ min: 1_500_000_000_000, max: 2_500_000_000_000 }),
        missingParamsAreNull: fc.boolean(),
      },
      { requiredKeys: ['body', 'requestId', 'epoch', 'missingParamsAreNull'] },
    )
    .map(({ tenant, ...value }) => ({
      ...value,
      body: tenant === undefined ? value.body : { ...value.body, [TENANT_KEY]: tenant },
    }))
    .map((value) => ({
      ...value,
      input: {
        body: JSON.stringify(value.body),
        header:
          value.correlation === undefined ? {} : ({ 'x-correlation-id': value.correlation } as Record<string, string>),
        context: {
          requestId: value.requestId,
          requestTimeEpoch: value.epoch,
          authorizer: { queue: 'queue-url-path', ...(value.lane ? { lane: value.lane } : {}) },
        },
        missingParamsAreNull: value.missingParamsAreNull,
      },
    })),
  async check(engine, template, testCase) {
    const rendered = await engine.render(template.template, testCase.input);
    expect(rendered.output).toMatch(/^Action=SendMessage&MessageBody=[^&=]*(&MessageGroupId=[^&=]*)?$/);
    const envelope = JSON.parse(formField(rendered.output, 'MessageBody'));
    // The tenant as message group id (SQS fair queues), by the same rule as the local ingress and the accept function.
    const tenantKey = /input\.json\('\$\.(\w+)'\)/.exec(template.template)?.[1];
    const groupId = rendered.output.includes('&MessageGroupId=')
      ? formField(rendered.output, 'MessageGroupId')
      : undefined;
    expect(groupId).toBe(tenantGroupIdOf(JSON.parse(JSON.stringify(testCase.body)), tenantKey));
    expect(envelope).toEqual({
      jobId: testCase.requestId,
      schemaVersion: expect.any(Number),
      data: JSON.parse(JSON.stringify(testCase.body)),
      correlationId: testCase.correlation ? testCase.correlation : testCase.requestId,
      acceptedAt: testCase.epoch,
      priority: testCase.lane ?? 'high',
    });
  },
});

const getItem = defineCheck<string>({
  description: 'builds a strongly consistent GetItem of the job table for any path id',
  cases: adversarialString,
  async check(engine, template, id) {
    const rendered = await engine.render(template.template, { path: { id } });
    const request = JSON.parse(rendered.output);
    expect(request).toEqual({ TableName: expect.any(String), Key: { jobId: { S: id } }, ConsistentRead: true });
    expect(template.resources.has(request.TableName)).toBe(true);
  },
});

const accepted = defineCheck({
  description: 'answers 202 { jobId, status, statusUrl } with a Location header',
  cases: fc.record({ requestId, domainName: fc.domain(), stage: fc.constantFrom('v1', 'prod', 'stage-2') }),
  async check(engine, template, { requestId: id, domainName, stage }) {
    const rendered = await engine.render(template.template, {
      body: JSON.stringify({ SendMessageResponse: { SendMessageResult: { MessageId: id } } }),
      context: { requestId: id, domainName, stage },
    });
    const answer = answerOf(template, rendered);
    expect(answer.status).toBe(202);
    expect(answer.body).toEqual({
      jobId: id,
      status: 'accepted',
      statusUrl: `https://${domainName}/${stage}/jobs/${id}`,
    });
    expect(answer.headers.Location).toBe(`/${stage}/jobs/${id}`);
  },
});

function enqueueError(statusPattern: string): TemplateCheck {
  const pattern = new RegExp(`^(?:${statusPattern})$`);
  const known = SQS_SEND_ERRORS.filter((error) => pattern.test(String(error.httpStatus)));
  const statuses = [...new Set(known.map((error) => error.httpStatus))];
  const unknown = fc
    .record({ code: shortAdversarialString, httpStatus: fc.constantFrom(...statuses) })
    .map(({ code, httpStatus }) => ({
      code: `Unknown${code}`,
      httpStatus,
      expect: (httpStatus >= 500 ? 503 : 500) as 500 | 503,
    }));
  return defineCheck({
    description: `maps SQS's ${statusPattern} errors by code (size → 400, throttling → 503, access/KMS/other → 500)`,
    cases: fc.record({
      error: fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...known) }, { weight: 1, arbitrary: unknown }),
      message: adversarialString,
      wrapped: fc.boolean(),
    }),
    async check(engine, template, { error, message, wrapped }) {
      const rendered = await engine.render(template.template, {
        body: sqsErrorBody(error.code, message, wrapped),
        context: { requestId: 'r' },
      });
      const answer = answerOf(template, rendered);
      expect(answer.status).toBe(error.expect);
      expect(answer.body).toMatchObject({
        error: { 400: 'rejected_by_queue', 500: 'enqueue_failed', 503: 'unavailable' }[error.expect],
      });
      if (error.expect === 503) expect(answer.headers['Retry-After']).toBe('1');
      else expect(answer.headers['Retry-After']).toBeUndefined();
    },
  });
}

interface JobItemShape {
  readonly state: string;
  readonly strings: Readonly<Record<string, string | undefined>>;
  readonly numbers: Readonly<Record<string, number | undefined>>;
  readonly lastError?: { readonly class: string; readonly message: string };
}

const STRING_FIELDS = ['stage', 'correlationId'] as const;
const NUMBER_FIELDS = ['attempts', 'acceptedAt', 'startedAt', 'updatedAt', 'completedAt', 'deadLetteredAt'] as const;

const jobItem: fc.Arbitrary<JobItemShape> = fc.record(
  {
    state: fc.oneof(fc.constantFrom('processing', 'completed', 'failed', 'dead-lettered'), shortAdversarialString),
    strings: fc.record(Object.fromEntries(STRING_FIELDS.map((name) => [name, adversarialString])), {
      requiredKeys: [],
    }),
    numbers: fc.record(Object.fromEntries(NUMBER_FIELDS.map((name) => [name, fc.nat()])), { requiredKeys: [] }),
    lastError: fc.record({ class: adversarialString, message: adversarialString }),
  },
  { requiredKeys: ['state', 'strings', 'numbers'] },
);

function jobStatus(noRecordStatus: 200 | 404): TemplateCheck {
  return defineCheck({
    description: `answers the job's state, timestamps and last error (no record: ${noRecordStatus} unknown)`,
    cases: fc.record({ id: adversarialString, job: jobItem }, { requiredKeys: ['id'] }),
    async check(engine, template, { id, job }) {
      const rendered = await engine.render(template.template, {
        path: { id },
        body: JSON.stringify(job === undefined ? {} : { Item: dynamoItem(id, job) }),
      });
      const answer = answerOf(template, rendered);
      if (job === undefined) {
        expect(answer.status).toBe(noRecordStatus);
        expect(answer.body).toEqual({ jobId: id, status: 'unknown' });
        return;
      }
      expect(answer.status).toBe(200);
      expect(answer.body).toEqual({
        jobId: id,
        status: job.state,
        ...Object.fromEntries(Object.entries(job.strings).filter(([, value]) => value !== '')),
        ...job.numbers,
        ...(job.lastError ? { lastError: job.lastError } : {}),
      });
    },
  });
}

/** The job record as DynamoDB's GetItem returns it (the runtime's attribute names, `functions/runtime/job-status.ts`). */
function dynamoItem(id: string, job: JobItemShape): Record<string, unknown> {
  return {
    jobId: { S: id },
    state: { S: job.state },
    ...Object.fromEntries(Object.entries(job.strings).map(([name, value]) => [name, { S: value }])),
    ...Object.fromEntries(Object.entries(job.numbers).map(([name, value]) => [name, { N: String(value) }])),
    ...(job.lastError
      ? { lastError: { M: { class: { S: job.lastError.class }, message: { S: job.lastError.message } } } }
      : {}),
  };
}

const statusUnavailable = defineCheck({
  description: 'answers 500 status_unavailable whatever DynamoDB said',
  cases: fc.record({ code: adversarialString, message: adversarialString }),
  async check(engine, template, { code, message }) {
    const rendered = await engine.render(template.template, { body: JSON.stringify({ __type: code, message }) });
    const answer = answerOf(template, rendered);
    expect(answer.status).toBe(500);
    expect(answer.body).toEqual({ error: 'status_unavailable' });
  },
});

/**
 * Gateway responses: simple substitution, no VTL. `$context.error.message` is API Gateway's own text;
 * `$context.error.messageString` is it in quotes; `$context.error.validationErrorString` echoes the client's input.
 * The authorizer's context carries the shed decision (`functions/authorizer/handler.ts`).
 */
const GATEWAY_MESSAGES = [
  'Invalid request body',
  'Limit Exceeded',
  'Too Many Requests',
  'Unsupported Media Type',
  'Forbidden',
  'Unauthorized',
] as const;

const GATEWAY_RESPONSE_SHAPES: Readonly<Record<string, Record<string, unknown>>> = {
  ACCESS_DENIED: { error: 'overloaded', retryAfterSeconds: expect.any(Number), reason: expect.any(String) },
  THROTTLED: { error: 'throttled', retryAfterSeconds: 1 },
  QUOTA_EXCEEDED: { error: 'quota_exceeded', message: expect.any(String) },
  BAD_REQUEST_BODY: { error: 'invalid_request', message: expect.any(String) },
  UNSUPPORTED_MEDIA_TYPE: { error: 'unsupported_media_type', message: expect.any(String) },
  AUTHORIZER_FAILURE: { error: 'unavailable', retryAfterSeconds: 1 },
  AUTHORIZER_CONFIGURATION_ERROR: { error: 'unavailable', retryAfterSeconds: 1 },
};

function gatewayResponse(responseType: string): TemplateCheck | undefined {
  const shape = GATEWAY_RESPONSE_SHAPES[responseType];
  if (!shape) return undefined;
  return defineCheck({
    description: 'is valid JSON of the README shape for any validation error and authorizer decision',
    cases: fc.record({
      message: fc.constantFrom(...GATEWAY_MESSAGES),
      validation: adversarialString,
      reason: fc.constantFrom('shed-low-priority', 'over-hard-limit', 'overflow-full'),
      retryAfterSeconds: fc.integer({ min: 1, max: 120 }),
    }),
    async check(_engine, template, { message, validation, reason, retryAfterSeconds }) {
      const output = substituteGatewayResponse(template.template, {
        context: {
          error: { message, messageString: `"${message}"`, validationErrorString: validation, responseType },
          authorizer: { reason, retryAfterSeconds, status: 503 },
        },
      });
      expect(JSON.parse(output)).toEqual(shape);
    },
  });
}

/** The check for `template`, or `undefined` when the harness does not know the template (a failure). */
export function checkFor(template: SynthesizedTemplate): TemplateCheck | undefined {
  const site = template.site;
  if (template.contentType !== 'application/json') return undefined;
  if (site.kind === 'gateway-response') return gatewayResponse(site.responseType);
  if (site.kind === 'integration-request') {
    if (site.httpMethod === 'POST') return sendMessage;
    if (site.httpMethod === 'GET') return getItem;
    return undefined;
  }
  if (site.httpMethod === 'POST') {
    if (site.statusCode === '202') return accepted;
    return site.selectionPattern ? enqueueError(site.selectionPattern) : undefined;
  }
  if (site.httpMethod === 'GET') {
    if (site.statusCode === '200') return jobStatus(template.variant === 'function' ? 404 : 200);
    if (site.statusCode === '500') return statusUnavailable;
  }
  return undefined;
}
