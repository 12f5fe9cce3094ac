/**
 * The Node.js the CLI and the local runtime need: Node 24, for `node:sqlite` (the embedded SQS engine's persistence)
 * and for running TypeScript pipeline modules without a build step (type stripping). The constructs and
 * `sluice/runtime` need only Node 22.
 */
export const LOCAL_RUNTIME_MIN_NODE_MAJOR = 24;

/** One line saying what is needed and how to get it, or `undefined` when `version` (e.g. `22.12.0`) is enough. */
export function unsupportedNodeMessage(version: string, what = "sluice's CLI and local runtime"): string | undefined {
  const major = Number(version.split('.')[0]);
  if (major >= LOCAL_RUNTIME_MIN_NODE_MAJOR) return undefined;
  return `${what} need Node.js ${LOCAL_RUNTIME_MIN_NODE_MAJOR} or later, but this is ${version}: run 'npm i -D node@${LOCAL_RUNTIME_MIN_NODE_MAJOR}' and call sluice through npx or an npm script, or use 'npx -p node@${LOCAL_RUNTIME_MIN_NODE_MAJOR} -p sluice sluice …'`;
}
