import { parseArgs } from 'node:util';
import { formatDemo, runDemo } from '../local/demo.ts';
import { startEngines } from '../local/engines.ts';
import { formatScenario, runScenario, SCENARIOS, type ScenarioName } from '../local/scenarios.ts';
import { UsageError } from './errors.ts';

/**
 * `sluice demo [--json] [--overload-seconds N] [--scenario embedding-outage|embedding-rate-limit]`: the overload
 * scenario with and without backpressure, or a pressure scenario on the example document pipeline.
 */
export async function demo(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      json: { type: 'boolean', default: false },
      'overload-seconds': { type: 'string' },
      scenario: { type: 'string' },
    },
    strict: true,
  });
  const overloadSeconds = values['overload-seconds'] === undefined ? 60 : Number(values['overload-seconds']);
  if (!Number.isInteger(overloadSeconds) || overloadSeconds < 1 || overloadSeconds > 3_600) {
    throw new UsageError(
      `--overload-seconds must be an integer between 1 and 3600, but '${values['overload-seconds']}' was provided`,
    );
  }
  const scenario = values.scenario;
  if (scenario !== undefined && !SCENARIOS.includes(scenario as ScenarioName)) {
    throw new UsageError(`--scenario must be one of ${SCENARIOS.join(', ')}, but '${scenario}' was provided`);
  }
  const engines = await startEngines();
  const tty = process.stderr.isTTY;
  const onProgress = (line: string) => process.stderr.write(tty ? `\r${line}\x1b[K` : `${line}\n`);
  try {
    if (scenario !== undefined) {
      const result = await runScenario({ engines, scenario: scenario as ScenarioName, onProgress });
      if (tty) process.stderr.write('\n');
      console.log(values.json ? JSON.stringify(result, null, 2) : formatScenario(result));
      if (!result.ok) process.exitCode = 1;
      return;
    }
    const result = await runDemo({ engines, overloadSeconds, onProgress });
    if (tty) process.stderr.write('\n');
    console.log(values.json ? JSON.stringify(result, null, 2) : formatDemo(result));
    if (!result.ok) process.exitCode = 1;
  } finally {
    await engines.stop();
  }
}
