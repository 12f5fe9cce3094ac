import { registerHooks } from 'node:module';

/**
 * Module instances per function in a worker thread shared by several functions (`sluice dev`). A function's entry is
 * imported as `file:///…/entry.ts?sluice-function=<instance>`, and a resolve hook gives every module that entry
 * reaches the same query, so each function gets its own instance of its own code and of sluice's runtime — their
 * module-level state (SDK clients, caches, a circuit breaker, values read from `process.env` at import) is the
 * function's, as in its own Lambda execution environment. Third-party packages (under `node_modules`, except sluice
 * itself when installed there) are loaded once per worker and shared: they hold most of a handler's memory (the AWS
 * SDK, zod, middy), and the SDK reads its environment when a client is created or sends, which happens inside the
 * function (see function-environment.ts).
 */

/** The query parameter naming a module's function instance. */
export const FUNCTION_INSTANCE_PARAM = 'sluice-function';

/** The URL a function instance imports its entry from. */
export function functionEntryUrl(entryUrl: string, instance: string): string {
  const url = new URL(entryUrl);
  url.searchParams.set(FUNCTION_INSTANCE_PARAM, instance);
  return url.href;
}

/**
 * Whether a resolved module belongs to the function that imports it (its own instance) rather than to the worker
 * (shared): every file outside `node_modules`, and sluice's own files wherever it is installed.
 */
export function isFunctionModule(url: string, sluiceRoot: string): boolean {
  if (!url.startsWith('file:')) return false;
  if (url.startsWith(sluiceRoot)) return !url.slice(sluiceRoot.length).startsWith('node_modules/');
  return !url.includes('/node_modules/');
}

/** Installs the resolve hook in this thread. `sluiceRoot` is the file URL of sluice's package (or build) directory. */
export function installFunctionModules(sluiceRoot: string): void {
  registerHooks({
    resolve(specifier, context, nextResolve) {
      const resolved = nextResolve(specifier, context);
      const parent = context.parentURL;
      // ES module imports only: CommonJS `require` has no notion of a query and keeps one instance per worker.
      if (!parent?.includes(FUNCTION_INSTANCE_PARAM) || !context.conditions.includes('import')) return resolved;
      const instance = new URL(parent).searchParams.get(FUNCTION_INSTANCE_PARAM);
      if (instance === null || !isFunctionModule(resolved.url, sluiceRoot)) return resolved;
      return { ...resolved, url: functionEntryUrl(resolved.url, instance) };
    },
  });
}
