import { pathToFileURL } from 'node:url';
import { parentPort, workerData } from 'node:worker_threads';
import { lambdaContext } from './lambda-context.ts';

/**
 * One execution environment of a local consumer: a worker thread with its own `process.env` (the stage's SLUICE_*
 * variables) that imports the stage's handler module once and runs one invocation at a time, as a Lambda execution
 * environment does. The poller terminates the worker when an invocation times out, as Lambda ends the environment.
 */

interface WorkerSetup {
  readonly entry: string;
  readonly handlerName: string;
  readonly functionName: string;
  readonly memorySizeMiB: number;
}

interface Invocation {
  readonly id: number;
  readonly event: unknown;
  readonly deadline: number;
}

const setup = workerData as WorkerSetup;
const port = parentPort;
if (!port) {
  throw new Error('handler-worker.ts runs only as a worker thread');
}
const module = (await import(pathToFileURL(setup.entry).href)) as Record<string, unknown>;
const handler = module[setup.handlerName];
if (typeof handler !== 'function') {
  throw new Error(`${setup.entry} does not export a function named '${setup.handlerName}'`);
}

port.on('message', async (invocation: Invocation) => {
  const context = lambdaContext({
    functionName: setup.functionName,
    memorySizeMiB: setup.memorySizeMiB,
    requestId: `local-${invocation.id}`,
    deadline: invocation.deadline,
  });
  try {
    const result = await (handler as (event: unknown, context: unknown) => Promise<unknown>)(invocation.event, context);
    port.postMessage({ id: invocation.id, ok: true, result });
  } catch (error) {
    const err = error instanceof Error ? error : new Error(String(error));
    port.postMessage({ id: invocation.id, ok: false, error: { name: err.name, message: err.message } });
  }
});
port.postMessage({ ready: true });
