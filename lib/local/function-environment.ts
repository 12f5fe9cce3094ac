import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * `process.env` for several functions in one worker thread (`sluice dev`'s shared workers). On Lambda every function
 * has its own execution environment, so its own `process.env`; here the worker's `process.env` is replaced by a view
 * that resolves, on every read and write, to the environment of the function whose code is running: the function's
 * module initialisation and each of its invocations run inside {@link FunctionEnvironments.run}, and Node carries that
 * context through every `await`, timer and callback they start (AsyncLocalStorage). Code running outside any
 * function (the worker's own bootstrap) sees the worker's base environment.
 */

/** One function's environment variables, as its `process.env` holds them (strings only). */
export type EnvironmentVariables = Record<string, string>;

/** The installed view of `process.env`. */
export interface FunctionEnvironments {
  /** Runs `body` with `process.env` resolving to `environment`, for `body` and everything it starts. */
  run<T>(environment: EnvironmentVariables, body: () => T): T;
}

/**
 * Replaces `process.env` of this thread with a per-function view; `base` answers outside any function. Install it
 * once, in a worker thread that hosts several functions, before any of their modules loads.
 */
export function installFunctionEnvironments(base: EnvironmentVariables): FunctionEnvironments {
  const storage = new AsyncLocalStorage<EnvironmentVariables>();
  const current = (): EnvironmentVariables => storage.getStore() ?? base;
  // The proxy's own target is never used: every trap goes to the current function's variables. Assignments are
  // turned into strings, as Node's process.env does.
  const view = new Proxy<EnvironmentVariables>(
    {},
    {
      get: (_target, name) => (typeof name === 'string' ? current()[name] : undefined),
      set: (_target, name, value) => {
        if (typeof name !== 'string') return false;
        current()[name] = String(value);
        return true;
      },
      deleteProperty: (_target, name) => {
        if (typeof name === 'string') delete current()[name];
        return true;
      },
      has: (_target, name) => typeof name === 'string' && Object.hasOwn(current(), name),
      ownKeys: () => Object.keys(current()),
      getOwnPropertyDescriptor: (_target, name) => {
        const variables = current();
        return typeof name === 'string' && Object.hasOwn(variables, name)
          ? { value: variables[name], writable: true, enumerable: true, configurable: true }
          : undefined;
      },
      defineProperty: (_target, name, descriptor) => {
        if (typeof name !== 'string' || !('value' in descriptor)) return false;
        current()[name] = String(descriptor.value);
        return true;
      },
    },
  );
  Object.defineProperty(process, 'env', { value: view, writable: true, configurable: true, enumerable: true });
  return { run: (environment, body) => storage.run(environment, body) };
}
