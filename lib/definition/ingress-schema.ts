import * as z from 'zod';
import { API_GATEWAY_LIMITS, LAMBDA_LIMITS, type Range, SQS_LIMITS } from './limits.ts';

/**
 * The zod schema of a pipeline's `ingress` section: the HTTP front door of its first (or named) stage, with
 * throttling, per-client usage plans, the depth-check backpressure thresholds, the overflow buffer and priority lanes.
 * Defaults and rules across fields live in `resolve-ingress.ts`.
 */

function integerIn(range: Range, unit = ''): z.ZodNumber {
  const suffix = unit ? ` ${unit}` : '';
  const message = `must be an integer between ${range.min} and ${range.max}${suffix}`;
  return z.number({ error: message }).int({ error: message }).min(range.min, { error: message }).max(range.max, {
    error: message,
  });
}

function numberIn(range: Range, unit = ''): z.ZodNumber {
  const suffix = unit ? ` ${unit}` : '';
  const message = `must be a number between ${range.min} and ${range.max}${suffix}`;
  return z.number({ error: message }).min(range.min, { error: message }).max(range.max, { error: message });
}

/** Usage plan and API key names: letters, digits and `-_.`, so they are safe in resource names and logs. */
const CLIENT_NAME = /^[A-Za-z][A-Za-z0-9_.-]{0,63}$/;
/** HTTP header names (RFC 9110 tokens), lower case as API Gateway and Node pass them. */
const HEADER_NAME = /^[a-z0-9][a-z0-9-]{0,63}$/;

/** Steady-state rate and burst of a token bucket, as API Gateway's stage and usage plan throttles take them. */
export const ThrottleSettingsSchema = z.strictObject({
  /** Requests per second refilled into the bucket. */
  rateLimitPerSecond: numberIn(API_GATEWAY_LIMITS.rateLimitPerSecond, 'requests per second').optional(),
  /** Size of the bucket: requests that may arrive at once. */
  burstLimit: integerIn(API_GATEWAY_LIMITS.burstLimit, 'requests').optional(),
});

/** Requests a client may make per period (a usage plan quota). */
export const QuotaSettingsSchema = z.strictObject({
  limit: integerIn(API_GATEWAY_LIMITS.quotaLimit, 'requests'),
  period: z.enum(['DAY', 'WEEK', 'MONTH'], { error: 'must be one of DAY, WEEK, MONTH' }),
});

/** One producer: an API key and a usage plan with its own throttle and quota. */
export const IngressClientSchema = z.strictObject({
  name: z.string().regex(CLIENT_NAME, {
    error: 'must be 1 to 64 characters of letters, digits and -_., starting with a letter',
  }),
  rateLimitPerSecond: numberIn(API_GATEWAY_LIMITS.rateLimitPerSecond, 'requests per second'),
  burstLimit: integerIn(API_GATEWAY_LIMITS.burstLimit, 'requests'),
  quota: QuotaSettingsSchema.optional(),
});

/** When the ingress stops saying yes: depth thresholds of the stage's queues and what happens past them. */
export const BackpressureSettingsSchema = z.strictObject({
  /** Depth above which low-priority requests are shed (with priority lanes on). */
  softLimit: integerIn({ min: 1, max: 100_000_000 }, 'messages').optional(),
  /** Depth above which the overload policy applies to every request. */
  hardLimit: integerIn({ min: 1, max: 100_000_000 }, 'messages').optional(),
  /** `reject`: answer 503 with Retry-After. `buffer`: park the request on the overflow queue. */
  overload: z.enum(['reject', 'buffer'], { error: 'must be one of reject, buffer' }).optional(),
  /** How long an authorizer container reuses a queue depth it read. */
  depthCacheTtlSeconds: numberIn({ min: 0.1, max: 60 }, 'seconds').optional(),
  /** How long API Gateway caches an authorizer decision; at most 10 so a shed decision is not kept long. */
  authorizerResultTtlSeconds: integerIn({ min: 0, max: 10 }, 'seconds').optional(),
  /** Ceiling of the `Retry-After` sluice estimates from depth and drain rate. */
  maxRetryAfterSeconds: integerIn({ min: 1, max: 3600 }, 'seconds').optional(),
});

/** The overflow buffer used by the `buffer` overload policy. */
export const OverflowSettingsSchema = z.strictObject({
  /** How long a parked request waits on the overflow queue before SQS deletes it. */
  retentionSeconds: integerIn(SQS_LIMITS.retentionPeriodSeconds, 'seconds').optional(),
  /** Messages per second the drainer moves back into the stage's queue. */
  drainRatePerSecond: integerIn({ min: 1, max: 10_000 }, 'messages per second').optional(),
  /** The drainer moves messages only while the stage's depth is below this (and stops as soon as it is not). */
  lowWatermark: integerIn({ min: 0, max: 100_000_000 }, 'messages').optional(),
  /** Depth of the overflow queue above which even `buffer` rejects with 503. */
  maxDepth: integerIn({ min: 1, max: 1_000_000_000 }, 'messages').optional(),
});

/** Priority lanes: a header routes each request to a high or a low queue, each with its own consumer. */
export const PrioritySettingsSchema = z.strictObject({
  enabled: z.boolean(),
  /** Request header carrying `high` or `low`. */
  header: z
    .string()
    .regex(HEADER_NAME, { error: 'must be a lower-case HTTP header name (letters, digits, hyphens)' })
    .optional(),
  /** Lane of a request without the header. */
  defaultLane: z.enum(['high', 'low'], { error: 'must be one of high, low' }).optional(),
  /** `ScalingConfig.MaximumConcurrency` of the low lane's consumer. */
  lowLaneMaxConcurrency: integerIn(LAMBDA_LIMITS.maxConcurrency).optional(),
});

/** The ingress of a pipeline. */
export const IngressSettingsSchema = z.strictObject({
  /** Name of the stage requests are accepted into. */
  stage: z.string().optional(),
  /** `direct`: API Gateway sends to SQS itself. `function`: an accept Lambda validates with zod and records the job. */
  integration: z.enum(['direct', 'function'], { error: 'must be one of direct, function' }).optional(),
  /** `schemaVersion` written into the envelope of every accepted job. */
  schemaVersion: integerIn({ min: 1, max: 1_000_000 }).optional(),
  /** Stage-wide throttle (API Gateway answers 429 past it). */
  throttle: ThrottleSettingsSchema.optional(),
  /** API keys with their own usage plan each. */
  clients: z
    .array(IngressClientSchema, { error: 'must be a list of clients' })
    .max(100, {
      error: 'must hold at most 100 clients',
    })
    .optional(),
  backpressure: BackpressureSettingsSchema.optional(),
  overflow: OverflowSettingsSchema.optional(),
  priority: PrioritySettingsSchema.optional(),
});

/** The ingress section as written by a user. */
export type IngressInput = z.input<typeof IngressSettingsSchema>;
