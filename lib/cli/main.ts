import { readFileSync } from 'node:fs';
import { asksForHelp, type Command, formatCommandHelp, parseCommandArgs } from './command.ts';
import { demoCommand } from './demo.ts';
import { devCommand } from './dev.ts';
import { dlqCommand } from './dlq.ts';
import { CliError, UsageError } from './errors.ts';
import { explainError } from './explain-error.ts';
import { jobsCommand } from './jobs.ts';
import { loadCommand } from './load.ts';
import { simulateCommand } from './simulate.ts';
import { statusCommand } from './status.ts';

/** The CLI's commands, in the order `sluice --help` lists them. A new command adds its entry here. */
export const COMMANDS: readonly Command[] = [
  devCommand as Command,
  loadCommand as Command,
  demoCommand as Command,
  simulateCommand as Command,
  statusCommand as Command,
  dlqCommand as Command,
  jobsCommand as Command,
];

/** The installed package's version, from the package.json above this file (sources or dist/). */
export function packageVersion(): string {
  for (const candidate of ['../../package.json', '../../../package.json']) {
    try {
      const manifest = JSON.parse(readFileSync(new URL(candidate, import.meta.url), 'utf8')) as {
        name?: string;
        version?: string;
      };
      if (manifest.name === 'sluice' && manifest.version) return manifest.version;
    } catch {
      // not at this level; try the next
    }
  }
  return 'unknown';
}

/** `sluice --help`: the commands and the global flags. */
export function formatUsage(): string {
  const width = Math.max(...COMMANDS.map(({ name }) => name.length)) + 2;
  return [
    'usage: sluice <command> [options]',
    '',
    'commands:',
    ...COMMANDS.map(({ name, summary }) => `  ${name.padEnd(width)}${summary}`),
    '',
    "'sluice <command> --help' shows a command's options.",
    '  -h, --help     show this help',
    '  -v, --version  print the version',
    '',
    'exit codes: 0 ok, 1 failure, 2 bad command line',
  ].join('\n');
}

/** Runs the CLI with `argv` (without node and the script) and returns the exit code. */
export async function main(argv: string[]): Promise<number> {
  const [name, ...args] = argv;
  if (name === '--version' || name === '-v') {
    console.log(packageVersion());
    return 0;
  }
  if (name === undefined || name === 'help' || name === '--help' || name === '-h') {
    const topic = name === 'help' ? COMMANDS.find((command) => command.name === args[0]) : undefined;
    if (topic) {
      console.log(formatCommandHelp(topic));
      return 0;
    }
    if (name === undefined) {
      console.error(formatUsage());
      return 2;
    }
    console.log(formatUsage());
    return 0;
  }
  const command = COMMANDS.find((candidate) => candidate.name === name);
  try {
    if (!command) {
      throw new UsageError(
        `unknown command '${name}'; the commands are: ${COMMANDS.map((c) => c.name).join(', ')} ('sluice --help' describes them)`,
      );
    }
    if (asksForHelp(args)) {
      console.log(formatCommandHelp(command));
      return 0;
    }
    const { values, positionals } = parseCommandArgs(command, args);
    await command.run(values, positionals);
    // A command may set process.exitCode (e.g. a demo whose ledger does not balance).
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (error) {
    const prefix = `sluice ${name}: `;
    if (error instanceof CliError) {
      console.error(`${prefix}${error.message}`);
      return error.exitCode;
    }
    const explained = explainError(error);
    if (explained) {
      console.error(`${prefix}${explained}`);
      return 1;
    }
    // Not a condition the CLI knows how to explain: a defect, so the stack trace goes with it.
    console.error(prefix.trimEnd(), error);
    return 1;
  }
}
