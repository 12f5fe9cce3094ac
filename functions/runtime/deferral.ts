import type { MessageAttributeValue } from '@aws-sdk/client-sqs';
import type { SQSRecord } from 'aws-lambda';
import { SQS_LIMITS } from '../../lib/definition/limits.ts';
import type { AwsClients } from './aws-clients.ts';
import type { DeferralReason } from './errors.ts';

/**
 * Deferral: how a record held back by pressure (the next stage over its depth limit, an empty rate limiter, an open
 * circuit breaker, a tenant over its in-flight cap) waits without spending its retry budget.
 *
 * Why not just a visibility change. SQS counts every receive: each time Lambda's event source mapping receives a
 * message, its `ApproximateReceiveCount` goes up by one, and once it exceeds the redrive policy's `maxReceiveCount`
 * SQS moves the message to the dead-letter queue, whatever the reason it was not deleted
 * (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-dead-letter-queues.html). Returning
 * a pressured record as a batch item failure with a longer visibility timeout would therefore spend one attempt per
 * wait, and a long outage downstream would dead-letter healthy jobs.
 *
 * What sluice does instead, on standard queues: it sends the record's body again to its own queue — the same envelope,
 * so the same job id, idempotency key and correlation id — with a per-message `DelaySeconds` (backoff with jitter,
 * at most 900 s, SQS's maximum message timer:
 * https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-message-timers.html) and the message
 * attributes `sluice-deferrals` (how many times) and `sluice-deferred-reason`; only once that send succeeded is the
 * original reported done, so Lambda deletes it. The new message starts with a receive count of zero. If the function
 * dies between the two, both copies exist and the job runs twice at most, which idempotency absorbs — never zero times.
 * The job's status stays where it was (never `failed`), and an idempotency key claimed by the record is released.
 *
 * Limits. FIFO queues do not support per-message timers (same page), and a message sent again would go to the back
 * of its group and break its order; there a deferral falls back to a batch item failure with a visibility change,
 * which does count a receive — on FIFO, pausing the stage (the valve disables the event source mapping) is what
 * holds records without spending attempts. The same fallback applies when the record already carries more message
 * attributes than SQS allows with sluice's two added (10,
 * https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-message-metadata.html) or the send
 * fails. And deferral is bounded: after `maxDeferrals` the record is dead-lettered with `DeferralLimitExceededError`.
 */

/** Message attributes a deferred message carries. */
export const DEFERRAL_ATTRIBUTES = {
  /** How many times the job was deferred so far (Number). */
  count: 'sluice-deferrals',
  /** Why it was last deferred (String, a {@link DeferralReason}). */
  reason: 'sluice-deferred-reason',
} as const;

/** How long deferred records wait and how often they may be deferred. */
export interface DeferralOptions {
  /** Delay of the first deferral, doubling with each one. @default 2 */
  readonly baseSeconds?: number;
  /** Longest delay; SQS allows at most 900. @default 60 */
  readonly maxSeconds?: number;
  /** Deferrals after which the record is dead-lettered instead. @default 1000 (about half a day at the default delays) */
  readonly maxDeferrals?: number;
}

/** {@link DeferralOptions} with every field set. */
export type DeferralSettings = Required<DeferralOptions>;

/** Defaults of {@link DeferralOptions}. */
export const DEFAULT_DEFERRAL: DeferralSettings = { baseSeconds: 2, maxSeconds: 60, maxDeferrals: 1000 };

const MAX_DELAY_SECONDS = SQS_LIMITS.deliveryDelaySeconds.max;
/** SQS allows 10 message attributes per message (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-message-metadata.html). */
const MAX_MESSAGE_ATTRIBUTES = 10;

/** Resolves and checks {@link DeferralOptions}; problems are pushed to `problems` as `field must …, but … was provided`. */
export function resolveDeferral(options: DeferralOptions | undefined, problems: string[]): DeferralSettings {
  const settings = { ...DEFAULT_DEFERRAL, ...options };
  if (!Number.isFinite(settings.baseSeconds) || settings.baseSeconds < 0 || settings.baseSeconds > MAX_DELAY_SECONDS) {
    problems.push(
      `deferral.baseSeconds must be between 0 and ${MAX_DELAY_SECONDS}, but ${settings.baseSeconds} was provided`,
    );
  }
  if (!Number.isFinite(settings.maxSeconds) || settings.maxSeconds < 0 || settings.maxSeconds > MAX_DELAY_SECONDS) {
    problems.push(
      `deferral.maxSeconds must be between 0 and ${MAX_DELAY_SECONDS}, but ${settings.maxSeconds} was provided`,
    );
  }
  if (!Number.isInteger(settings.maxDeferrals) || settings.maxDeferrals < 1) {
    problems.push(`deferral.maxDeferrals must be an integer of at least 1, but ${settings.maxDeferrals} was provided`);
  }
  return settings;
}

/** How many times the record was deferred before this delivery (0 for a record never deferred). */
export function deferralsOf(record: SQSRecord): number {
  const value = record.messageAttributes?.[DEFERRAL_ATTRIBUTES.count]?.stringValue;
  const count = value === undefined ? 0 : Number(value);
  return Number.isInteger(count) && count > 0 ? count : 0;
}

/**
 * The delay of a record's `deferrals + 1`-th deferral: exponential in the number of deferrals with "equal jitter"
 * (between half and all of `min(max, base × 2^deferrals)`, so a crowd of deferred records spreads out but none comes
 * back at once), at least `retryAfterSeconds` when the source of the pressure knows when it ends, at most `maxSeconds`.
 */
export function deferralDelaySeconds(
  deferrals: number,
  settings: DeferralSettings,
  retryAfterSeconds?: number,
  random: () => number = Math.random,
): number {
  const max = Math.min(settings.maxSeconds, MAX_DELAY_SECONDS);
  const ceiling = Math.min(max, settings.baseSeconds * 2 ** Math.min(deferrals, 30));
  const jittered = ceiling / 2 + (random() * ceiling) / 2;
  return Math.min(max, Math.ceil(Math.max(retryAfterSeconds ?? 0, jittered)));
}

/** One record to send again. */
export interface Deferral {
  readonly record: SQSRecord;
  readonly reason: DeferralReason;
  readonly delaySeconds: number;
  /** Deferrals including this one. */
  readonly deferrals: number;
}

/** Whether a record can be deferred by sending it again (standard queue, room for sluice's two attributes). */
export function canResend(record: SQSRecord): boolean {
  if (record.eventSourceARN.endsWith('.fifo')) {
    return false;
  }
  let own = 0;
  for (const name of Object.keys(record.messageAttributes ?? {})) {
    if (name !== DEFERRAL_ATTRIBUTES.count && name !== DEFERRAL_ATTRIBUTES.reason) own++;
  }
  return own + 2 <= MAX_MESSAGE_ATTRIBUTES;
}

/**
 * Sends each deferral to `queueUrl` with its delay, body and attributes (SendMessageBatch, ten at a time), and
 * returns the indexes of those that could not be sent: they must not be reported done.
 */
export async function resendDeferred(
  clients: AwsClients,
  queueUrl: string,
  deferrals: readonly Deferral[],
): Promise<Set<number>> {
  const failed = new Set<number>();
  if (deferrals.length === 0) {
    return failed;
  }
  const [{ SendMessageBatchCommand }, sqs] = await Promise.all([import('@aws-sdk/client-sqs'), clients.sqs()]);
  const calls: Promise<void>[] = [];
  const batch = SQS_LIMITS.batchEntries.max;
  for (let start = 0; start < deferrals.length; start += batch) {
    const entries = deferrals.slice(start, start + batch).map((deferral, offset) => ({
      Id: String(start + offset),
      MessageBody: deferral.record.body,
      DelaySeconds: deferral.delaySeconds,
      MessageAttributes: {
        ...carriedAttributes(deferral.record),
        [DEFERRAL_ATTRIBUTES.count]: { DataType: 'Number', StringValue: String(deferral.deferrals) },
        [DEFERRAL_ATTRIBUTES.reason]: { DataType: 'String', StringValue: deferral.reason },
      },
    }));
    calls.push(
      sqs.send(new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: entries })).then(
        (result) => {
          for (const entry of result.Failed ?? []) failed.add(Number(entry.Id));
        },
        () => {
          for (const entry of entries) failed.add(Number(entry.Id));
        },
      ),
    );
  }
  await Promise.all(calls);
  return failed;
}

/** The record's own message attributes in SendMessage's shape (Lambda delivers them lower-camel-cased, binary as base64). */
function carriedAttributes(record: SQSRecord): Record<string, MessageAttributeValue> {
  const carried: Record<string, MessageAttributeValue> = {};
  for (const [name, value] of Object.entries(record.messageAttributes ?? {})) {
    if (name === DEFERRAL_ATTRIBUTES.count || name === DEFERRAL_ATTRIBUTES.reason) continue;
    carried[name] =
      value.binaryValue !== undefined
        ? { DataType: value.dataType, BinaryValue: Buffer.from(value.binaryValue, 'base64') }
        : { DataType: value.dataType, StringValue: value.stringValue ?? '' };
  }
  return carried;
}
