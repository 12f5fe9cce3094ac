import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type DynamoDBClient, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type * as z from 'zod';
import { type AdmissionSettings, decideAdmission } from '../../functions/authorizer/decide.ts';
import { DepthReader } from '../../functions/authorizer/depth-reader.ts';
import { toJobRecord } from '../../functions/runtime/job-status.ts';
import { encodeJob, INGRESS_DEFAULTS, JOB_ID_PATTERN, JOB_TABLE, PRIORITIES, type Priority } from '../spec/index.ts';
import type { ProvisionedStage } from './provision.ts';
import { TokenBucket } from './token-bucket.ts';

/**
 * The local ingress: the IngestApi's routes and answers on one machine. `POST /jobs` is throttled by a token bucket
 * (429, as API Gateway), checked against the accept queue's depth with the authorizer's own decision and cached depth
 * reader (429 shed / 503 overloaded, with Retry-After), validated (400), enqueued in the sluice envelope, and answered
 * `202 { jobId, status: "accepted", statusUrl }` with a Location header. `GET /jobs/{id}` reads the job table.
 */

/** Options of {@link startIngressServer}. */
export interface IngressServerOptions {
  readonly sqs: SQSClient;
  readonly dynamo: DynamoDBClient;
  /** The stage that accepts jobs. */
  readonly stage: ProvisionedStage;
  readonly jobTableName?: string;
  /** Validates the job's data; without one any JSON object is accepted (the consumer still validates). */
  readonly schema?: z.ZodType;
  /** Requests per second and burst of the stage's throttle. @default 1000 and 2000 */
  readonly rateLimitPerSecond?: number;
  readonly burstLimit?: number;
  /** Check depth before accepting (the authorizer). Turn off to see a pipeline without backpressure. @default true */
  readonly backpressure?: boolean;
  /** Seconds the depth reading is cached. @default 1 */
  readonly depthCacheTtlSeconds?: number;
  readonly port?: number;
}

/** A running ingress. */
export interface IngressServer {
  readonly url: string;
  readonly stats: {
    offered: number;
    accepted: number;
    throttled: number;
    shed: number;
    rejected: number;
    invalid: number;
  };
  stop(): Promise<void>;
}

/** Starts the local ingress on 127.0.0.1. */
export async function startIngressServer(options: IngressServerOptions): Promise<IngressServer> {
  const { stage } = options.stage;
  const throttle = new TokenBucket(options.rateLimitPerSecond ?? 1_000, options.burstLimit ?? 2_000);
  const depthReader = new DepthReader(() => options.sqs, (options.depthCacheTtlSeconds ?? 1) * 1000);
  const hardLimit = stage.flow.depthLimit;
  const settings: AdmissionSettings = {
    softLimit: Math.max(1, Math.floor(hardLimit * INGRESS_DEFAULTS.softLimitFraction)),
    hardLimit,
    overload: 'reject',
    drainRatePerSecond: stage.flow.drainRatePerSecond,
    maxRetryAfterSeconds: INGRESS_DEFAULTS.maxRetryAfterSeconds,
    overflowMaxDepth: hardLimit * INGRESS_DEFAULTS.overflowDepthFactor,
    overflowDrainRatePerSecond: 1,
    // The local ingress honours the priority header for shedding even without separate lane queues.
    priorityEnabled: true,
  };
  const stats = { offered: 0, accepted: 0, throttled: 0, shed: 0, rejected: 0, invalid: 0 };
  let baseUrl = '';

  const accept = async (request: IncomingMessage, response: ServerResponse) => {
    stats.offered++;
    if (!throttle.take()) {
      stats.throttled++;
      return send(response, 429, { error: 'throttled', message: 'Too Many Requests' }, { 'retry-after': '1' });
    }
    const priorityHeader = header(request, 'x-sluice-priority') ?? 'high';
    if (!PRIORITIES.includes(priorityHeader as Priority)) {
      stats.invalid++;
      return send(response, 400, {
        error: 'invalid',
        message: `x-sluice-priority must be one of ${PRIORITIES.join(', ')}, but '${priorityHeader}' was provided`,
      });
    }
    if (options.backpressure ?? true) {
      const depth = await depthReader.depth(options.stage.queueUrl);
      const decision = decideAdmission({ depth, lane: priorityHeader as Priority, settings });
      if (!decision.admit) {
        if (decision.reason === 'shed-low-priority') stats.shed++;
        else stats.rejected++;
        return send(
          response,
          decision.status,
          { error: 'overloaded', retryAfterSeconds: decision.retryAfterSeconds, reason: decision.reason },
          { 'retry-after': String(decision.retryAfterSeconds) },
        );
      }
    }
    const limit = stage.queue.maxMessageSizeBytes;
    const raw = await readBody(request, limit);
    if (raw === undefined) {
      stats.invalid++;
      return send(response, 413, {
        error: 'too-large',
        message: `the body must be at most ${limit} bytes (the queue's maxMessageSizeBytes)`,
      });
    }
    let data: unknown;
    try {
      data = JSON.parse(raw);
    } catch (error) {
      stats.invalid++;
      return send(response, 400, {
        error: 'invalid',
        message: `the body is not valid JSON: ${(error as Error).message}`,
      });
    }
    if (options.schema) {
      const parsed = options.schema.safeParse(data);
      if (!parsed.success) {
        stats.invalid++;
        const issues = parsed.error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`);
        return send(response, 400, { error: 'invalid', message: issues.join('; '), issues });
      }
    }
    const jobId = randomUUID();
    const correlationId = header(request, 'x-correlation-id') ?? jobId;
    const acceptedAt = Date.now();
    const body = encodeJob({
      jobId,
      schemaVersion: 1,
      data,
      correlationId,
      acceptedAt,
      priority: priorityHeader as Priority,
    });
    if (Buffer.byteLength(body) > limit) {
      stats.invalid++;
      return send(response, 413, {
        error: 'too-large',
        message: `the job must be at most ${limit} bytes with its envelope`,
      });
    }
    if (options.jobTableName) {
      // Written before the send, so a status read right after the 202 finds the job.
      await options.dynamo.send(
        new PutItemCommand({
          TableName: options.jobTableName,
          Item: {
            [JOB_TABLE.partitionKey]: { S: jobId },
            state: { S: 'accepted' },
            stage: { S: stage.name },
            correlationId: { S: correlationId },
            acceptedAt: { N: String(acceptedAt) },
            updatedAt: { N: String(acceptedAt) },
            attempts: { N: '0' },
          },
          ConditionExpression: 'attribute_not_exists(#key)',
          ExpressionAttributeNames: { '#key': JOB_TABLE.partitionKey },
        }),
      );
    }
    await options.sqs.send(
      new SendMessageCommand({
        QueueUrl: options.stage.queueUrl,
        MessageBody: body,
        ...(stage.queue.fifo ? { MessageGroupId: correlationId, MessageDeduplicationId: jobId } : {}),
      }),
    );
    stats.accepted++;
    const statusUrl = `${baseUrl}/jobs/${jobId}`;
    return send(response, 202, { jobId, status: 'accepted', statusUrl }, { location: statusUrl });
  };

  const status = async (response: ServerResponse, jobId: string) => {
    if (!JOB_ID_PATTERN.test(jobId)) {
      return send(response, 400, {
        error: 'invalid',
        message: `job id must be 1 to 128 characters of letters, digits and -_.:, but '${jobId}' was provided`,
      });
    }
    if (!options.jobTableName) {
      return send(response, 404, {
        error: 'not-found',
        message: 'job status is not enabled for this pipeline (jobs.enabled)',
      });
    }
    const result = await options.dynamo.send(
      new GetItemCommand({
        TableName: options.jobTableName,
        Key: { [JOB_TABLE.partitionKey]: { S: jobId } },
        ConsistentRead: true,
      }),
    );
    if (!result.Item) {
      // As the IngestApi in function mode: every issued id is recorded before it is queued, so no record means never
      // issued (or expired by TTL).
      return send(response, 404, { jobId, status: 'unknown' });
    }
    // The IngestApi's status body: the job's state as `status`, with its timestamps, attempts and last error.
    const { state, ...rest } = toJobRecord(result.Item);
    return send(response, 200, { ...rest, jobId, status: state });
  };

  const server: Server = createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://local');
    const handle = async () => {
      if (request.method === 'POST' && url.pathname === '/jobs') {
        return accept(request, response);
      }
      const match = /^\/jobs\/([^/]+)$/.exec(url.pathname);
      if (request.method === 'GET' && match) {
        return status(response, decodeURIComponent(match[1] as string));
      }
      if (request.method === 'GET' && url.pathname === '/health') {
        return send(response, 200, { ok: true });
      }
      return send(response, 404, {
        error: 'not-found',
        message: `no route ${request.method} ${url.pathname}; routes: POST /jobs, GET /jobs/{id}`,
      });
    };
    handle().catch((error: unknown) => {
      send(response, 500, { error: 'internal', message: (error as Error).message });
    });
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url: baseUrl,
    stats,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function header(request: IncomingMessage, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function send(response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  if (response.headersSent) {
    return;
  }
  response.writeHead(status, { 'content-type': 'application/json', ...headers });
  response.end(JSON.stringify(body));
}

/** The body as text, or `undefined` when it is longer than `limit` bytes. */
async function readBody(request: IncomingMessage, limit: number): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > limit) {
      request.resume();
      return undefined;
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}
