import { Agent, request } from 'node:http';
import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { DeleteMessageBatchCommand, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as z from 'zod';
import { definePipeline, encodeJob, JOB_TABLE } from '../../lib/definition/index.ts';
import { type IngressServer, startIngressServer } from '../../lib/local/ingress-server.ts';
import { type ProvisionedPipeline, provisionPipeline } from '../../lib/local/provision.ts';
import { localDynamoClient, localSqsClient, uniqueName } from '../helpers/engines.ts';

/**
 * Fuzzes the local ingress over HTTP on loopback (keep-alive connections, many requests in flight): malformed JSON,
 * wrong types, huge strings, bodies over the limit, characters SQS refuses, wrong content types, missing or unknown API keys. A reference
 * model says what API Gateway + SQS would answer for each request; every answer must match it, be a 202 or a 4xx that
 * names the problem (never a 5xx), and exactly the accepted requests must end up in the queue and the job table.
 */

const LIMIT_BYTES = 4096;
const RUNS = 250;
const REQUESTS_PER_RUN = 40;

const Order = z.strictObject({
  orderId: z.string().min(1),
  quantity: z.int().min(1),
  note: z.string().optional(),
});

const pipeline = definePipeline({
  name: 'fuzz',
  stages: [
    {
      name: 'take',
      consumer: { entry: 'test/fixtures/handlers/echo.ts', timeoutSeconds: 5 },
      queue: { maxMessageSizeBytes: LIMIT_BYTES },
    },
  ],
  jobs: { enabled: true },
  // Throttles out of the way (stage and key): the fuzzer checks what a request's content gets, and a fast machine sends
  // its 10,000 requests faster than the default stage throttle (1,000/s) would let through.
  ingress: {
    throttle: { rateLimitPerSecond: 100_000, burstLimit: 50_000 },
    clients: [{ name: 'producer', rateLimitPerSecond: 100_000, burstLimit: 50_000 }],
  },
});

interface FuzzRequest {
  readonly body: Buffer;
  /** `undefined`: no Content-Type header. */
  readonly contentType: string | undefined;
  /** `undefined`: no x-api-key header. */
  readonly apiKey: string | undefined;
}

interface Answer {
  readonly status: number;
  readonly contentType: string | undefined;
  readonly text: string;
}

/** What the request should get, by API Gateway's order of checks and SQS's rules: a status and what the body says. */
function expectedAnswer(fuzz: FuzzRequest, validKey: string): { status: number; says: RegExp } {
  if (fuzz.apiKey !== validKey) return { status: 403, says: /x-api-key/ };
  // The direct integration maps application/json only (passthrough NEVER): anything else is 415; no header counts as
  // JSON. https://docs.aws.amazon.com/apigateway/latest/developerguide/integration-passthrough-behaviors.html
  const mediaType = fuzz.contentType?.split(';')[0]?.trim().toLowerCase();
  if (mediaType !== undefined && mediaType !== '' && mediaType !== 'application/json') {
    return { status: 415, says: /Content-Type: application\/json/ };
  }
  if (fuzz.body.length > LIMIT_BYTES) return { status: 413, says: new RegExp(`at most ${LIMIT_BYTES} bytes`) };
  const text = fuzz.body.toString('utf8');
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    return { status: 400, says: /not valid JSON/ };
  }
  const parsed = Order.safeParse(data);
  if (!parsed.success) {
    // The answer names the offending field (a missing one under `(root)`, in the validator's words).
    const field = String(parsed.error.issues[0]?.path.at(-1) ?? '(root)');
    return { status: 400, says: new RegExp(`^\\{"error":"invalid_request","message":".*${escapeRegExp(field)}`) };
  }
  const envelope = encodeJob({
    jobId: '00000000-0000-0000-0000-000000000000',
    schemaVersion: 1,
    data,
    correlationId: '00000000-0000-0000-0000-000000000000',
    acceptedAt: Date.now(),
    priority: 'high',
  });
  // https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SendMessage.html: SQS refuses a body
  // with a character outside #x9 | #xA | #xD | #x20–#xD7FF | #xE000–#xFFFD | #x10000–#x10FFFF.
  const refused = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u.exec(envelope);
  if (refused) {
    const code = (refused[0].codePointAt(0) as number).toString(16).toUpperCase().padStart(4, '0');
    return { status: 400, says: new RegExp(`U\\+${code} .*SQS does not accept`) };
  }
  // The envelope as the local engine gets it: characters above U+FFFF as \u escapes (12 bytes instead of 4).
  const astral = envelope.match(/[\u{10000}-\u{10FFFF}]/gu)?.length ?? 0;
  if (Buffer.byteLength(envelope) + astral * 8 > LIMIT_BYTES) return { status: 413, says: /with its envelope/ };
  return { status: 202, says: /"status":"accepted"/ };
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

// Characters near every edge of SQS's allowed ranges, plus ordinary text.
const edgeCharacter = fc.constantFrom(
  '\u0000',
  '\u0001',
  '\u0008',
  '\t',
  '\n',
  '\u000B',
  '\r',
  '\u001F',
  ' ',
  '\uD7FF',
  '\uD800',
  '\uDBFF',
  '\uDC00',
  '\uDFFF',
  '\uE000',
  '\uFFFD',
  '\uFFFE',
  '\uFFFF',
  '\u{10000}',
  '\u{1F600}',
  '\u{10FFFF}',
  '"',
  '\\',
);
const edgyText = fc.string({
  unit: fc.oneof(edgeCharacter, fc.string({ unit: 'binary', minLength: 1, maxLength: 1 })),
  maxLength: 12,
});

const order = fc.record(
  {
    orderId: fc.oneof(fc.string({ minLength: 1, maxLength: 12 }), edgyText),
    quantity: fc.integer({ min: 1, max: 1_000_000 }),
    note: fc.oneof(fc.string({ maxLength: 20 }), edgyText),
  },
  { requiredKeys: ['orderId', 'quantity'] },
);

/** Bodies: valid orders, wrong types, malformed JSON, huge strings around the limit, bodies over the limit. */
const body: fc.Arbitrary<Buffer> = fc.oneof(
  { weight: 3, arbitrary: order.map((value) => Buffer.from(JSON.stringify(value))) },
  // Characters written as JSON escapes (\uFFFF, lone surrogates, controls), as a producer's encoder might.
  { weight: 2, arbitrary: order.map((value) => Buffer.from(escapeAllNonAscii(JSON.stringify(value)))) },
  {
    weight: 3,
    arbitrary: fc
      .oneof(
        fc.jsonValue({ maxDepth: 3 }),
        fc.record({
          orderId: fc.oneof(fc.integer(), fc.constant(''), fc.boolean(), fc.constant(null), fc.array(fc.string())),
          quantity: fc.oneof(fc.double(), fc.string(), fc.constant(0), fc.constant(-1), fc.constant(null)),
        }),
        fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 1 }), { maxKeys: 4 }),
        order.chain((value) => fc.string({ minLength: 1, maxLength: 8 }).map((extra) => ({ ...value, [extra]: 1 }))),
      )
      .map((value) => Buffer.from(JSON.stringify(value) ?? 'undefined')),
  },
  {
    weight: 3,
    arbitrary: fc
      .oneof(
        fc.string({ maxLength: 40 }).map((text) => Buffer.from(text)),
        order.chain((value) => {
          const text = JSON.stringify(value);
          return fc.integer({ min: 0, max: text.length - 1 }).map((cut) => Buffer.from(text.slice(0, cut)));
        }),
        fc.uint8Array({ maxLength: 64 }).map((bytes) => Buffer.from(bytes)),
        fc.constantFrom('', '{', '{"orderId":', '[1,]', '{"a":1}}', 'NaN', '{"orderId":"a","quantity":1,}', '\u0000'),
      )
      .map((value) => (Buffer.isBuffer(value) ? value : Buffer.from(value))),
  },
  {
    weight: 1,
    arbitrary: fc
      .record({
        size: fc.integer({ min: LIMIT_BYTES - 260, max: LIMIT_BYTES + 40 }),
        fill: fc.constantFrom('x', 'é', '\u{1F600}', '\uFFFF'),
      })
      .map(({ size, fill }) => {
        const fillBytes = Buffer.byteLength(fill);
        return Buffer.from(
          JSON.stringify({
            orderId: 'huge',
            quantity: 1,
            note: fill.repeat(Math.max(0, Math.floor(size / fillBytes))),
          }),
        );
      }),
  },
  {
    weight: 1,
    arbitrary: fc.integer({ min: LIMIT_BYTES + 1, max: LIMIT_BYTES * 16 }).map((size) => Buffer.alloc(size, 'a')),
  },
);

function escapeAllNonAscii(json: string): string {
  return json.replace(/[^\u0020-\u007e]/g, (unit) => `\\u${unit.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

describe('ingress fuzzing', () => {
  const sqs = localSqsClient();
  const dynamo = localDynamoClient();
  const agent = new Agent({ keepAlive: true, maxSockets: 16 });
  let provisioned: ProvisionedPipeline;
  let ingress: IngressServer;
  let validKey: string;
  const acceptedJobIds = new Set<string>();
  let requestsSent = 0;

  beforeAll(async () => {
    provisioned = await provisionPipeline(pipeline, { sqs, dynamo, prefix: uniqueName('fuzz') });
    ingress = await startIngressServer({
      sqs,
      dynamo,
      stage: provisioned.stages.get('take') as NonNullable<ReturnType<typeof provisioned.stages.get>>,
      ...(pipeline.ingress ? { ingress: pipeline.ingress } : {}),
      jobTableName: provisioned.jobTableName as string,
      schema: Order,
      // The depth check is the authorizer's business (tested elsewhere); here every request reaches validation.
      backpressure: false,
    });
    validKey = ingress.apiKeys.producer as string;
  });
  afterAll(async () => {
    agent.destroy();
    await ingress?.stop();
    sqs.destroy();
    dynamo.destroy();
  });

  const send = (fuzz: FuzzRequest): Promise<Answer> =>
    new Promise((resolve, reject) => {
      const outgoing = request(
        `${ingress.url}/jobs`,
        {
          method: 'POST',
          agent,
          headers: {
            ...(fuzz.contentType === undefined ? {} : { 'content-type': fuzz.contentType }),
            'content-length': String(fuzz.body.length),
            ...(fuzz.apiKey === undefined ? {} : { 'x-api-key': fuzz.apiKey }),
          },
        },
        (response) => {
          const chunks: Buffer[] = [];
          response.on('data', (chunk: Buffer) => chunks.push(chunk));
          response.on('end', () =>
            resolve({
              status: response.statusCode ?? 0,
              contentType: response.headers['content-type'],
              text: Buffer.concat(chunks).toString('utf8'),
            }),
          );
          response.on('error', reject);
        },
      );
      // The server may answer (413) and stop reading before the whole body is written.
      outgoing.on('error', reject);
      outgoing.end(fuzz.body);
    });

  it('answers every generated request with 202 or a 4xx naming the problem, as the reference model says', async () => {
    // GIVEN requests with valid, missing and unknown API keys and every kind of body
    const fuzzRequest = fc.record({
      body,
      contentType: fc.oneof(
        { weight: 8, arbitrary: fc.constant<string | undefined>('application/json') },
        {
          weight: 2,
          arbitrary: fc.constantFrom<string | undefined>(
            undefined,
            '',
            'application/json; charset=utf-8',
            'APPLICATION/JSON',
            'text/plain',
            'text/json',
            'application/xml',
            'application/x-www-form-urlencoded',
            'multipart/form-data; boundary=x',
            'application/json-patch+json',
            'application/jsonx',
          ),
        },
      ),
      apiKey: fc.oneof(
        { weight: 8, arbitrary: fc.constant<string | undefined>('valid') },
        { weight: 1, arbitrary: fc.constant(undefined) },
        { weight: 1, arbitrary: fc.string({ unit: 'grapheme-ascii', maxLength: 40 }) },
      ),
    });
    await fc.assert(
      fc.asyncProperty(
        fc.array(fuzzRequest, { minLength: REQUESTS_PER_RUN, maxLength: REQUESTS_PER_RUN }),
        async (generated) => {
          const requests = generated.map(
            (fuzz): FuzzRequest => ({
              body: fuzz.body,
              contentType: fuzz.contentType,
              apiKey: fuzz.apiKey === 'valid' ? validKey : fuzz.apiKey,
            }),
          );
          // WHEN they are sent at once over keep-alive connections
          const answers = await Promise.all(requests.map(send));
          requestsSent += requests.length;
          // THEN each answer is what the model says, in JSON, never a 5xx
          requests.forEach((fuzz, index) => {
            const answer = answers[index] as Answer;
            const expected = expectedAnswer(fuzz, validKey);
            const context = `request ${JSON.stringify(fuzz.body.toString('utf8').slice(0, 200))} key ${fuzz.apiKey} type ${fuzz.contentType}`;
            expect(answer.status, `${context} → ${answer.text}`).toBe(expected.status);
            expect(answer.contentType, context).toMatch(/^application\/json/);
            expect(answer.text, context).toMatch(expected.says);
            const parsed = JSON.parse(answer.text) as { jobId?: string };
            if (answer.status === 202) acceptedJobIds.add(parsed.jobId as string);
          });
        },
      ),
      { numRuns: RUNS },
    );
    expect(requestsSent).toBeGreaterThanOrEqual(10_000);
  });

  it('enqueues and records exactly the accepted jobs, nothing for a rejected request', async () => {
    // GIVEN the fuzzing run above (answers checked one by one)
    expect(acceptedJobIds.size).toBeGreaterThan(0);
    expect(ingress.stats.accepted).toBe(acceptedJobIds.size);
    expect(ingress.stats.invalid + ingress.stats.forbidden).toBe(requestsSent - acceptedJobIds.size);
    const stage = provisioned.stages.get('take');
    // WHEN the queue is drained and the job table scanned
    const queued = new Set<string>();
    for (let empty = 0; empty < 2; ) {
      const received = await sqs.send(
        new ReceiveMessageCommand({ QueueUrl: stage?.queueUrl, MaxNumberOfMessages: 10, VisibilityTimeout: 60 }),
      );
      const messages = received.Messages ?? [];
      if (messages.length === 0) {
        empty++;
        continue;
      }
      for (const message of messages) queued.add((JSON.parse(message.Body as string) as { jobId: string }).jobId);
      await sqs.send(
        new DeleteMessageBatchCommand({
          QueueUrl: stage?.queueUrl,
          Entries: messages.map((message, index) => ({ Id: String(index), ReceiptHandle: message.ReceiptHandle })),
        }),
      );
    }
    const recorded = new Set<string>();
    let startKey: Record<string, import('@aws-sdk/client-dynamodb').AttributeValue> | undefined;
    do {
      const page = await dynamo.send(
        new ScanCommand({ TableName: provisioned.jobTableName, ExclusiveStartKey: startKey }),
      );
      for (const item of page.Items ?? []) recorded.add(item[JOB_TABLE.partitionKey]?.S as string);
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    // THEN both hold exactly the job ids answered 202
    expect([...queued].sort()).toEqual([...acceptedJobIds].sort());
    expect([...recorded].sort()).toEqual([...acceptedJobIds].sort());
  });
});
