import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CONTROL_TABLE } from '../../lib/definition/tables.ts';
import type { AwsClients } from './aws-clients.ts';
import { DeferError, PermanentError } from './errors.ts';

/**
 * A token bucket shared by every container of a stage, on the pipeline's DynamoDB control table.
 *
 * The bucket is kept as one number, its "theoretical arrival time" `tat` (the generic cell rate algorithm, an exact
 * equivalent of a token bucket with `burst` tokens refilled at `ratePerMinute`): each token costs `T = 60,000 /
 * ratePerMinute` ms, and a take of `n` at time `now` is granted when `max(tat, now) + n·T − now ≤ burst·T`, moving
 * `tat` to `max(tat, now) + n·T`. Refill by elapsed time is implicit: the further `now` moves past `tat`, the more
 * room there is. Over any window of `w` ms at most `w / T + burst` tokens are granted, whatever the interleaving.
 *
 * Each take is one atomic conditional `UpdateItem`, with no read first and no retry loop under contention:
 * - busy bucket (`tat > now`): `SET tat = tat + :cost` if `tat > :now AND tat <= :now + burst·T − cost` — additions
 *   commute, so any number of containers take at once without conflicting;
 * - idle bucket (`tat ≤ now`, or no item yet): `SET tat = :now + cost` if `attribute_not_exists(tat) OR tat <= :now`.
 * A take whose condition fails learns the stored `tat` from the failure itself (`ReturnValuesOnConditionCheckFailure`,
 * https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_UpdateItem.html) and from it how long to wait.
 * Condition expressions and `SET a = a + :n` are evaluated atomically on the item
 * (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Expressions.ConditionExpressions.html,
 * https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Expressions.UpdateExpressions.html).
 *
 * Clocks: `now` is the taking container's clock. `tat` only ever moves forward (both updates can only raise it), so
 * a container whose clock runs δ ms ahead can over-grant at most `δ / T` tokens once, when it finds the bucket idle;
 * one running behind only grants less. Lambda's clocks are kept by the Amazon Time Sync Service
 * (https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/set-time.html), so δ is well under a millisecond there.
 *
 * Ceiling: one bucket is one item, and a DynamoDB partition takes at most 1,000 write units per second
 * (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/warm-throughput-scenarios.html), so one limiter
 * answers at most about 1,000 takes per second across all containers (each take writes an item under 1 KB: one
 * unit). Take tokens for a whole downstream call (`take(96)` before an embedding call of 96 texts), not per item.
 *
 * Idle buckets expire by the table's TTL an hour after their last take: a missing item is a full bucket, which is
 * what an hour-idle bucket is anyway.
 */

const { partitionKey, ttlAttribute } = CONTROL_TABLE;

/** A limiter as the definition declares it. */
export interface LimiterOptions {
  /** Tokens refilled per minute. */
  readonly ratePerMinute: number;
  /** Tokens the bucket holds (the largest burst). @default ratePerMinute / 60 × 10, at least 1 (ten seconds' worth) */
  readonly burst?: number;
}

/** {@link LimiterOptions} resolved. */
export interface LimiterSettings {
  readonly ratePerMinute: number;
  readonly burst: number;
}

/** Resolves and checks one limiter's settings; problems are pushed as `field must …, but … was provided`. */
export function resolveLimiterSettings(name: string, options: LimiterOptions, problems: string[]): LimiterSettings {
  const ratePerMinute = options?.ratePerMinute;
  const burst = options?.burst ?? Math.max(1, (ratePerMinute / 60) * 10);
  if (!/^[a-z][a-z0-9-]*$/.test(name)) {
    problems.push(`downstream names must match [a-z][a-z0-9-]*, but ${JSON.stringify(name)} was provided`);
  }
  if (typeof ratePerMinute !== 'number' || !Number.isFinite(ratePerMinute) || ratePerMinute <= 0) {
    problems.push(`downstream.${name}.ratePerMinute must be a number above 0, but ${ratePerMinute} was provided`);
  }
  if (!Number.isFinite(burst) || burst < 1) {
    problems.push(`downstream.${name}.burst must be a number of at least 1, but ${burst} was provided`);
  }
  return { ratePerMinute, burst };
}

/** The control table key of a limiter. */
export function limiterKey(pipeline: string, name: string): string {
  return `limiter#${pipeline}#${name}`;
}

/** The result of one attempt: granted, or how long until `n` tokens will be there. */
export type TakeResult = { readonly granted: true } | { readonly granted: false; readonly waitMs: number };

/**
 * One attempt to take `n` tokens at `nowMs` (see the module comment): one `UpdateItem`, two when the guess of busy
 * or idle was wrong. Exported for tests and benchmarks that need the exact time of each grant.
 */
export async function takeTokens(
  dynamo: DynamoDBClient,
  tableName: string,
  key: string,
  settings: LimiterSettings,
  n: number,
  nowMs: number,
  guessBusy = true,
): Promise<TakeResult> {
  const { UpdateItemCommand, ConditionalCheckFailedException } = await import('@aws-sdk/client-dynamodb');
  const interval = 60_000 / settings.ratePerMinute;
  const cost = n * interval;
  const tolerance = settings.burst * interval;
  const limit = nowMs + tolerance - cost;
  const expiresAt = { N: String(Math.ceil((nowMs + tolerance) / 1000) + 3_600) };
  const names = { '#tat': 'tat', '#ttl': ttlAttribute };
  const keyAttribute = { [partitionKey]: { S: key } };
  const busy = () =>
    new UpdateItemCommand({
      TableName: tableName,
      Key: keyAttribute,
      UpdateExpression: 'SET #tat = #tat + :cost, #ttl = :ttl',
      ConditionExpression: '#tat > :now AND #tat <= :limit',
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: {
        ':cost': { N: String(cost) },
        ':now': { N: String(nowMs) },
        ':limit': { N: String(limit) },
        ':ttl': expiresAt,
      },
      ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
    });
  const idle = () =>
    new UpdateItemCommand({
      TableName: tableName,
      Key: keyAttribute,
      UpdateExpression: 'SET #tat = :next, #ttl = :ttl',
      ConditionExpression: 'attribute_not_exists(#tat) OR #tat <= :now',
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: {
        ':next': { N: String(nowMs + cost) },
        ':now': { N: String(nowMs) },
        ':ttl': expiresAt,
      },
      ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
    });
  // Two tries cover every state: a wrong guess of busy/idle learns the stored tat from the failed condition.
  let command = guessBusy ? busy() : idle();
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      await dynamo.send(command);
      return { granted: true };
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) {
        throw error;
      }
      const stored = error.Item?.tat?.N;
      const tat = stored === undefined ? undefined : Number(stored);
      if (tat !== undefined && tat > limit) {
        return { granted: false, waitMs: Math.max(1, tat - limit) };
      }
      // Bucket idle (or gone) → the idle update; busy with room → the busy one. A concurrent taker may move tat
      // between the two calls; the third try settles it.
      command = tat === undefined || tat <= nowMs ? idle() : busy();
    }
  }
  return { granted: false, waitMs: Math.max(1, interval) };
}

/** A limiter as a handler sees it: `ctx.limiter('embeddings')`. */
export interface Limiter {
  /**
   * Takes `n` tokens, waiting for them when they come within the limiter's wait budget (1 s by default); otherwise
   * throws a {@link DeferError} that the runtime turns into a deferral of the record (no retry budget spent).
   *
   * @example
   * await ctx.limiter('embeddings').take(chunks.length);
   * const vectors = await embed(chunks);
   */
  take(n?: number): Promise<void>;
  /** Takes `n` tokens if they are there now; never waits, never throws for an empty bucket. */
  tryTake(n?: number): Promise<boolean>;
}

/** Everything a {@link RateLimiter} needs. */
export interface RateLimiterOptions {
  readonly clients: AwsClients;
  readonly tableName: string;
  readonly pipeline: string;
  readonly name: string;
  readonly settings: LimiterSettings;
  /** Longest a `take` waits for tokens before deferring the record. @default 1000 */
  readonly maxWaitMs?: number;
  /** @default Date.now */
  readonly clock?: () => number;
}

/** A shared token bucket on the control table; see the module comment. */
export class RateLimiter implements Limiter {
  readonly name: string;
  readonly settings: LimiterSettings;
  /** Takes that had to wait for tokens since the last {@link RateLimiter.drainWaits} (the LimiterWait metric). */
  private waits = 0;
  private readonly key: string;
  private readonly options: RateLimiterOptions;
  private readonly clock: () => number;
  /** When this container last took, to guess which update to try first. */
  private lastTakeAt = Number.NEGATIVE_INFINITY;
  private readonly toleranceMs: number;

  constructor(options: RateLimiterOptions) {
    this.options = options;
    this.name = options.name;
    this.settings = options.settings;
    this.key = limiterKey(options.pipeline, options.name);
    this.clock = options.clock ?? Date.now;
    this.toleranceMs = (options.settings.burst * 60_000) / options.settings.ratePerMinute;
  }

  async tryTake(n = 1): Promise<boolean> {
    return (await this.attempt(n)).granted;
  }

  async take(n = 1): Promise<void> {
    const maxWaitMs = this.options.maxWaitMs ?? 1_000;
    let waitedMs = 0;
    for (;;) {
      const result = await this.attempt(n);
      if (result.granted) {
        if (waitedMs > 0) this.waits++;
        return;
      }
      if (waitedMs + result.waitMs > maxWaitMs) {
        throw new DeferError(
          'rate-limit',
          `Rate limiter '${this.name}' (${this.settings.ratePerMinute}/min, burst ${this.settings.burst}) has no room for ${n} tokens for ${Math.ceil(result.waitMs)} ms, longer than the ${maxWaitMs} ms a take waits; the record is deferred.`,
          Math.ceil(result.waitMs / 1000),
        );
      }
      // A little jitter, so takers that were refused together do not all come back on the same millisecond.
      const sleepMs = result.waitMs + Math.random() * Math.min(50, result.waitMs);
      waitedMs += sleepMs;
      await new Promise((resolve) => setTimeout(resolve, sleepMs));
    }
  }

  /** The number of takes that waited since the last call, and resets it. */
  drainWaits(): number {
    const waits = this.waits;
    this.waits = 0;
    return waits;
  }

  private async attempt(n: number): Promise<TakeResult> {
    if (!Number.isFinite(n) || n <= 0 || n > this.settings.burst) {
      throw new PermanentError(
        `take(n) on rate limiter '${this.name}' needs n above 0 and at most its burst of ${this.settings.burst}, but ${n} was provided.`,
      );
    }
    const dynamo = await this.options.clients.dynamo();
    const now = this.clock();
    // A bucket this container used within the last burst's worth of time is most likely still busy.
    const guessBusy = now - this.lastTakeAt < this.toleranceMs;
    this.lastTakeAt = now;
    return takeTokens(dynamo, this.options.tableName, this.key, this.settings, n, now, guessBusy);
  }
}
