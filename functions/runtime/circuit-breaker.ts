import type { AttributeValue, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { BREAKER_DEFAULTS } from '../../lib/definition/pressure.ts';
import { CONTROL_TABLE } from '../../lib/definition/tables.ts';
import type { AwsClients } from './aws-clients.ts';
import type { Logger } from './log.ts';

/**
 * A circuit breaker per stage, its state shared by every container of the stage in the control table
 * (`breaker#<pipeline>#<stage>`), so one container's view of a failing downstream holds back all of them:
 *
 * - `closed`: records run; their outcomes are counted over a window of `windowSeconds`. Once the window holds at
 *   least `minimumCalls` outcomes and the failures reach `failureRatio` of them, the breaker opens.
 * - `open`: records are deferred without running (no retry budget spent) for `openSeconds`; the valve may also
 *   disable the stage's event source mapping meanwhile.
 * - `half-open`: after `openSeconds`, at most `halfOpenProbes` records run as probes, across all containers. Each
 *   probe that succeeds counts; once `halfOpenProbes` succeeded the breaker closes, and one probe that fails opens it
 *   again for another `openSeconds`.
 *
 * {@link breakerTransition} is the whole state machine as a pure function; the runtime, the valve and the local poller
 * all use it. Writes are conditional on the item's `version` (optimistic concurrency), except the common one — adding
 * a batch's outcomes to a closed breaker's window — which is a single atomic `ADD`.
 */

const { partitionKey, ttlAttribute } = CONTROL_TABLE;

/** A breaker's settings, as the definition resolves them. */
export interface BreakerSettings {
  /** Share of failed calls in the window that opens the breaker. */
  readonly failureRatio: number;
  readonly windowSeconds: number;
  /** Outcomes the window needs before the ratio counts. */
  readonly minimumCalls: number;
  /** How long the breaker stays open before half-open probes. */
  readonly openSeconds: number;
  /** Probes in half-open, across all containers; that many successes close the breaker. */
  readonly halfOpenProbes: number;
}

/** The definition's defaults. */
export const DEFAULT_BREAKER: BreakerSettings = BREAKER_DEFAULTS;

/** One of the breaker's states. */
export type BreakerStatus = 'closed' | 'open' | 'half-open';

/** A breaker's shared state. */
export interface BreakerState {
  readonly status: BreakerStatus;
  /** Start of the counting window (closed), epoch ms. */
  readonly windowStartMs: number;
  readonly calls: number;
  readonly failures: number;
  /** When it last opened (open), or when its current round of probes began (half-open); epoch ms. */
  readonly openedAtMs: number;
  /** Probes let through since half-open began. */
  readonly probes: number;
  readonly probeSuccesses: number;
  /** Optimistic-concurrency version of the stored item; 0 when there is none. */
  readonly version: number;
}

/** What happens to a breaker. */
export type BreakerEvent =
  /** A record asks to run. */
  | { readonly type: 'admit' }
  /** Outcomes of downstream calls (a batch's worth). */
  | { readonly type: 'outcomes'; readonly successes: number; readonly failures: number };

/** The state after an event, and for `admit` whether the record may run. */
export interface BreakerStep {
  readonly state: BreakerState;
  readonly admitted: boolean;
  /** Whether `state` differs from the state before (a write is needed). */
  readonly changed: boolean;
}

/** A closed breaker with an empty window starting at `nowMs`. */
export function closedBreaker(nowMs: number, version = 0): BreakerState {
  return {
    status: 'closed',
    windowStartMs: nowMs,
    calls: 0,
    failures: 0,
    openedAtMs: 0,
    probes: 0,
    probeSuccesses: 0,
    version,
  };
}

/** The breaker's state machine (see the module comment). Pure: the same inputs give the same step. */
export function breakerTransition(
  state: BreakerState,
  event: BreakerEvent,
  settings: BreakerSettings,
  nowMs: number,
): BreakerStep {
  const unchanged = (admitted: boolean): BreakerStep => ({ state, admitted, changed: false });
  const opened = (): BreakerState => ({ ...closedBreaker(nowMs, state.version), status: 'open', openedAtMs: nowMs });
  if (event.type === 'admit') {
    if (state.status === 'closed') return unchanged(true);
    if (state.status === 'open') {
      if (nowMs < state.openedAtMs + settings.openSeconds * 1000) return unchanged(false);
      return {
        state: { ...state, status: 'half-open', openedAtMs: nowMs, probes: 1, probeSuccesses: 0 },
        admitted: true,
        changed: true,
      };
    }
    if (state.probes >= settings.halfOpenProbes) {
      // Probes that never reported (their container died, or they failed on bad data, which says nothing about the
      // downstream) would hold the breaker half-open forever: after another openSeconds a new round of probes starts.
      if (nowMs < state.openedAtMs + settings.openSeconds * 1000) return unchanged(false);
      return { state: { ...state, openedAtMs: nowMs, probes: 1 }, admitted: true, changed: true };
    }
    return { state: { ...state, probes: state.probes + 1 }, admitted: true, changed: true };
  }
  if (event.successes === 0 && event.failures === 0) return unchanged(false);
  if (state.status === 'open') {
    // Late outcomes of records that started before the breaker opened say nothing new.
    return unchanged(false);
  }
  if (state.status === 'half-open') {
    if (event.failures > 0) return { state: opened(), admitted: false, changed: true };
    const probeSuccesses = state.probeSuccesses + event.successes;
    if (probeSuccesses >= settings.halfOpenProbes) {
      return { state: closedBreaker(nowMs, state.version), admitted: false, changed: true };
    }
    return { state: { ...state, probeSuccesses }, admitted: false, changed: true };
  }
  const expired = nowMs - state.windowStartMs >= settings.windowSeconds * 1000;
  const base = expired ? closedBreaker(nowMs, state.version) : state;
  const calls = base.calls + event.successes + event.failures;
  const failures = base.failures + event.failures;
  if (calls >= settings.minimumCalls && failures / calls >= settings.failureRatio) {
    return { state: opened(), admitted: false, changed: true };
  }
  return { state: { ...base, calls, failures }, admitted: false, changed: true };
}

/**
 * Whether the breaker holds the stage back entirely (open, its open period still running): what the valve and the
 * local poller pause the stage's event source for. Half-open does not block: probes must be able to arrive.
 *
 * @example
 * const state = await readBreaker(dynamo, table, pipeline, stage);
 * const enabled = !breakerBlocks(state, settings, Date.now());
 */
export function breakerBlocks(state: BreakerState, settings: BreakerSettings, nowMs: number): boolean {
  return state.status === 'open' && nowMs < state.openedAtMs + settings.openSeconds * 1000;
}

/** Seconds until an open breaker allows probes (at least 1), for a deferral's delay. */
export function breakerRetryAfterSeconds(state: BreakerState, settings: BreakerSettings, nowMs: number): number {
  return Math.max(1, Math.ceil((state.openedAtMs + settings.openSeconds * 1000 - nowMs) / 1000));
}

/** The control table key of a stage's breaker. */
export function breakerKey(pipeline: string, stage: string): string {
  return `breaker#${pipeline}#${stage}`;
}

/**
 * Reads a stage's breaker (strongly consistent). A stage whose breaker was never written is closed.
 *
 * @example
 * const state = await readBreaker(dynamo, process.env.SLUICE_CONTROL_TABLE, 'documents', 'embed');
 * if (state.status === 'open') await disableEventSource();
 */
export async function readBreaker(
  dynamo: DynamoDBClient,
  tableName: string,
  pipeline: string,
  stage: string,
  nowMs = Date.now(),
): Promise<BreakerState> {
  const { GetItemCommand } = await import('@aws-sdk/client-dynamodb');
  const result = await dynamo.send(
    new GetItemCommand({
      TableName: tableName,
      Key: { [partitionKey]: { S: breakerKey(pipeline, stage) } },
      ConsistentRead: true,
    }),
  );
  return result.Item ? fromItem(result.Item) : closedBreaker(nowMs);
}

function fromItem(item: Record<string, AttributeValue>): BreakerState {
  const number = (name: string) => Number(item[name]?.N ?? 0);
  const status = item.status?.S;
  return {
    status: status === 'open' || status === 'half-open' ? status : 'closed',
    windowStartMs: number('windowStartMs'),
    calls: number('calls'),
    failures: number('failures'),
    openedAtMs: number('openedAtMs'),
    probes: number('probes'),
    probeSuccesses: number('probeSuccesses'),
    version: number('version'),
  };
}

/** Everything a {@link CircuitBreaker} needs. */
export interface CircuitBreakerOptions {
  readonly clients: AwsClients;
  readonly tableName: string;
  readonly pipeline: string;
  readonly stage: string;
  readonly settings: BreakerSettings;
  readonly clock: () => number;
  readonly logger: Logger;
  /** How long a container trusts its last read of the state. @default 1000 */
  readonly cacheMs?: number;
}

/** A stage's breaker as one container sees it: a cached view of the shared state, and the outcomes of its batch. */
export class CircuitBreaker {
  readonly settings: BreakerSettings;
  private readonly options: CircuitBreakerOptions;
  private readonly key: string;
  private cached: BreakerState | undefined;
  private readAt = Number.NEGATIVE_INFINITY;
  private pendingRead: Promise<BreakerState> | undefined;
  private successes = 0;
  private failures = 0;
  /** Records held back since the last {@link CircuitBreaker.flush} (the BreakerOpen metric). */
  private held = 0;

  constructor(options: CircuitBreakerOptions) {
    this.options = options;
    this.settings = options.settings;
    this.key = breakerKey(options.pipeline, options.stage);
  }

  /**
   * Whether a record may run now: `undefined` if it may, else the seconds to wait. A closed breaker costs no call
   * (its state is cached for a second); an open one costs none until its open period ends; half-open probes take a
   * slot with a conditional write, so probes are limited across containers.
   */
  async admit(): Promise<number | undefined> {
    const now = this.options.clock();
    const state = await this.view(now);
    if (state.status === 'closed') return undefined;
    if (state.status === 'open' && now < state.openedAtMs + this.settings.openSeconds * 1000) {
      this.held++;
      return breakerRetryAfterSeconds(state, this.settings, now);
    }
    const step = await this.apply({ type: 'admit' }, now);
    if (step.admitted) return undefined;
    this.held++;
    return step.state.status === 'open'
      ? breakerRetryAfterSeconds(step.state, this.settings, now)
      : Math.max(1, Math.min(5, this.settings.openSeconds));
  }

  /** Counts one downstream call's outcome; written with the batch's others by {@link CircuitBreaker.flush}. */
  record(ok: boolean): void {
    if (ok) this.successes++;
    else this.failures++;
  }

  /** Writes the outcomes counted since the last flush; returns how many records were held back meanwhile. */
  async flush(): Promise<number> {
    const held = this.held;
    this.held = 0;
    const successes = this.successes;
    const failures = this.failures;
    this.successes = 0;
    this.failures = 0;
    if (successes + failures > 0) {
      try {
        await this.apply({ type: 'outcomes', successes, failures }, this.options.clock());
      } catch (error) {
        this.options.logger.warn('Could not record downstream outcomes in the circuit breaker', { error });
      }
    }
    return held;
  }

  private async view(now: number): Promise<BreakerState> {
    if (this.cached !== undefined && now - this.readAt < (this.options.cacheMs ?? 1_000)) {
      return this.cached;
    }
    this.pendingRead ??= this.read(now).finally(() => {
      this.pendingRead = undefined;
    });
    return this.pendingRead;
  }

  private async read(now: number): Promise<BreakerState> {
    const dynamo = await this.options.clients.dynamo();
    const state = await readBreaker(dynamo, this.options.tableName, this.options.pipeline, this.options.stage, now);
    this.remember(state, now);
    return state;
  }

  private remember(state: BreakerState, now: number): void {
    this.cached = state;
    this.readAt = now;
  }

  /** Applies an event to the shared state: an atomic ADD for a closed window, else read + conditional put. */
  private async apply(event: BreakerEvent, now: number): Promise<BreakerStep> {
    const { UpdateItemCommand, PutItemCommand, ConditionalCheckFailedException } = await import(
      '@aws-sdk/client-dynamodb'
    );
    const dynamo = await this.options.clients.dynamo();
    const cached = this.cached;
    if (
      event.type === 'outcomes' &&
      cached?.status === 'closed' &&
      cached.version > 0 &&
      now - cached.windowStartMs < this.settings.windowSeconds * 1000
    ) {
      try {
        const result = await dynamo.send(
          new UpdateItemCommand({
            TableName: this.options.tableName,
            Key: { [partitionKey]: { S: this.key } },
            UpdateExpression: 'ADD calls :calls, failures :failures',
            ConditionExpression: '#status = :closed AND windowStartMs = :window',
            ExpressionAttributeNames: { '#status': 'status' },
            ExpressionAttributeValues: {
              ':calls': { N: String(event.successes + event.failures) },
              ':failures': { N: String(event.failures) },
              ':closed': { S: 'closed' },
              ':window': { N: String(cached.windowStartMs) },
            },
            ReturnValues: 'ALL_NEW',
          }),
        );
        const added = fromItem(result.Attributes ?? {});
        this.remember(added, now);
        // Crossing the threshold is a state change: a zero-outcome step re-evaluates it with a conditional write.
        const calls = added.calls;
        if (!(calls >= this.settings.minimumCalls && added.failures / calls >= this.settings.failureRatio)) {
          return { state: added, admitted: false, changed: true };
        }
        return this.put(
          { ...closedBreaker(now, added.version), status: 'open', openedAtMs: now },
          added.version,
          dynamo,
          PutItemCommand,
          ConditionalCheckFailedException,
          now,
        ).then((state) => ({ state: state ?? added, admitted: false, changed: true }));
      } catch (error) {
        if (!(error instanceof ConditionalCheckFailedException)) throw error;
      }
    }
    for (let attempt = 0; attempt < 5; attempt++) {
      const current = await this.read(now);
      const step = breakerTransition(current, event, this.settings, now);
      if (!step.changed) return step;
      const written = await this.put(
        step.state,
        current.version,
        dynamo,
        PutItemCommand,
        ConditionalCheckFailedException,
        now,
      );
      if (written) {
        if (written.status !== current.status) {
          this.options.logger.warn('The circuit breaker changed state', {
            from: current.status,
            to: written.status,
            calls: current.calls,
            failures: current.failures,
          });
        }
        return { ...step, state: written };
      }
    }
    // Lost the race five times: others are writing; take their view and let this record wait a moment.
    return { state: this.cached ?? closedBreaker(now), admitted: false, changed: false };
  }

  /** Writes `state` if the stored version is still `expected`; returns the written state, or undefined on a conflict. */
  private async put(
    state: BreakerState,
    expected: number,
    dynamo: DynamoDBClient,
    PutItemCommand: typeof import('@aws-sdk/client-dynamodb').PutItemCommand,
    ConditionalCheckFailedException: typeof import('@aws-sdk/client-dynamodb').ConditionalCheckFailedException,
    now: number,
  ): Promise<BreakerState | undefined> {
    const written = { ...state, version: expected + 1 };
    const n = (value: number) => ({ N: String(value) });
    try {
      await dynamo.send(
        new PutItemCommand({
          TableName: this.options.tableName,
          Item: {
            [partitionKey]: { S: this.key },
            status: { S: written.status },
            windowStartMs: n(written.windowStartMs),
            calls: n(written.calls),
            failures: n(written.failures),
            openedAtMs: n(written.openedAtMs),
            probes: n(written.probes),
            probeSuccesses: n(written.probeSuccesses),
            version: n(written.version),
            // A breaker untouched for a day is forgotten (closed), as it would be by then anyway.
            [ttlAttribute]: n(Math.ceil(now / 1000) + 86_400),
          },
          ConditionExpression: expected === 0 ? 'attribute_not_exists(#key)' : 'version = :expected',
          ExpressionAttributeNames: expected === 0 ? { '#key': partitionKey } : undefined,
          ExpressionAttributeValues: expected === 0 ? undefined : { ':expected': n(expected) },
        }),
      );
      this.remember(written, now);
      return written;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return undefined;
      throw error;
    }
  }
}
