/** Errors of the operator commands (status, dlq, jobs); the CLI prints their message and exits 1. */

/** Base class of every operator command error. */
export class OpsError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'OpsError';
  }
}

/** The pipeline's queues, functions or tables could not be found (no stack, no outputs, no such queue). */
export class ResourcesNotFoundError extends OpsError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'ResourcesNotFoundError';
  }
}

/** An operation that needs a confirmation was not confirmed (no `--yes`, and no terminal to ask on). */
export class NotConfirmedError extends OpsError {
  constructor(message: string) {
    super(message);
    this.name = 'NotConfirmedError';
  }
}
