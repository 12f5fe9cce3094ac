/** Base class of the errors the ingress functions (authorizer, accept, drainer, status) raise. */
export class IngressError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'IngressError';
  }
}

/** A function's environment or options are missing or wrong; it cannot run until its deployment is fixed. */
export class IngressConfigurationError extends IngressError {
  constructor(problem: string, options?: ErrorOptions) {
    super(`The ingress function is misconfigured: ${problem}. Redeploy it with the IngestApi construct.`, options);
    this.name = 'IngressConfigurationError';
  }
}
