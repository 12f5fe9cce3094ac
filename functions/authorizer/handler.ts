import { SQSClient } from '@aws-sdk/client-sqs';
import type { APIGatewayAuthorizerResult, APIGatewayRequestAuthorizerEvent } from 'aws-lambda';
import { ENV } from '../../lib/definition/environment.ts';
import { PRESSURE_ENV } from '../../lib/definition/pressure.ts';
import type { AuthorizerSettings } from '../../lib/definition/resolve-ingress.ts';
import { type AdmissionDecision, decideAdmission, laneOf } from './decide.ts';
import { IngressConfigurationError } from './errors.ts';
import { QueueDepthReader } from './queue-depth.ts';

/**
 * The depth-check REQUEST authorizer of the `IngestApi`. It authenticates nobody (API keys do that); it decides
 * whether the stage can take one more request, from queue depths it reads at most once per TTL per container.
 *
 * - Admitted: an `Allow` policy with context `{ lane, target, queue, retryAfterSeconds: 0 }`; the accept
 *   integration sends to the queue named by `queue` (the lane's queue, or the overflow queue).
 * - Shed: a `Deny` policy with context `{ reason, stage, retryAfterSeconds, status }` (`stage`: the bottleneck); the API's ACCESS_DENIED gateway
 *   response turns it into `503`, a `Retry-After` header and `{ "error": "overloaded", "retryAfterSeconds": n }`.
 *
 * The policy covers every method of the stage (the result is cached by API Gateway for at most 10 s, keyed by
 * identity sources that change every second), so a cached decision never denies a route it was not made for.
 */

/** The queues the authorizer watches and routes to. */
export interface AuthorizerQueues {
  /** The stage's queue (the high lane when priority lanes are on). */
  readonly queueUrl: string;
  /** The low lane's queue, with priority lanes on. */
  readonly lowLaneQueueUrl?: string;
  /** The overflow queue, with the `buffer` overload policy. */
  readonly overflowQueueUrl?: string;
  /** The queues of the stages after the ingress stage, in the order of `settings.downstream`. @default [] */
  readonly downstreamQueueUrls?: readonly string[];
}

/** Options of {@link createAuthorizer}. */
export interface AuthorizerOptions {
  readonly settings: AuthorizerSettings;
  readonly queues: AuthorizerQueues;
  /** @default a client with the SDK's default configuration (honours AWS_ENDPOINT_URL) */
  readonly sqs?: SQSClient;
  /** Clock of the depth cache. @default Date.now */
  readonly now?: () => number;
}

/** The authorizer as a function of one event: what `handler` runs, and what tests and the local ingress call. */
export type Authorizer = (event: APIGatewayRequestAuthorizerEvent) => Promise<APIGatewayAuthorizerResult>;

/** The principal of every decision: the authorizer identifies no caller. */
export const AUTHORIZER_PRINCIPAL = 'sluice-ingress';

/**
 * Builds an authorizer with its own depth cache.
 *
 * @example
 * const authorize = createAuthorizer({ settings, queues: { queueUrl } });
 * const result = await authorize(event);
 */
export function createAuthorizer(options: AuthorizerOptions): Authorizer {
  const { settings, queues } = options;
  const laneQueues = [
    queues.queueUrl,
    ...(settings.priorityEnabled && queues.lowLaneQueueUrl ? [queues.lowLaneQueueUrl] : []),
  ];
  const overflowUrl = settings.overload === 'buffer' ? queues.overflowQueueUrl : undefined;
  if (settings.overload === 'buffer' && !overflowUrl) {
    throw new IngressConfigurationError('the overload policy is buffer, but no overflow queue URL was provided');
  }
  if (settings.priorityEnabled && !queues.lowLaneQueueUrl) {
    throw new IngressConfigurationError('priority lanes are on, but no low lane queue URL was provided');
  }
  const downstreamUrls = queues.downstreamQueueUrls ?? [];
  const downstreamStages = settings.downstream ?? [];
  if (downstreamUrls.length !== downstreamStages.length) {
    throw new IngressConfigurationError(
      `whole-pipeline admission watches ${downstreamStages.length} downstream stages, but ${downstreamUrls.length} downstream queue URLs were provided`,
    );
  }
  // One reader for every queue: one GetQueueAttributes per queue per TTL, however many stages are watched.
  const reader = new QueueDepthReader({
    // The endpoint comes from the Region or AWS_ENDPOINT_URL, never from a queue URL's host.
    sqs: options.sqs ?? new SQSClient({ useQueueUrlAsEndpoint: false }),
    queueUrls: [...laneQueues, ...(overflowUrl ? [overflowUrl] : []), ...downstreamUrls],
    ttlMs: settings.depthCacheTtlSeconds * 1000,
    ...(options.now ? { now: options.now } : {}),
  });
  const header = settings.priorityHeader.toLowerCase();

  return async (event) => {
    // The status route shares the authorizer (and its cache, keyed by method): reading a job is never shed.
    if (event.httpMethod === 'GET') return allowRead(event.methodArn);
    const lane = settings.priorityEnabled ? laneOf(headerOf(event, header), settings.defaultLane) : 'high';
    const snapshot = await reader.read();
    if (snapshot.error) {
      // Fail open on the last good depths: the accept call still needs SQS, and a producer cannot act on a 5xx
      // caused by a metrics read. Logged once per TTL at most (one failed refresh per TTL).
      logStaleDepth(snapshot.error, snapshot.readAt);
    }
    const highDepth = snapshot.depths.get(queues.queueUrl) ?? 0;
    const lowDepth =
      laneQueues.length > 1 && queues.lowLaneQueueUrl ? (snapshot.depths.get(queues.lowLaneQueueUrl) ?? 0) : 0;
    const depth = highDepth + lowDepth;
    const overflowDepth = overflowUrl ? (snapshot.depths.get(overflowUrl) ?? 0) : undefined;
    const decision = decideAdmission({
      depth,
      laneDepth: lane === 'low' ? lowDepth : highDepth,
      lane,
      settings,
      downstreamDepths: downstreamUrls.map((url) => snapshot.depths.get(url) ?? 0),
      ...(overflowDepth === undefined ? {} : { overflowDepth }),
    });
    return policyFor(event.methodArn, decision, queues, depth);
  };
}

let lastLoggedReadAt = Number.NEGATIVE_INFINITY;
function logStaleDepth(error: Error, readAt: number): void {
  if (readAt === lastLoggedReadAt) return;
  lastLoggedReadAt = readAt;
  console.warn(
    JSON.stringify({
      level: 'WARN',
      message: 'Queue depth could not be read; deciding on the last known depths',
      error: error.message,
    }),
  );
}

function allowRead(methodArn: string): APIGatewayAuthorizerResult {
  return {
    principalId: AUTHORIZER_PRINCIPAL,
    policyDocument: {
      Version: '2012-10-17',
      Statement: [{ Action: 'execute-api:Invoke', Effect: 'Allow', Resource: stageWildcardArn(methodArn) }],
    },
    context: { retryAfterSeconds: 0 },
  };
}

function headerOf(event: APIGatewayRequestAuthorizerEvent, name: string): string | undefined {
  const headers = event.headers;
  if (!headers) return undefined;
  const exact = headers[name];
  if (exact !== undefined) return exact;
  for (const key of Object.keys(headers)) {
    if (key.toLowerCase() === name) return headers[key];
  }
  return undefined;
}

/** `arn:aws:execute-api:region:account:api/stage/*`: every method of the stage the request came to. */
export function stageWildcardArn(methodArn: string): string {
  const [apiPart, stage] = methodArn.split('/');
  return `${apiPart}/${stage ?? '*'}/*`;
}

/** The queue name in a queue URL (`https://sqs.region.amazonaws.com/account/name`). */
export function queueNameOf(queueUrl: string): string {
  return queueUrl.slice(queueUrl.lastIndexOf('/') + 1);
}

function policyFor(
  methodArn: string,
  decision: AdmissionDecision,
  queues: AuthorizerQueues,
  depth: number,
): APIGatewayAuthorizerResult {
  const resource = stageWildcardArn(methodArn);
  if (decision.admit) {
    const url =
      decision.target === 'overflow'
        ? (queues.overflowQueueUrl as string)
        : decision.lane === 'low' && queues.lowLaneQueueUrl
          ? queues.lowLaneQueueUrl
          : queues.queueUrl;
    return {
      principalId: AUTHORIZER_PRINCIPAL,
      policyDocument: {
        Version: '2012-10-17',
        Statement: [{ Action: 'execute-api:Invoke', Effect: 'Allow', Resource: resource }],
      },
      context: {
        lane: decision.lane,
        target: decision.target,
        queue: queueNameOf(url),
        retryAfterSeconds: 0,
        depth,
      },
    };
  }
  return {
    principalId: AUTHORIZER_PRINCIPAL,
    policyDocument: {
      Version: '2012-10-17',
      Statement: [{ Action: 'execute-api:Invoke', Effect: 'Deny', Resource: resource }],
    },
    context: {
      status: decision.status,
      reason: decision.reason,
      stage: decision.stage,
      retryAfterSeconds: decision.retryAfterSeconds,
      depth,
    },
  };
}

/** Reads the authorizer's settings and queues from its environment (set by the `IngestApi`). */
export function authorizerOptionsFromEnvironment(env: NodeJS.ProcessEnv = process.env): AuthorizerOptions {
  const queueUrl = env[ENV.queueUrl];
  const raw = env[ENV.admission];
  if (!queueUrl) throw new IngressConfigurationError(`${ENV.queueUrl} is not set`);
  if (!raw) throw new IngressConfigurationError(`${ENV.admission} is not set`);
  let settings: AuthorizerSettings;
  try {
    settings = JSON.parse(raw) as AuthorizerSettings;
  } catch (error) {
    throw new IngressConfigurationError(`${ENV.admission} is not valid JSON`, { cause: error });
  }
  const low = env[ENV.lowLaneQueueUrl];
  const overflow = env[ENV.overflowQueueUrl];
  const downstreamRaw = env[PRESSURE_ENV.downstreamQueueUrls];
  let downstreamQueueUrls: string[] = [];
  if (downstreamRaw) {
    try {
      downstreamQueueUrls = JSON.parse(downstreamRaw) as string[];
    } catch (error) {
      throw new IngressConfigurationError(`${PRESSURE_ENV.downstreamQueueUrls} is not valid JSON`, { cause: error });
    }
  }
  return {
    settings,
    queues: {
      queueUrl,
      ...(low ? { lowLaneQueueUrl: low } : {}),
      ...(overflow ? { overflowQueueUrl: overflow } : {}),
      downstreamQueueUrls,
    },
  };
}

let authorize: Authorizer | undefined;

/**
 * The Lambda entry point. The authorizer (and its depth cache) is created on the first event and reused for the
 * container's life.
 */
export async function handler(event: APIGatewayRequestAuthorizerEvent): Promise<APIGatewayAuthorizerResult> {
  authorize ??= createAuthorizer(authorizerOptionsFromEnvironment());
  return authorize(event);
}
