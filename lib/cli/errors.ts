/**
 * A failure the CLI reports in one line that says what to do, without a stack trace. Exit code 1.
 *
 * Commands throw it (or a subclass) for conditions the user can fix: a busy port, a missing module, an endpoint that
 * does not answer.
 */
export class CliError extends Error {
  /** The process exit code `main` returns for this error. */
  readonly exitCode: number = 1;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'CliError';
  }
}

/** A command line the CLI cannot run: a bad flag or value. Printed without a stack trace, exit code 2. */
export class UsageError extends CliError {
  override readonly exitCode: number = 2;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'UsageError';
  }
}
