/** Errors the constructs throw at synth time. */

/** Base class of every error the sluice constructs throw. */
export class SluiceConstructError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'SluiceConstructError';
  }
}

/** A construct was given props that break AWS's rules or sluice's; lists every problem at once. */
export class InvalidPropsError extends SluiceConstructError {
  readonly problems: readonly string[];

  constructor(construct: string, path: string, problems: readonly string[]) {
    super(
      `${construct} at ${path} has ${problems.length} invalid prop${problems.length === 1 ? '' : 's'}:\n- ${problems.join('\n- ')}`,
    );
    this.name = 'InvalidPropsError';
    this.problems = problems;
  }
}
