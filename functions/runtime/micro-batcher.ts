import { PoisonItemError, TransientError } from './errors.ts';

/**
 * A micro-batcher: gathers items (from every record of a batch) into downstream calls of up to `maxItems` items and
 * `maxBytes` bytes, waiting at most `maxWaitMs` for a call to fill, and gives each item its own outcome.
 *
 * Poison isolation. When a whole call fails with an item-level error (anything but a transient one: a 4xx, a
 * validation error), the call is bisected to find the item(s) that make it fail, assuming a call fails whenever it
 * contains a poison item:
 *
 * 1. The failed set `C` is known to hold a poison item. Its first half `L` is called: if `L` succeeds, its items are
 *    done and the poison is in the second half `R`, which is not called (it would fail) but split in turn; if `L`
 *    fails, the search goes on in `L` and `R` is set aside, its status unknown.
 * 2. When `C` is down to one item, that item is the poison: its record fails with {@link PoisonItemError}.
 * 3. Everything set aside is called once, together: success ends the search, an item-level failure starts it again
 *    on that set (known to hold another poison item).
 *
 * Guarantee: with one poison item among `n`, the failed call is followed by at most ⌈log2 n⌉ + 1 calls (⌈log2 n⌉
 * halvings plus one call for the set-aside items), and only the poison item's record fails. With `p` poison items,
 * at most 1 + p·(⌈log2 n⌉ + 1) calls in all: each round isolates one poison item in at most ⌈log2 n⌉ + 1 calls.
 * A transient failure (throttling, 5xx, a timeout, a {@link TransientError}) is not bisected: every item of the call
 * fails with it, so their records are retried or deferred and the downstream is not hammered with halves.
 */

/** Options of a micro-batcher. */
export interface MicroBatcherOptions<Item, Result> {
  /** Most items in one downstream call (e.g. 96 texts per embedding call). */
  readonly maxItems: number;
  /** Most bytes of items in one call, as `sizeOf` counts them; a single larger item goes alone. @default no limit */
  readonly maxBytes?: number;
  /** Longest an item waits for its call to fill. @default 20 */
  readonly maxWaitMs?: number;
  /**
   * The downstream call: one result per item, in order. Return an `Error` in an item's place to fail that item alone;
   * throw to fail the call (bisected if the error is item-level, see `isItemFailure`).
   */
  readonly call: (items: Item[]) => Promise<ReadonlyArray<Result | Error>>;
  /** An item's size in bytes. @default the byte length of its JSON */
  readonly sizeOf?: (item: Item) => number;
  /** Whether a thrown error may be caused by one of the items (then the call is bisected). @default not transient */
  readonly isItemFailure?: (error: unknown) => boolean;
}

/** A micro-batcher: `add` resolves with the item's result or rejects with its error. */
export interface MicroBatcher<Item, Result> {
  /**
   * Adds an item to the next call; resolves with its result.
   *
   * @example
   * const vector = await ctx.batch('embeddings').add(chunk.text);
   */
  add(item: Item): Promise<Result>;
  /** Sends every waiting item now. */
  flush(): void;
  /** Downstream calls made so far. */
  readonly calls: number;
}

interface Pending<Item, Result> {
  readonly item: Item;
  readonly bytes: number;
  resolve(result: Result): void;
  reject(error: unknown): void;
}

type CallResult<Result> =
  | { readonly ok: true; readonly results: ReadonlyArray<Result | Error> }
  | { readonly ok: false; readonly error: unknown; readonly itemLevel: boolean };

/** Checks a micro-batcher's options; problems are pushed as `field must …, but … was provided`. */
export function validateMicroBatcher(name: string, options: MicroBatcherOptions<unknown, unknown>, problems: string[]) {
  const { maxItems, maxBytes, maxWaitMs } = options;
  if (!Number.isInteger(maxItems) || maxItems < 1) {
    problems.push(`batchers.${name}.maxItems must be an integer of at least 1, but ${maxItems} was provided`);
  }
  if (maxBytes !== undefined && !(maxBytes >= 1)) {
    problems.push(`batchers.${name}.maxBytes must be at least 1, but ${maxBytes} was provided`);
  }
  if (maxWaitMs !== undefined && !(maxWaitMs >= 0 && maxWaitMs <= 60_000)) {
    problems.push(`batchers.${name}.maxWaitMs must be between 0 and 60000, but ${maxWaitMs} was provided`);
  }
  if (typeof options.call !== 'function') {
    problems.push(`batchers.${name}.call must be a function, but ${typeof options.call} was provided`);
  }
}

/**
 * A standalone micro-batcher (the consumer makes one per batch for each of its `batchers`, reachable as
 * `ctx.batch(name)`).
 *
 * @example
 * const embeddings = microBatcher('embeddings', { maxItems: 96, maxWaitMs: 20, call: (texts) => embed(texts) });
 * const vectors = await Promise.all(chunks.map((chunk) => embeddings.add(chunk.text)));
 */
export function microBatcher<Item, Result>(
  name: string,
  options: MicroBatcherOptions<Item, Result>,
): MicroBatcher<Item, Result> {
  return new Gatherer(name, options);
}

const jsonBytes = (item: unknown) => Buffer.byteLength(JSON.stringify(item) ?? '');

/** The micro-batcher; {@link Gatherer.onAdd} lets the consumer flush as soon as no record can add more. */
export class Gatherer<Item, Result> implements MicroBatcher<Item, Result> {
  readonly name: string;
  calls = 0;
  private readonly options: MicroBatcherOptions<Item, Result>;
  private readonly maxBytes: number;
  private pending: Pending<Item, Result>[] = [];
  private pendingBytes = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private readonly isItemFailure: (error: unknown) => boolean;

  constructor(name: string, options: MicroBatcherOptions<Item, Result>) {
    this.name = name;
    this.options = options;
    this.maxBytes = options.maxBytes ?? Number.POSITIVE_INFINITY;
    this.isItemFailure = options.isItemFailure ?? ((error) => !looksTransient(error));
  }

  add(item: Item): Promise<Result> {
    const bytes = this.maxBytes === Number.POSITIVE_INFINITY ? 0 : (this.options.sizeOf ?? jsonBytes)(item);
    return new Promise<Result>((resolve, reject) => {
      if (this.pending.length > 0 && this.pendingBytes + bytes > this.maxBytes) this.flush();
      this.pending.push({ item, bytes, resolve, reject });
      this.pendingBytes += bytes;
      if (this.pending.length >= this.options.maxItems || this.pendingBytes >= this.maxBytes) {
        this.flush();
      } else if (this.timer === undefined) {
        this.timer = setTimeout(() => this.flush(), this.options.maxWaitMs ?? 20);
      }
    });
  }

  /** Whether items are waiting for a call. */
  get waiting(): boolean {
    return this.pending.length > 0;
  }

  flush(): void {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (this.pending.length === 0) return;
    const entries = this.pending;
    this.pending = [];
    this.pendingBytes = 0;
    void this.send(entries);
  }

  private async send(entries: Pending<Item, Result>[]): Promise<void> {
    const result = await this.callWith(entries);
    if (result.ok) return;
    if (!result.itemLevel) {
      for (const entry of entries) entry.reject(result.error);
      return;
    }
    await this.isolate(entries, result.error);
  }

  /** `suspects` failed as a whole (or is known to hold a poison item): find the item(s), settle everything. */
  private async isolate(suspects: Pending<Item, Result>[], error: unknown): Promise<void> {
    let candidates = suspects;
    let lastError = error;
    const setAside: Pending<Item, Result>[] = [];
    while (candidates.length > 1) {
      const half = Math.ceil(candidates.length / 2);
      const left = candidates.slice(0, half);
      const right = candidates.slice(half);
      const result = await this.callWith(left);
      if (result.ok) {
        candidates = right;
        continue;
      }
      if (!result.itemLevel) {
        for (const entry of [...candidates, ...setAside]) entry.reject(result.error);
        return;
      }
      setAside.push(...right);
      candidates = left;
      lastError = result.error;
    }
    (candidates[0] as Pending<Item, Result>).reject(new PoisonItemError(this.name, { cause: lastError }));
    if (setAside.length === 0) return;
    const rest = await this.callWith(setAside);
    if (rest.ok) return;
    if (!rest.itemLevel) {
      for (const entry of setAside) entry.reject(rest.error);
      return;
    }
    await this.isolate(setAside, rest.error);
  }

  /** One downstream call; on success each entry is settled with its own result. */
  private async callWith(entries: Pending<Item, Result>[]): Promise<CallResult<Result>> {
    this.calls++;
    let results: ReadonlyArray<Result | Error>;
    try {
      results = await this.options.call(entries.map((entry) => entry.item));
    } catch (error) {
      return { ok: false, error, itemLevel: this.isItemFailure(error) };
    }
    if (!Array.isArray(results) || results.length !== entries.length) {
      const error = new TransientError(
        `Micro-batcher '${this.name}': call must return one result per item (${entries.length}), but ${Array.isArray(results) ? results.length : typeof results} came back.`,
      );
      return { ok: false, error, itemLevel: false };
    }
    entries.forEach((entry, index) => {
      const result = results[index];
      if (result instanceof Error) entry.reject(result);
      else entry.resolve(result as Result);
    });
    return { ok: true, results };
  }
}

/** Throttling, 5xx, timeouts and network errors: a failed call, not a poison item. */
function looksTransient(error: unknown): boolean {
  if (error instanceof TransientError) return true;
  if (!(error instanceof Error)) return false;
  const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  if (status !== undefined && (status === 429 || status >= 500)) return true;
  const code = (error as { code?: string }).code ?? '';
  return (
    /Throttl|TooManyRequests|Timeout|ServiceUnavailable|InternalServer|Abort/.test(error.name) ||
    /^(ECONNRESET|ECONNREFUSED|ETIMEDOUT|EPIPE|EAI_AGAIN)$/.test(code)
  );
}

/**
 * The micro-batchers of one consumer batch, and when to flush them early: as soon as every record still running is
 * waiting on a batcher, no more items can come, so waiting `maxWaitMs` would only add latency.
 */
export class BatchScope {
  private readonly options: Readonly<Record<string, MicroBatcherOptions<unknown, unknown>>>;
  private readonly gatherers = new Map<string, Gatherer<unknown, unknown>>();
  private running = 0;
  private blocked = 0;
  private checkScheduled = false;

  constructor(options: Readonly<Record<string, MicroBatcherOptions<unknown, unknown>>>) {
    this.options = options;
  }

  /** The batcher `name` for this batch. */
  gatherer(name: string): Gatherer<unknown, unknown> | undefined {
    let gatherer = this.gatherers.get(name);
    if (gatherer === undefined) {
      const options = this.options[name];
      if (options === undefined) return undefined;
      gatherer = new Gatherer(name, options);
      this.gatherers.set(name, gatherer);
    }
    return gatherer;
  }

  /** The names of the configured batchers, for messages. */
  get names(): string[] {
    return Object.keys(this.options);
  }

  recordStarted(): void {
    this.running++;
  }

  recordEnded(): void {
    this.running--;
    this.scheduleCheck();
  }

  /** A record started waiting on a batcher (its first outstanding item). */
  recordBlocked(): void {
    this.blocked++;
    this.scheduleCheck();
  }

  recordUnblocked(): void {
    this.blocked--;
  }

  /** Checks after the current turn, so items added in the same tick (a loop of adds) go in one call. */
  private scheduleCheck(): void {
    if (this.checkScheduled) return;
    this.checkScheduled = true;
    setImmediate(() => {
      this.checkScheduled = false;
      if (this.blocked >= this.running) {
        for (const gatherer of this.gatherers.values()) if (gatherer.waiting) gatherer.flush();
      }
    });
  }
}
