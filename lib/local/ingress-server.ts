import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DeleteItemCommand, type DynamoDBClient, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import type { SQSClient } from '@aws-sdk/client-sqs';
import AjvDraft04 from 'ajv-draft-04';
import { type $ZodType, safeParse } from 'zod/v4/core';
import {
  type AdmissionSettings,
  admissionSettingsOf,
  type DownstreamAdmission,
  decideAdmission,
} from '../../functions/authorizer/decide.ts';
import { QueueDepthReader } from '../../functions/authorizer/queue-depth.ts';
import { toJobRecord } from '../../functions/runtime/job-status.ts';
import {
  encodeJob,
  INGRESS_DEFAULTS,
  JOB_ID_PATTERN,
  JOB_TABLE,
  PRIORITIES,
  type Priority,
  type ResolvedIngress,
  tenantGroupIdOf,
} from '../definition/index.ts';
import { requestJsonSchema } from '../definition/json-schema.ts';
import type { ProvisionedStage } from './provision.ts';
import { SendBatcher } from './send-batcher.ts';
import {
  escapeSupplementaryCharacters,
  findRefusedCharacter,
  refusedCharacterMessage,
} from './sqs-message-characters.ts';
import { TokenBucket } from './token-bucket.ts';

/**
 * The local ingress: the IngestApi's routes and answers on one machine, in API Gateway's order — API key and
 * throttling (stage and per client: 429; quota: 429; missing or unknown key: 403), the depth-check authorizer (the
 * real `decideAdmission` and `QueueDepthReader` with its TTL cache: 503 + Retry-After), request validation (the JSON
 * schema generated from the zod schema, checked with a draft-04 validator like API Gateway's model in direct mode;
 * the zod schema itself in function mode: 400), then the sluice envelope to the lane's queue or the overflow queue and
 * `202 { jobId, status: "accepted", statusUrl }` with a Location header. `GET /jobs/{id}` reads the job table.
 */

/** Where accepted jobs go. */
export interface IngressTargets {
  /** The accept stage's queue (the high lane with priority lanes on). */
  readonly stage: ProvisionedStage;
  /** The low lane's queue, with priority lanes on. */
  readonly lowLaneQueueUrl?: string;
  /** The overflow queue, with the `buffer` overload policy. */
  readonly overflowQueueUrl?: string;
}

/** Options of {@link startIngressServer}. */
export interface IngressServerOptions extends IngressTargets {
  readonly sqs: SQSClient;
  readonly dynamo: DynamoDBClient;
  readonly jobTableName?: string;
  /** The pipeline's ingress section; without one, the defaults of an ingress on the first stage apply. */
  readonly ingress?: ResolvedIngress;
  /** The accepted jobs' schema: validated as JSON schema (direct mode) or with zod (function mode). */
  readonly schema?: $ZodType;
  /** Overrides of the stage throttle. @default the ingress section's throttle */
  readonly rateLimitPerSecond?: number;
  readonly burstLimit?: number;
  /** Check depth before accepting (the authorizer). Turn off to see a pipeline without backpressure. @default true */
  readonly backpressure?: boolean;
  /** Seconds a depth reading is reused. @default the ingress section's depthCacheTtlSeconds */
  readonly depthCacheTtlSeconds?: number;
  /**
   * The stages after the accept stage, with their queues: whole-pipeline admission sheds while any is over its limit.
   * @default none (only the accept stage is weighed)
   */
  readonly downstream?: readonly { readonly admission: DownstreamAdmission; readonly queueUrl: string }[];
  /** The pipeline's tenant key: its value is sent as the message group id on the standard queue. @default none */
  readonly tenantKey?: string;
  readonly port?: number;
}

/** Counters of a running ingress. */
export interface IngressStats {
  offered: number;
  accepted: number;
  /** 429: stage throttle, client rate or quota. */
  throttled: number;
  /** 503 with reason shed-low-priority. */
  shed: number;
  /** 503 over the hard limit or with the overflow full. */
  rejected: number;
  /** Accepted into the overflow queue. */
  buffered: number;
  /** 400 and 413: a body the schema or the size limit refuses. */
  invalid: number;
  /** 403: no API key, or one that belongs to no client (API Gateway answers before looking at the body). */
  forbidden: number;
  /** 503 because SQS did not take the message (the producer retries). */
  unavailable: number;
}

/** A running ingress. */
export interface IngressServer {
  readonly url: string;
  readonly stats: IngressStats;
  /** The API key of each client of the ingress section (`x-api-key`), as the local runtime issues them. */
  readonly apiKeys: Readonly<Record<string, string>>;
  stop(): Promise<void>;
}

interface ClientLimits {
  readonly name: string;
  readonly bucket: TokenBucket;
  readonly quota?: { readonly limit: number; readonly periodMs: number; used: number; periodStart: number };
}

const PERIOD_MS = { DAY: 86_400_000, WEEK: 7 * 86_400_000, MONTH: 30 * 86_400_000 } as const;

/** The API key the local runtime issues to an ingress client. */
export function localApiKey(clientName: string): string {
  return `local-${clientName}-key`;
}

/** Connections the local ingress holds open at once (twice the load generator's 512 requests in flight). */
export const INGRESS_MAX_CONNECTIONS = 1_024;

/** Starts the local ingress on 127.0.0.1. */
export async function startIngressServer(options: IngressServerOptions): Promise<IngressServer> {
  const { stage } = options.stage;
  const ingress = options.ingress;
  const throttle = new TokenBucket(
    options.rateLimitPerSecond ?? ingress?.throttle.rateLimitPerSecond ?? INGRESS_DEFAULTS.rateLimitPerSecond,
    options.burstLimit ?? ingress?.throttle.burstLimit ?? INGRESS_DEFAULTS.burstLimit,
  );
  const clients = new Map<string, ClientLimits>();
  for (const client of ingress?.clients ?? []) {
    clients.set(localApiKey(client.name), {
      name: client.name,
      bucket: new TokenBucket(client.rateLimitPerSecond, client.burstLimit),
      ...(client.quota
        ? {
            quota: {
              limit: client.quota.limit,
              periodMs: PERIOD_MS[client.quota.period],
              used: 0,
              periodStart: Date.now(),
            },
          }
        : {}),
    });
  }
  const downstream = options.downstream ?? [];
  const baseSettings: AdmissionSettings = ingress
    ? admissionSettingsOf(ingress)
    : {
        softLimit: Math.max(1, Math.floor(stage.flow.depthLimit * INGRESS_DEFAULTS.softLimitFraction)),
        hardLimit: stage.flow.depthLimit,
        overload: 'reject',
        drainRatePerSecond: stage.flow.drainRatePerSecond,
        maxRetryAfterSeconds: INGRESS_DEFAULTS.maxRetryAfterSeconds,
        overflowMaxDepth: stage.flow.depthLimit * INGRESS_DEFAULTS.overflowDepthFactor,
        overflowDrainRatePerSecond: 1,
        // Without an ingress section the priority header still decides who is shed first.
        priorityEnabled: true,
      };
  const settings: AdmissionSettings = {
    ...baseSettings,
    stage: stage.name,
    downstream: downstream.map((entry) => entry.admission),
  };
  const priorityHeader = (ingress?.priority.header ?? INGRESS_DEFAULTS.priorityHeader).toLowerCase();
  const defaultLane: Priority = ingress?.priority.defaultLane ?? 'high';
  const ttlMs = Math.max(1, (options.depthCacheTtlSeconds ?? ingress?.backpressure.depthCacheTtlSeconds ?? 1) * 1000);
  const laneUrls = [options.stage.queueUrl, ...(options.lowLaneQueueUrl ? [options.lowLaneQueueUrl] : [])];
  const depthReader = new QueueDepthReader({ sqs: options.sqs, queueUrls: laneUrls, ttlMs });
  const downstreamReader =
    downstream.length > 0
      ? new QueueDepthReader({ sqs: options.sqs, queueUrls: downstream.map((entry) => entry.queueUrl), ttlMs })
      : undefined;
  const overflowReader = options.overflowQueueUrl
    ? new QueueDepthReader({ sqs: options.sqs, queueUrls: [options.overflowQueueUrl], ttlMs })
    : undefined;
  const integration = ingress?.integration ?? 'direct';
  const validate = validatorFor(options.schema, integration);
  const schemaVersion = ingress?.schemaVersion ?? 1;
  const batcher = new SendBatcher(options.sqs);
  const stats: IngressStats = {
    offered: 0,
    accepted: 0,
    throttled: 0,
    shed: 0,
    rejected: 0,
    buffered: 0,
    invalid: 0,
    forbidden: 0,
    unavailable: 0,
  };
  let baseUrl = '';

  const accept = async (request: IncomingMessage, response: ServerResponse) => {
    stats.offered++;
    // 1. API key and throttling, as API Gateway does before anything else.
    let client: ClientLimits | undefined;
    if (clients.size > 0) {
      client = clients.get(header(request, 'x-api-key') ?? '');
      if (!client) {
        stats.forbidden++;
        // API Gateway's body is `{ "message": "Forbidden" }`; the reason is added so a producer can tell what to fix.
        return send(response, 403, {
          message: 'Forbidden',
          error: 'forbidden',
          reason: `a missing or unknown API key: send the client's key in the x-api-key header`,
        });
      }
    }
    if (!throttle.take() || (client && !client.bucket.take())) {
      stats.throttled++;
      return send(response, 429, { error: 'throttled', retryAfterSeconds: 1 }, { 'retry-after': '1' });
    }
    if (client?.quota) {
      const quota = client.quota;
      if (Date.now() - quota.periodStart >= quota.periodMs) {
        quota.used = 0;
        quota.periodStart = Date.now();
      }
      if (quota.used >= quota.limit) {
        stats.throttled++;
        return send(response, 429, { error: 'quota_exceeded', message: 'Limit Exceeded' });
      }
      quota.used++;
    }
    // 2. The depth-check authorizer.
    const laneHeader = header(request, priorityHeader);
    const lane: Priority =
      settings.priorityEnabled && PRIORITIES.includes(laneHeader as Priority) ? (laneHeader as Priority) : defaultLane;
    let target: 'queue' | 'overflow' = 'queue';
    if (options.backpressure ?? true) {
      const snapshot = await depthReader.read();
      const laneDepth =
        snapshot.depths.get(
          lane === 'low' && options.lowLaneQueueUrl ? options.lowLaneQueueUrl : options.stage.queueUrl,
        ) ?? 0;
      let depth = 0;
      for (const value of snapshot.depths.values()) depth += value;
      const overflowDepth = overflowReader ? ((await overflowReader.read()).depths.values().next().value ?? 0) : 0;
      const downstreamSnapshot = downstreamReader ? await downstreamReader.read() : undefined;
      const downstreamDepths = downstreamSnapshot
        ? downstream.map((entry) => downstreamSnapshot.depths.get(entry.queueUrl) ?? 0)
        : undefined;
      const decision = decideAdmission({
        depth,
        laneDepth,
        overflowDepth,
        lane,
        settings,
        ...(downstreamDepths ? { downstreamDepths } : {}),
      });
      if (!decision.admit) {
        if (decision.reason === 'shed-low-priority') stats.shed++;
        else stats.rejected++;
        return send(
          response,
          decision.status,
          {
            error: 'overloaded',
            retryAfterSeconds: decision.retryAfterSeconds,
            reason: decision.reason,
            stage: decision.stage,
          },
          { 'retry-after': String(decision.retryAfterSeconds) },
        );
      }
      target = decision.target;
    }
    // 3. The body's media type: in direct mode the SQS integration maps application/json only, with passthrough
    // NEVER, so API Gateway refuses any other Content-Type with 415 (no header counts as application/json). A Lambda
    // proxy (function mode) passes every request through.
    if (integration === 'direct' && !isJsonMediaType(header(request, 'content-type'))) {
      stats.invalid++;
      request.resume();
      return send(response, 415, { error: 'unsupported_media_type', message: UNSUPPORTED_MEDIA_TYPE_MESSAGE });
    }
    // 4. Request validation.
    const limit = stage.queue.maxMessageSizeBytes;
    const raw = await readBody(request, limit);
    if (raw === undefined) {
      stats.invalid++;
      return send(response, 413, {
        error: 'too_large',
        message: `the body must be at most ${limit} bytes (the queue's maxMessageSizeBytes)`,
      });
    }
    let data: unknown;
    try {
      data = JSON.parse(raw);
    } catch (error) {
      stats.invalid++;
      return send(response, 400, {
        error: 'invalid_request',
        message: `the body is not valid JSON: ${(error as Error).message}`,
      });
    }
    const problem = validate(data);
    if (problem !== undefined) {
      stats.invalid++;
      return send(response, 400, { error: 'invalid_request', message: problem });
    }
    // 5. The integration: the envelope to the lane's queue or the overflow queue.
    const jobId = randomUUID();
    const correlationId = header(request, 'x-correlation-id') ?? jobId;
    const acceptedAt = Date.now();
    const envelope = encodeJob({ jobId, schemaVersion, data, correlationId, acceptedAt, priority: lane });
    // SQS refuses the whole message for one character outside its ranges; say which, instead of a 503 from the send.
    const refused = findRefusedCharacter(envelope, data);
    if (refused) {
      stats.invalid++;
      return send(response, 400, { error: 'invalid_request', message: refusedCharacterMessage(refused) });
    }
    const body = escapeSupplementaryCharacters(envelope);
    if (Buffer.byteLength(body) > limit) {
      stats.invalid++;
      return send(response, 413, {
        error: 'too_large',
        message: `the job must be at most ${limit} bytes with its envelope`,
      });
    }
    if (options.jobTableName) {
      // Written before the send, so a status read right after the 202 finds the job (function-mode semantics).
      // DynamoDB unreachable: nothing is queued yet; the producer retries, as after a refused send.
      const recorded = await options.dynamo
        .send(
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
        )
        .then(
          () => true,
          () => false,
        );
      if (!recorded) {
        stats.unavailable++;
        return send(response, 503, { error: 'unavailable', retryAfterSeconds: 1 }, { 'retry-after': '1' });
      }
    }
    const queueUrl =
      target === 'overflow' && options.overflowQueueUrl
        ? options.overflowQueueUrl
        : lane === 'low' && options.lowLaneQueueUrl
          ? options.lowLaneQueueUrl
          : options.stage.queueUrl;
    try {
      const tenantGroup = stage.queue.fifo ? undefined : tenantGroupIdOf(data, options.tenantKey);
      await batcher.send(queueUrl, {
        MessageBody: body,
        ...(stage.queue.fifo ? { MessageGroupId: correlationId, MessageDeduplicationId: jobId } : {}),
        // Standard queue: the tenant as message group id (SQS fair queues).
        ...(tenantGroup === undefined ? {} : { MessageGroupId: tenantGroup }),
      });
    } catch {
      // Not queued: take the record back and tell the producer to retry, as the IngestApi's enqueue failure does.
      if (options.jobTableName) {
        await options.dynamo
          .send(
            new DeleteItemCommand({ TableName: options.jobTableName, Key: { [JOB_TABLE.partitionKey]: { S: jobId } } }),
          )
          .catch(() => undefined);
      }
      stats.unavailable++;
      return send(response, 503, { error: 'unavailable', retryAfterSeconds: 1 }, { 'retry-after': '1' });
    }
    stats.accepted++;
    if (target === 'overflow') stats.buffered++;
    const statusUrl = `${baseUrl}/jobs/${jobId}`;
    return send(response, 202, { jobId, status: 'accepted', statusUrl }, { location: statusUrl });
  };

  const status = async (response: ServerResponse, jobId: string) => {
    if (!JOB_ID_PATTERN.test(jobId)) {
      return send(response, 400, {
        error: 'invalid_request',
        message: `job id must be 1 to 128 characters of letters, digits and -_.:, but '${jobId}' was provided`,
      });
    }
    if (!options.jobTableName) {
      return send(response, 404, {
        jobId,
        status: 'unknown',
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
      // As the IngestApi's status template (jobStatusTemplate): 404 in function mode, where every issued id is recorded
      // before it is queued; 200 in direct mode, where API Gateway writes no record when it accepts.
      return send(response, ingress?.integration === 'function' ? 404 : 200, { jobId, status: 'unknown' });
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
        message: `no route ${request.method} ${url.pathname}; routes: POST /jobs, GET /jobs/{id}`,
      });
    };
    handle().catch((error: unknown) => {
      send(response, 500, { error: 'internal', message: (error as Error).message });
    });
  });
  // Every open connection holds its socket, parser and pending request in this process: bounded, so a client opening
  // connections without end cannot grow the dev server's memory; connections past the bound are closed at once.
  server.maxConnections = INGRESS_MAX_CONNECTIONS;
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url: baseUrl,
    stats,
    apiKeys: Object.fromEntries([...clients.entries()].map(([key, client]) => [client.name, key])),
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A validator returning the problem as text, or undefined when the body is valid. */
function validatorFor(
  schema: $ZodType | undefined,
  integration: 'direct' | 'function',
): (data: unknown) => string | undefined {
  if (!schema) {
    return () => undefined;
  }
  if (integration === 'function') {
    return (data) => {
      const parsed = safeParse(schema, data);
      return parsed.success
        ? undefined
        : parsed.error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`).join('; ');
    };
  }
  // Direct mode: API Gateway checks the draft-04 model generated from the zod schema.
  // Formats are left unchecked, as API Gateway's validator may leave them (the consumer's zod parse checks them).
  const ajv = new AjvDraft04.default({ allErrors: true, strict: false, validateFormats: false });
  const check = ajv.compile(requestJsonSchema(schema).schema);
  return (data) => {
    if (check(data)) return undefined;
    return (check.errors ?? [])
      .map((error) => {
        const path = error.instancePath.slice(1).replaceAll('/', '.') || '(root)';
        // Name the offending field, not only the rule.
        const extra = (error.params as { additionalProperty?: string }).additionalProperty;
        return extra === undefined ? `${path}: ${error.message}` : `${path}: must not have the field '${extra}'`;
      })
      .join('; ');
  };
}

/** The 415 message, as the IngestApi's UNSUPPORTED_MEDIA_TYPE gateway response says it. */
const UNSUPPORTED_MEDIA_TYPE_MESSAGE = 'Send the job as JSON with Content-Type: application/json.';

/**
 * Whether a Content-Type selects the IngestApi's `application/json` request template. API Gateway treats a missing
 * header as application/json (https://docs.aws.amazon.com/apigateway/latest/developerguide/integration-passthrough-behaviors.html);
 * the type is compared case-insensitively and its parameters (`; charset=utf-8`) are ignored (RFC 9110 §8.3.1).
 */
function isJsonMediaType(contentType: string | undefined): boolean {
  if (contentType === undefined || contentType.trim() === '') return true;
  return contentType.split(';')[0]?.trim().toLowerCase() === 'application/json';
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
