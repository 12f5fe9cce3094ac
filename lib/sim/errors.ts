/** Errors of the capacity simulator. */

/** Base class: something about a simulation's inputs is wrong. */
export class SimulationError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SimulationError';
  }
}

/** A scenario value outside its allowed range; the message names the field, the range and the value. */
export class ScenarioError extends SimulationError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ScenarioError';
  }
}

/** An arrival profile that cannot be parsed (a bad name, parameter or CSV line). */
export class ProfileError extends SimulationError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ProfileError';
  }
}
