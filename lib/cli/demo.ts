import { parseArgs } from 'node:util';
import { formatDemo, runDemo } from '../local/demo.ts';
import { startEngines } from '../local/engines.ts';
import { UsageError } from './errors.ts';

/** `sluice demo [--json] [--overload-seconds N]`: the overload scenario with and without backpressure. */
export async function demo(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: { json: { type: 'boolean', default: false }, 'overload-seconds': { type: 'string' } },
    strict: true,
  });
  const overloadSeconds = values['overload-seconds'] === undefined ? 60 : Number(values['overload-seconds']);
  if (!Number.isInteger(overloadSeconds) || overloadSeconds < 1 || overloadSeconds > 3_600) {
    throw new UsageError(
      `--overload-seconds must be an integer between 1 and 3600, but '${values['overload-seconds']}' was provided`,
    );
  }
  const engines = await startEngines();
  const tty = process.stderr.isTTY;
  try {
    const result = await runDemo({
      engines,
      overloadSeconds,
      onProgress: (line) => process.stderr.write(tty ? `\r${line}\x1b[K` : `${line}\n`),
    });
    if (tty) process.stderr.write('\n');
    console.log(values.json ? JSON.stringify(result, null, 2) : formatDemo(result));
    if (!result.ok) process.exitCode = 1;
  } finally {
    await engines.stop();
  }
}
