/** Base class of every error the pipeline definition raises. */
export class SpecError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'SpecError';
  }
}

/**
 * A pipeline definition broke one or more rules. `problems` lists every one of them, each naming the field, the
 * allowed range and the value given, so a user fixes the definition in one pass.
 */
export class PipelineDefinitionError extends SpecError {
  readonly problems: readonly string[];

  constructor(pipelineName: string, problems: readonly string[], options?: ErrorOptions) {
    const count = problems.length === 1 ? '1 problem' : `${problems.length} problems`;
    super(`Pipeline definition '${pipelineName}' is invalid (${count}):\n  - ${problems.join('\n  - ')}`, options);
    this.name = 'PipelineDefinitionError';
    this.problems = problems;
  }
}
