import { Worker } from 'node:worker_threads';
import type { InvocationResult } from './local-function.ts';
import type { InvokeRequest, LoadRequest, WorkerAnswer } from './shared-handler-worker.ts';

/**
 * Worker threads that several local functions share: `sluice dev`'s way of keeping memory bounded. A worker thread is
 * a V8 isolate holding its own copy of the handler's modules (35–45 MB for the example's, mostly the AWS SDK and zod);
 * one per function, let alone one per execution environment, puts a five-stage pipeline above 300 MB. Here every
 * function is assigned to one of `threads` workers, loaded there on its first invocation as its own module instance
 * with its own `process.env` (shared-handler-worker.ts), and runs any number of invocations at once; third-party
 * packages are loaded once per worker.
 *
 * What differs from Lambda: the functions of a worker share its CPU, event loop and heap (`memorySizeMiB` is not
 * enforced per function: the worker's old generation is the sum of its functions'), and a function's concurrent
 * invocations share its module state. An invocation that outlives its timeout ends the whole worker, as Lambda ends
 * the execution environment: every invocation running in that worker, of any function, ends with an error
 * (`RuntimeExitError`) and its records are retried; the next invocation starts a fresh worker and loads its function
 * again (a cold start).
 */

/** What a function needs from the pool (LocalFunction's options). */
export interface PooledFunction {
  readonly name: string;
  readonly entry: string;
  readonly handlerName: string;
  readonly timeoutSeconds: number;
  readonly memorySizeMiB: number;
  readonly environment: Readonly<Record<string, string>>;
}

/** Options of a {@link SharedWorkerPool}. */
export interface SharedWorkerPoolOptions {
  /** Worker threads the functions are spread over (a function always runs in the same one). @default 1 */
  readonly threads?: number;
  /** Let the handlers' stdout/stderr through. @default false */
  readonly showOutput?: boolean;
}

/** One invocation's outcome, and whether it loaded its function first (a cold start). */
export interface PooledInvocation {
  readonly result: InvocationResult;
  readonly coldStart: boolean;
}

/**
 * Young generation (MB) of a shared worker: bounds the garbage a long-running dev server keeps resident per worker
 * (V8's default is up to 3 × 16 MB per isolate; BENCHMARKS.md, "dev server memory").
 */
export const SHARED_YOUNG_GENERATION_MB = 6;

const WORKER_URL = new URL(
  `./shared-handler-worker${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`,
  import.meta.url,
);

const EXITED = { name: 'RuntimeExitError', message: 'The execution environment exited during the invocation' };

/** A live worker thread of the pool. */
class SharedThread {
  readonly worker: Worker;
  readonly ready: Promise<void>;
  /** Function instances loaded (or loading) here, by function name. */
  readonly loaded = new Map<string, { readonly instance: string; readonly done: Promise<void> }>();
  private readonly pending = new Map<number, (answer: WorkerAnswer) => void>();
  private nextId = 0;
  private exited = false;

  constructor(resourceLimits: { maxOldGenerationSizeMb: number; maxYoungGenerationSizeMb: number }, show: boolean) {
    this.worker = new Worker(WORKER_URL, { env: { ...process.env }, stdout: !show, stderr: !show, resourceLimits });
    if (!show) {
      this.worker.stdout.resume();
      this.worker.stderr.resume();
    }
    this.ready = new Promise<void>((resolve, reject) => {
      this.worker.on('error', reject);
      this.worker.on('message', (message: WorkerAnswer | { ready: true }) => {
        if ('ready' in message) {
          resolve();
          return;
        }
        const answer = this.pending.get(message.id);
        this.pending.delete(message.id);
        answer?.(message);
      });
    });
    // Unhandled in the background: the ready promise is awaited by the first request.
    this.ready.catch(() => undefined);
    // A crash (an uncaught error in any handler's module) or a termination ends every request in flight here.
    this.worker.once('exit', () => {
      this.exited = true;
      const waiting = [...this.pending.values()];
      this.pending.clear();
      for (const answer of waiting) answer({ id: -1, ok: false, error: EXITED });
    });
  }

  /** Sends a request; answers when the worker does, or with `RuntimeExitError` if it exits first. */
  request(body: Omit<LoadRequest, 'id'> | Omit<InvokeRequest, 'id'>): { id: number; answer: Promise<WorkerAnswer> } {
    const id = this.nextId++;
    const answer = new Promise<WorkerAnswer>((resolve) => {
      if (this.exited) {
        resolve({ id, ok: false, error: EXITED });
        return;
      }
      this.pending.set(id, resolve);
    });
    if (!this.exited) this.worker.postMessage({ ...body, id });
    return { id, answer };
  }

  /** Stops waiting for request `id` (its invocation timed out). */
  forget(id: number): void {
    this.pending.delete(id);
  }
}

/** Worker threads shared by several local functions. */
export class SharedWorkerPool {
  private readonly threadCount: number;
  private readonly showOutput: boolean;
  /** Live threads by slot; a slot is empty until its first function's first invocation, and after a timeout. */
  private readonly threads: (SharedThread | undefined)[];
  private readonly slots = new Map<string, number>();
  private readonly members: PooledFunction[] = [];
  private instances = 0;

  constructor(options: SharedWorkerPoolOptions = {}) {
    const threads = options.threads ?? 1;
    if (!Number.isInteger(threads) || threads < 1 || threads > 1_000) {
      throw new RangeError(`threads must be an integer between 1 and 1000, but ${threads} was provided`);
    }
    this.threadCount = threads;
    this.showOutput = options.showOutput ?? false;
    this.threads = Array.from({ length: threads }, () => undefined);
  }

  /** Assigns `fn` to a worker thread (round robin); call once per function, before its first invocation. */
  add(fn: PooledFunction): void {
    if (this.slots.has(fn.name)) throw new Error(`function ${fn.name} is already in this worker pool`);
    this.slots.set(fn.name, this.members.length % this.threadCount);
    this.members.push(fn);
  }

  /** Worker threads alive now that host `name` (0 or 1). */
  threadsOf(name: string): number {
    const slot = this.slots.get(name);
    return slot !== undefined && this.threads[slot] ? 1 : 0;
  }

  /** Worker threads alive now. */
  get alive(): number {
    return this.threads.filter((thread) => thread !== undefined).length;
  }

  /** Runs `event` on `fn` in its worker thread, loading the function there first if needed. */
  async invoke(fn: PooledFunction, event: unknown): Promise<PooledInvocation> {
    const slot = this.slots.get(fn.name);
    if (slot === undefined) throw new Error(`function ${fn.name} was not added to this worker pool`);
    const thread = this.threadIn(slot);
    let coldStart = false;
    let loaded = thread.loaded.get(fn.name);
    if (!loaded) {
      coldStart = true;
      // A fresh instance name per load: a module whose initialisation failed stays failed under its URL.
      const instance = `${fn.name}.${this.instances++}`;
      const done = thread.ready
        .then(
          () =>
            thread.request({
              kind: 'load',
              instance,
              entry: fn.entry,
              handlerName: fn.handlerName,
              functionName: fn.name,
              memorySizeMiB: fn.memorySizeMiB,
              environment: fn.environment,
            }).answer,
        )
        .then((answer) => {
          if (!answer.ok) throw Object.assign(new Error(answer.error?.message), { name: answer.error?.name });
        });
      loaded = { instance, done };
      thread.loaded.set(fn.name, loaded);
    }
    try {
      await loaded.done;
    } catch (error) {
      // Lambda runs the initialisation again on the next invocation.
      if (thread.loaded.get(fn.name) === loaded) thread.loaded.delete(fn.name);
      return {
        coldStart,
        result: { status: 'error', error: { name: 'InitError', message: (error as Error).message } },
      };
    }
    const timeoutMs = fn.timeoutSeconds * 1000;
    const { id, answer } = thread.request({
      kind: 'invoke',
      instance: loaded.instance,
      event,
      deadline: Date.now() + timeoutMs,
    });
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), timeoutMs);
    });
    const outcome = await Promise.race([answer, timedOut]);
    clearTimeout(timer);
    if (outcome === 'timeout') {
      thread.forget(id);
      // As Lambda ends the execution environment: the whole worker, with every invocation running in it.
      this.end(slot, thread);
      return { coldStart, result: { status: 'timeout' } };
    }
    return {
      coldStart,
      result: outcome.ok
        ? { status: 'ok', result: outcome.result }
        : { status: 'error', error: outcome.error ?? { name: 'Error', message: 'unknown error' } },
    };
  }

  /** Ends every worker thread. */
  async stop(): Promise<void> {
    const live = this.threads.filter((thread): thread is SharedThread => thread !== undefined);
    this.threads.fill(undefined);
    await Promise.all(live.map((thread) => thread.worker.terminate()));
  }

  private threadIn(slot: number): SharedThread {
    const live = this.threads[slot];
    if (live) return live;
    const hosted = this.members.filter((member) => this.slots.get(member.name) === slot);
    const thread = new SharedThread(
      {
        maxOldGenerationSizeMb: hosted.reduce((sum, member) => sum + member.memorySizeMiB, 0),
        maxYoungGenerationSizeMb: SHARED_YOUNG_GENERATION_MB,
      },
      this.showOutput,
    );
    // A worker that dies on its own (an uncaught error) is replaced on the next invocation.
    thread.worker.once('exit', () => this.end(slot, thread));
    this.threads[slot] = thread;
    return thread;
  }

  private end(slot: number, thread: SharedThread): void {
    if (this.threads[slot] === thread) this.threads[slot] = undefined;
    void thread.worker.terminate();
  }
}
