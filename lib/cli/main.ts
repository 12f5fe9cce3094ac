import { demo } from './demo.ts';
import { dev } from './dev.ts';
import { dlq } from './dlq.ts';
import { UsageError } from './errors.ts';
import { jobs } from './jobs.ts';
import { load } from './load.ts';
import { status } from './status.ts';

/** The CLI's commands. Each takes its own arguments. */
const COMMANDS: Record<string, { readonly summary: string; readonly run: (args: string[]) => Promise<void> }> = {
  dev: {
    summary:
      'run the pipeline locally on embedded SQS and DynamoDB: sluice dev [--data DIR] [--port N] [--pipeline MODULE] [--verbose]',
    run: dev,
  },
  load: {
    summary: 'open-loop load on an ingress: sluice load --rate R --duration SECONDS [--url U] [--api-key K] [--json]',
    run: load,
  },
  demo: {
    summary: 'overload with and without backpressure, and the ledger: sluice demo [--json] [--overload-seconds N]',
    run: demo,
  },
  status: {
    summary:
      'is each stage recovering or falling behind: sluice status [--json] [--watch] (--url DASHBOARD | --stack NAME | --endpoint URL)',
    run: status,
  },
  dlq: {
    summary: 'dead letters: sluice dlq list | peek | redrive | purge --stage S (--stack NAME | --endpoint URL)',
    run: dlq,
  },
  jobs: {
    summary: 'job records: sluice jobs get <id> | sluice jobs list --status failed --since 1h (--stack | --endpoint)',
    run: jobs,
  },
};

/** Runs the CLI with `argv` (without node and the script) and returns the exit code. */
export async function main(argv: string[]): Promise<number> {
  const [command, ...args] = argv;
  if (command === undefined || command === 'help' || command === '--help') {
    console.log(
      [
        'usage: sluice <command> [options]',
        '',
        ...Object.entries(COMMANDS).map(([name, { summary }]) => `  ${name.padEnd(6)} ${summary}`),
      ].join('\n'),
    );
    return command === undefined ? 2 : 0;
  }
  const entry = COMMANDS[command];
  try {
    if (!entry) {
      throw new UsageError(`unknown command '${command}'; the commands are: ${Object.keys(COMMANDS).join(', ')}`);
    }
    await entry.run(args);
    // A command may set process.exitCode (e.g. a demo whose ledger does not balance).
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (error) {
    if (error instanceof UsageError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      console.error(`sluice ${command}: ${(error as Error).message}`);
      return 2;
    }
    throw error;
  }
}
