import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as z from 'zod';
import { UNSUPPORTED_MEDIA_TYPE_TEMPLATE } from '../../lib/constructs/ingest-templates.ts';
import { definePipeline, type IngressInput } from '../../lib/definition/index.ts';
import { type IngressServer, startIngressServer } from '../../lib/local/ingress-server.ts';
import { localDynamoClient, localSqsClient } from '../helpers/engines.ts';
import { createQueue } from '../helpers/ingress.ts';
import { ECHO_ENTRY } from '../helpers/stacks.ts';

/**
 * The local ingress answers a body's Content-Type as the IngestApi does on AWS. Direct mode: the SQS integration has
 * a request template for application/json only and passthrough NEVER, so any other Content-Type is refused with 415
 * and a request without one counts as application/json
 * (https://docs.aws.amazon.com/apigateway/latest/developerguide/integration-passthrough-behaviors.html). Function
 * mode: a Lambda proxy integration passes every request through; the accept function decides.
 */
const Order = z.strictObject({ orderId: z.string() });
const sqs = localSqsClient();

async function ingressFor(
  integration: IngressInput['integration'],
): Promise<{ server: IngressServer; queueUrl: string }> {
  const pipeline = definePipeline({
    name: 'types',
    stages: [{ name: 'take', consumer: { entry: ECHO_ENTRY } }],
    jobs: { enabled: integration === 'function' },
    ingress: { integration },
  });
  const queueUrl = await createQueue(sqs, 'content-type');
  const stage = pipeline.stages[0] ?? expect.fail('no stage');
  const server = await startIngressServer({
    stage: { stage, queueUrl, queueArn: '', deadLetterQueueUrl: '', deadLetterQueueArn: '' },
    sqs,
    dynamo: localDynamoClient(),
    ...(pipeline.ingress ? { ingress: pipeline.ingress } : {}),
    schema: Order,
    backpressure: false,
  });
  return { server, queueUrl };
}

async function post(server: IngressServer, contentType: string | undefined) {
  // A Uint8Array body makes fetch send no Content-Type of its own.
  const response = await fetch(`${server.url}/jobs`, {
    method: 'POST',
    headers: contentType === undefined ? {} : { 'content-type': contentType },
    body: new TextEncoder().encode(JSON.stringify({ orderId: 'o-1' })),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

async function waiting(queueUrl: string): Promise<number> {
  const result = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['ApproximateNumberOfMessages'] }),
  );
  return Number(result.Attributes?.ApproximateNumberOfMessages);
}

describe('local ingress Content-Type, direct mode (passthrough NEVER)', () => {
  let ingress: { server: IngressServer; queueUrl: string };
  beforeAll(async () => {
    ingress = await ingressFor('direct');
  });
  afterAll(() => ingress?.server.stop());

  it.each(['text/plain', 'application/x-www-form-urlencoded', 'application/xml'])(
    'answers 415 unsupported_media_type to %s and enqueues nothing',
    async (contentType) => {
      const answer = await post(ingress.server, contentType);

      // the IngestApi's UNSUPPORTED_MEDIA_TYPE gateway response body, word for word
      expect(answer).toEqual({ status: 415, body: JSON.parse(UNSUPPORTED_MEDIA_TYPE_TEMPLATE) });
      expect(await waiting(ingress.queueUrl)).toBe(0);
    },
  );

  it.each([undefined, 'application/json', 'Application/JSON; charset=utf-8'])(
    'accepts a JSON body sent with Content-Type %s',
    async (contentType) => {
      expect((await post(ingress.server, contentType)).status).toBe(202);
    },
  );
});

describe('local ingress Content-Type, function mode (Lambda proxy)', () => {
  let ingress: { server: IngressServer; queueUrl: string };
  beforeAll(async () => {
    ingress = await ingressFor('function');
  });
  afterAll(() => ingress?.server.stop());

  it('passes a text/plain request through to the accept function, which takes a JSON body', async () => {
    expect((await post(ingress.server, 'text/plain')).status).toBe(202);
  });
});
