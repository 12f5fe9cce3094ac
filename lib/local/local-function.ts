import { Worker } from 'node:worker_threads';
import type { SharedWorkerPool } from './shared-worker-pool.ts';

/**
 * A consumer function run locally: up to `reservedConcurrency` invocations at once, in worker threads that each have
 * the function's `process.env`. By default every execution environment is a worker thread of its own running one
 * invocation at a time, as on Lambda. With `maxIsolates`, the environments share at most that many worker threads
 * (each costs 30–50 MB: its own V8 heap with the handler's modules), which bounds the memory of a long-running `sluice
 * dev`; concurrency is unchanged, but concurrent invocations then share module state. An invocation that outlives the
 * function timeout is abandoned and its worker terminated, as Lambda ends the environment (invocations sharing that
 * worker end with an error and their records are retried); the next invocation starts a fresh one (a cold start).
 * With `pool`, the function runs in a worker thread it shares with other functions (`sluice dev`, see
 * shared-worker-pool.ts), with its own module instance and `process.env`.
 */

/** How to run a function. */
export interface LocalFunctionOptions {
  readonly name: string;
  /** Absolute path of the handler module. */
  readonly entry: string;
  readonly handlerName: string;
  readonly timeoutSeconds: number;
  readonly memorySizeMiB: number;
  /** Environments this function may run at once (its reserved concurrency). */
  readonly reservedConcurrency: number;
  /** Environment variables of the function (the SLUICE_* names, AWS endpoint and credentials). */
  readonly environment: Readonly<Record<string, string>>;
  /** Let the handlers' stdout/stderr through (logs, EMF). @default false */
  readonly showOutput?: boolean;
  /** Worker threads the environments share at most. @default - one per environment (reservedConcurrency) */
  readonly maxIsolates?: number;
  /**
   * Worker threads shared with other functions (`sluice dev`); the function is added to the pool here, and
   * `maxIsolates` does not apply. @default - worker threads of its own
   */
  readonly pool?: SharedWorkerPool;
}

/** The outcome of one invocation. */
export type InvocationResult =
  | { readonly status: 'ok'; readonly result: unknown }
  | { readonly status: 'error'; readonly error: { readonly name: string; readonly message: string } }
  | { readonly status: 'timeout' }
  | { readonly status: 'throttled' };

/** A worker thread: one V8 isolate with the handler module loaded, running `running` invocations now. */
interface Environment {
  readonly worker: Worker;
  readonly ready: Promise<void>;
  running: number;
}

/**
 * Young generation (MB) of a worker shared by environments (`maxIsolates`, as in `sluice dev`): bounds the garbage a
 * long-running dev server keeps resident per worker (BENCHMARKS.md, "dev server memory").
 */
export const DEV_YOUNG_GENERATION_MB = 6;

const WORKER_URL = new URL(`./handler-worker${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url);

/** A locally run Lambda function. */
export class LocalFunction {
  readonly options: LocalFunctionOptions;
  private readonly environments: Environment[] = [];
  private nextId = 0;
  /** Invocations running in the shared pool, when there is one. */
  private pooledRunning = 0;
  /** Counters for the dashboard and tests. */
  readonly stats = { invocations: 0, errors: 0, timeouts: 0, throttles: 0, coldStarts: 0 };

  constructor(options: LocalFunctionOptions) {
    this.options = options;
    options.pool?.add(options);
  }

  /** Invocations running now. */
  get running(): number {
    let running = this.pooledRunning;
    for (const environment of this.environments) running += environment.running;
    return running;
  }

  /** Worker threads alive now. */
  get isolates(): number {
    return this.options.pool ? this.options.pool.threadsOf(this.options.name) : this.environments.length;
  }

  /** Invocations one worker thread runs at once. */
  private get invocationsPerIsolate(): number {
    const isolates = Math.max(
      1,
      Math.min(this.options.maxIsolates ?? Number.POSITIVE_INFINITY, this.options.reservedConcurrency),
    );
    return Math.ceil(this.options.reservedConcurrency / isolates);
  }

  /** Runs `event`; answers `throttled` when every reserved environment is busy. */
  async invoke(event: unknown): Promise<InvocationResult> {
    if (this.options.pool) return this.invokePooled(this.options.pool, event);
    const environment = this.acquire();
    if (!environment) {
      this.stats.throttles++;
      return { status: 'throttled' };
    }
    this.stats.invocations++;
    try {
      await environment.ready;
    } catch (error) {
      this.discard(environment);
      this.stats.errors++;
      return { status: 'error', error: { name: 'InitError', message: (error as Error).message } };
    }
    const id = this.nextId++;
    const timeoutMs = this.options.timeoutSeconds * 1000;
    const deadline = Date.now() + timeoutMs;
    return new Promise<InvocationResult>((resolve) => {
      const onExit = () => {
        clearTimeout(timer);
        environment.worker.off('message', onMessage);
        // A dead environment is never reused; left in the pool it would count against the concurrency forever.
        this.discard(environment);
        this.stats.errors++;
        resolve({
          status: 'error',
          error: { name: 'RuntimeExitError', message: 'The execution environment exited during the invocation' },
        });
      };
      const timer = setTimeout(() => {
        environment.worker.off('exit', onExit);
        environment.worker.off('message', onMessage);
        this.discard(environment);
        this.stats.timeouts++;
        resolve({ status: 'timeout' });
      }, timeoutMs);
      const onMessage = (message: {
        id?: number;
        ok?: boolean;
        result?: unknown;
        error?: { name: string; message: string };
      }) => {
        if (message.id !== id) {
          return;
        }
        clearTimeout(timer);
        environment.worker.off('message', onMessage);
        environment.worker.off('exit', onExit);
        environment.running--;
        if (message.ok) {
          resolve({ status: 'ok', result: message.result });
        } else {
          this.stats.errors++;
          resolve({ status: 'error', error: message.error ?? { name: 'Error', message: 'unknown error' } });
        }
      };
      environment.worker.on('message', onMessage);
      environment.worker.once('exit', onExit);
      environment.worker.postMessage({ id, event, deadline });
    });
  }

  private async invokePooled(pool: SharedWorkerPool, event: unknown): Promise<InvocationResult> {
    if (this.running >= this.options.reservedConcurrency) {
      this.stats.throttles++;
      return { status: 'throttled' };
    }
    this.stats.invocations++;
    this.pooledRunning++;
    try {
      const { result, coldStart } = await pool.invoke(this.options, event);
      if (coldStart) this.stats.coldStarts++;
      if (result.status === 'error') this.stats.errors++;
      if (result.status === 'timeout') this.stats.timeouts++;
      return result;
    } finally {
      this.pooledRunning--;
    }
  }

  /** Ends every environment (a shared pool is stopped by its owner). */
  async stop(): Promise<void> {
    await Promise.all(this.environments.splice(0).map((environment) => environment.worker.terminate()));
  }

  private acquire(): Environment | undefined {
    if (this.running >= this.options.reservedConcurrency) {
      return undefined;
    }
    const perIsolate = this.invocationsPerIsolate;
    let chosen: Environment | undefined;
    for (const environment of this.environments) {
      if (environment.running < perIsolate && (!chosen || environment.running < chosen.running)) chosen = environment;
    }
    if (!chosen) {
      chosen = this.spawn();
      this.environments.push(chosen);
    }
    chosen.running++;
    return chosen;
  }

  private spawn(): Environment {
    this.stats.coldStarts++;
    const show = this.options.showOutput ?? false;
    const worker = new Worker(WORKER_URL, {
      workerData: {
        entry: this.options.entry,
        handlerName: this.options.handlerName,
        functionName: this.options.name,
        memorySizeMiB: this.options.memorySizeMiB,
      },
      env: { ...process.env, ...this.options.environment },
      stdout: !show,
      stderr: !show,
      // Old generation: the function's memory, as Lambda's limit. Young generation: V8's default for a 64-bit isolate
      // is up to 3 × 16 MB, kept resident between scavenges; a shared dev worker keeps it small (DEV_YOUNG_GENERATION_MB).
      resourceLimits: {
        maxOldGenerationSizeMb: this.options.memorySizeMiB,
        ...(this.options.maxIsolates === undefined ? {} : { maxYoungGenerationSizeMb: DEV_YOUNG_GENERATION_MB }),
      },
    });
    if (!show) {
      worker.stdout.resume();
      worker.stderr.resume();
    }
    const ready = new Promise<void>((resolve, reject) => {
      const onMessage = (message: { ready?: boolean }) => {
        if (message.ready) {
          worker.off('message', onMessage);
          worker.off('error', reject);
          resolve();
        }
      };
      worker.on('message', onMessage);
      worker.once('error', reject);
    });
    // Each running invocation listens for its answer and for the worker's exit.
    worker.setMaxListeners(2 * this.invocationsPerIsolate + 4);
    // A crash after start (an uncaught error in the handler's module) ends the environment.
    worker.on('error', () => this.discard(environment));
    const environment: Environment = { worker, ready, running: 0 };
    return environment;
  }

  private discard(environment: Environment): void {
    const index = this.environments.indexOf(environment);
    if (index >= 0) {
      this.environments.splice(index, 1);
    }
    void environment.worker.terminate();
  }
}
