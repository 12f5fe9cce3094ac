import { pathToFileURL } from 'node:url';
import { parentPort } from 'node:worker_threads';
import { type EnvironmentVariables, installFunctionEnvironments } from './function-environment.ts';
import { functionEntryUrl, installFunctionModules } from './function-modules.ts';
import { lambdaContext } from './lambda-context.ts';

/**
 * A worker thread that several local functions share (`sluice dev`, see shared-worker-pool.ts). Each function is
 * loaded on its first invocation here, as its own module instance (function-modules.ts) with its own `process.env`
 * (function-environment.ts): its module initialisation and each of its invocations run in its environment, any
 * number of invocations at once. The pool terminates the whole thread when an invocation times out.
 */

/** Loads a function into this worker: its entry's module instance, in its environment. */
export interface LoadRequest {
  readonly kind: 'load';
  readonly id: number;
  /** The function instance: the module query and the key of later invocations. */
  readonly instance: string;
  readonly entry: string;
  readonly handlerName: string;
  readonly functionName: string;
  readonly memorySizeMiB: number;
  readonly environment: Readonly<Record<string, string>>;
}

/** Runs one invocation of a loaded function. */
export interface InvokeRequest {
  readonly kind: 'invoke';
  readonly id: number;
  readonly instance: string;
  readonly event: unknown;
  /** Epoch milliseconds of the function timeout. */
  readonly deadline: number;
}

/** The answer to a request of either kind. */
export interface WorkerAnswer {
  readonly id: number;
  readonly ok: boolean;
  readonly result?: unknown;
  readonly error?: { readonly name: string; readonly message: string };
}

interface LoadedFunction {
  readonly handler: (event: unknown, context: unknown) => Promise<unknown>;
  readonly environment: EnvironmentVariables;
  readonly functionName: string;
  readonly memorySizeMiB: number;
}

const port = parentPort;
if (!port) {
  throw new Error('shared-handler-worker.ts runs only as a worker thread');
}
const base: EnvironmentVariables = { ...(process.env as EnvironmentVariables) };
const environments = installFunctionEnvironments(base);
// sluice's own directory (the repository, or the installed package): its files are loaded once per function.
installFunctionModules(new URL('../../', import.meta.url).href);
const functions = new Map<string, LoadedFunction>();

function errorOf(error: unknown): { name: string; message: string } {
  const err = error instanceof Error ? error : new Error(String(error));
  return { name: err.name, message: err.message };
}

async function load(request: LoadRequest): Promise<void> {
  // A fresh object per function: what the function writes to process.env stays its own.
  const environment: EnvironmentVariables = { ...base, ...request.environment };
  const module = (await environments.run(
    environment,
    () => import(functionEntryUrl(pathToFileURL(request.entry).href, request.instance)),
  )) as Record<string, unknown>;
  const handler = module[request.handlerName];
  if (typeof handler !== 'function') {
    throw new Error(`${request.entry} does not export a function named '${request.handlerName}'`);
  }
  functions.set(request.instance, {
    handler: handler as LoadedFunction['handler'],
    environment,
    functionName: request.functionName,
    memorySizeMiB: request.memorySizeMiB,
  });
}

async function invoke(request: InvokeRequest): Promise<unknown> {
  const loaded = functions.get(request.instance);
  if (!loaded) throw new Error(`function instance ${request.instance} is not loaded in this worker`);
  const context = lambdaContext({
    functionName: loaded.functionName,
    memorySizeMiB: loaded.memorySizeMiB,
    requestId: `local-${request.id}`,
    deadline: request.deadline,
  });
  return environments.run(loaded.environment, () => loaded.handler(request.event, context));
}

port.on('message', async (request: LoadRequest | InvokeRequest) => {
  try {
    const result = request.kind === 'load' ? await load(request) : await invoke(request);
    port.postMessage({ id: request.id, ok: true, result } satisfies WorkerAnswer);
  } catch (error) {
    port.postMessage({ id: request.id, ok: false, error: errorOf(error) } satisfies WorkerAnswer);
  }
});
port.postMessage({ ready: true });
