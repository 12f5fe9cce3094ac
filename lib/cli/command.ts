import { parseArgs } from 'node:util';
import { UsageError } from './errors.ts';

/**
 * The shape every `sluice` command has: its flags with their help text, and the function that runs it. `main` parses
 * the flags (strictly), answers `--help`/`-h` from this description, and turns errors into one line and an exit code.
 *
 * @example
 * export const statusCommand = defineCommand({
 *   name: 'status',
 *   summary: 'queue depths and ages of a deployed pipeline',
 *   options: { stack: { type: 'string', value: 'NAME', description: 'the CloudFormation stack' } },
 *   run: async ({ stack }) => { … },
 * });
 */

/** One flag of a command. */
export interface CommandOption {
  readonly type: 'string' | 'boolean';
  /** A one-letter alias, without the dash. */
  readonly short?: string;
  /** How the value reads in the help, e.g. `N`, `FILE`, `URL`. @default 'VALUE' */
  readonly value?: string;
  /** What the flag does, one sentence. */
  readonly description: string;
  /** The default as the help prints it. @default - none printed */
  readonly default?: string;
  /** The command fails with a usage error when the flag is missing. @default false */
  readonly required?: boolean;
}

/** The parsed flag values of a command, typed from its options. */
export type CommandValues<O extends Record<string, CommandOption>> = {
  [K in keyof O]: O[K]['type'] extends 'boolean' ? boolean : string | undefined;
};

/** A `sluice` command. */
export interface Command<O extends Record<string, CommandOption> = Record<string, CommandOption>> {
  /** The word after `sluice`. */
  readonly name: string;
  /** One line for the command list. */
  readonly summary: string;
  /** Paragraphs the help prints after the usage line. @default - the summary only */
  readonly description?: string;
  readonly options: O;
  /** Positional arguments as the usage line shows them, e.g. `<job-id>`. @default - none accepted */
  readonly positionals?: string;
  /** Command lines the help shows. @default - none */
  readonly examples?: readonly string[];
  run(values: CommandValues<O>, positionals: string[]): Promise<void>;
}

/** Declares a command; only gives `run` its typed values. */
export function defineCommand<O extends Record<string, CommandOption>>(command: Command<O>): Command<O> {
  return command;
}

/** The help of one command, as `sluice <name> --help` prints it. */
export function formatCommandHelp(command: Command): string {
  const rows: [string, string][] = Object.entries(command.options).map(([name, option]) => [
    `${option.short ? `-${option.short}, ` : '    '}--${name}${option.type === 'string' ? ` ${option.value ?? 'VALUE'}` : ''}`,
    `${option.description}${option.required ? ' (required)' : ''}${option.default === undefined ? '' : ` (default: ${option.default})`}`,
  ]);
  rows.push(['-h, --help', 'show this help']);
  const width = Math.max(...rows.map(([flag]) => flag.length)) + 2;
  return [
    `usage: sluice ${command.name}${Object.keys(command.options).length > 0 ? ' [options]' : ''}${command.positionals ? ` ${command.positionals}` : ''}`,
    '',
    command.summary,
    ...(command.description ? ['', command.description] : []),
    '',
    'options:',
    ...rows.map(([flag, text]) => `  ${flag.padEnd(width)}${text}`),
    ...(command.examples?.length ? ['', 'examples:', ...command.examples.map((example) => `  ${example}`)] : []),
  ].join('\n');
}

/** True when the arguments ask for help (`--help` or `-h` before a `--`). */
export function asksForHelp(args: readonly string[]): boolean {
  const end = args.indexOf('--');
  return (end === -1 ? args : args.slice(0, end)).some((arg) => arg === '--help' || arg === '-h');
}

/** Parses `args` against the command's options; a bad or missing flag is a {@link UsageError}. */
export function parseCommandArgs<O extends Record<string, CommandOption>>(
  command: Command<O>,
  args: string[],
): { values: CommandValues<O>; positionals: string[] } {
  const options = Object.fromEntries(
    Object.entries(command.options).map(([name, option]) => [
      name,
      { type: option.type, ...(option.short ? { short: option.short } : {}) },
    ]),
  );
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args, options, strict: true, allowPositionals: command.positionals !== undefined });
  } catch (error) {
    // node:util's messages name the flag ("Unknown option '--turbo'"); the hint says where the flags are listed.
    throw new UsageError(
      `${(error as Error).message.split('\n')[0]}; 'sluice ${command.name} --help' lists the options`,
      {
        cause: error,
      },
    );
  }
  const values: Record<string, string | boolean | undefined> = {};
  for (const [name, option] of Object.entries(command.options)) {
    const value = parsed.values[name];
    if (option.required && value === undefined) {
      throw new UsageError(`--${name} is required: ${option.description}`);
    }
    values[name] = option.type === 'boolean' ? value === true : (value as string | undefined);
  }
  return { values: values as CommandValues<O>, positionals: parsed.positionals };
}
