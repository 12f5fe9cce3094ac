import { DEMO_MAX_IN_FLIGHT, formatDemo, runDemo } from '../local/demo.ts';
import { startEngines } from '../local/engines.ts';
import { SCENARIOS, type ScenarioName } from '../local/scenario-names.ts';
import { defineCommand } from './command.ts';
import { CliError, UsageError } from './errors.ts';

/** `sluice demo`: the overload scenario with and without backpressure. */
export const demoCommand = defineCommand({
  name: 'demo',
  summary: 'overload a pipeline with and without backpressure, and check the ledger',
  description: [
    "Producers offer 2.5× the consumers' capacity for --overload-seconds, then 0.5× until the backlog is gone; once",
    'with the depth check and once without. The ledger is read from the job table and the queues: offered = accepted',
    '+ rejected, accepted = completed + dead-lettered + queued, and nothing lost. Exits 1 when it does not balance.',
    'Both runs together take about 5 × --overload-seconds (the run without backpressure drains the longest backlog).',
    '',
    'The live line (stderr) counts offered, accepted, throttled (429), shed (503), other 4xx, 5xx, network errors, and',
    `dropped: offered while ${DEMO_MAX_IN_FLIGHT} requests were outstanding, so never sent (the load generator fell behind,`,
    'not the pipeline); then the jobs completed so far and the queue depth against its limit. The ledger adds dropped',
    "to 'other' rejections.",
    '',
    '--scenario runs the example document pipeline (from a clone of the sluice repository) through an embedding',
    'outage or twice its embedding rate, and says before it starts how long that takes (3 to 4 minutes); its live line',
    "counts documents fully indexed so far and each stage's depth against its limit, and its ledger adds dropped to",
    "'other'.",
  ].join('\n'),
  options: {
    'overload-seconds': {
      type: 'string',
      value: 'N',
      description: 'seconds at 2.5× capacity, 1 to 3600',
      default: '60',
    },
    json: { type: 'boolean', description: 'print the ledger as JSON on stdout' },
    scenario: {
      type: 'string',
      value: 'NAME',
      description: `a pressure scenario on the example document pipeline instead: ${SCENARIOS.join(' or ')}`,
    },
  },
  examples: [
    'sluice demo',
    'sluice demo --overload-seconds 10 --json',
    'sluice demo --scenario embedding-outage --json',
  ],
  run: demo,
});

async function demo(values: {
  'overload-seconds': string | undefined;
  json: boolean;
  scenario: string | undefined;
}): Promise<void> {
  if (values.scenario !== undefined) return scenario(values.scenario, values.json);
  const overloadSeconds = values['overload-seconds'] === undefined ? 60 : Number(values['overload-seconds']);
  if (!Number.isInteger(overloadSeconds) || overloadSeconds < 1 || overloadSeconds > 3_600) {
    throw new UsageError(
      `--overload-seconds must be an integer between 1 and 3600, but '${values['overload-seconds']}' was provided`,
    );
  }
  console.error(expectedDuration(overloadSeconds));
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

/**
 * What the demo says before it starts. Without backpressure the overload leaves a backlog of (2.5 − 1) × capacity ×
 * overload seconds, which the 0.5× phase drains at 0.5 × capacity: 3 × overload seconds; with backpressure the backlog
 * stays under the depth limit. Both runs: about 5 × overload seconds, plus engine start-up.
 */
export function expectedDuration(overloadSeconds: number): string {
  const minutes = Math.max(1, Math.round((5 * overloadSeconds) / 60));
  return `sluice demo: two runs of ${overloadSeconds} s overload and then the drain, about ${minutes} min in all (--overload-seconds shortens it)`;
}

/** `--scenario`: one pressure scenario on the example pipeline (lib/local/scenarios.ts); exits 1 when not ok. */
async function scenario(name: string, json: boolean): Promise<void> {
  if (!SCENARIOS.includes(name as ScenarioName)) {
    throw new UsageError(`--scenario must be one of ${SCENARIOS.join(', ')}, but '${name}' was provided`);
  }
  const { expectedScenarioDuration, formatScenario, runScenario } = await loadScenarios();
  console.error(expectedScenarioDuration(name as ScenarioName));
  const engines = await startEngines();
  const tty = process.stderr.isTTY;
  try {
    const result = await runScenario({
      engines,
      scenario: name as ScenarioName,
      onProgress: (line) => process.stderr.write(tty ? `\r${line}\x1b[K` : `${line}\n`),
    });
    if (tty) process.stderr.write('\n');
    console.log(json ? JSON.stringify(result, null, 2) : formatScenario(result));
    if (!result.ok) process.exitCode = 1;
  } finally {
    await engines.stop();
  }
}

/** The scenarios run on this repository's example pipeline; the published package leaves it out. */
async function loadScenarios(): Promise<typeof import('../local/scenarios.ts')> {
  try {
    return await import('../local/scenarios.ts');
  } catch (error) {
    if ((error as { code?: string }).code !== 'ERR_MODULE_NOT_FOUND') throw error;
    throw new CliError(
      'sluice demo --scenario runs on the example document pipeline, which the published package leaves out: run it from a clone of the sluice repository (npm run sluice -- demo --scenario …)',
      { cause: error },
    );
  }
}
