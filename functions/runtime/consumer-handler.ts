import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';

/**
 * The public type of the handler {@link consumer} returns, declared here rather than as middy's `MiddyfiedHandler`:
 * middy's declarations import `@aws/durable-execution-sdk-js`, an optional peer of middy that an app does not install,
 * so exposing them would make an app's `tsc` fail without `skipLibCheck`. The shape is middy's, so middy middlewares
 * (`{ before, after, onError }`) can be added with `.use()`.
 */

/** What a middleware sees: middy's request object for an SQS batch. */
export interface ConsumerRequest {
  event: SQSEvent;
  context: Context;
  response: SQSBatchResponse | null | undefined;
  error: Error | null | undefined;
  // biome-ignore lint/suspicious/noExplicitAny: middy's internal store holds whatever middlewares put there.
  internal: Record<string, any>;
}

/** A middy middleware for the consumer. */
export interface ConsumerMiddleware {
  // biome-ignore lint/suspicious/noExplicitAny: middy lets a middleware return anything (a value ends the chain early).
  before?: (request: ConsumerRequest) => any;
  // biome-ignore lint/suspicious/noExplicitAny: as above.
  after?: (request: ConsumerRequest) => any;
  // biome-ignore lint/suspicious/noExplicitAny: as above.
  onError?: (request: ConsumerRequest) => any;
  name?: string;
}

/** The Lambda handler {@link consumer} returns: middy-wrapped, so more middlewares can be added with `.use()`. */
export interface ConsumerHandler {
  (event: SQSEvent, context: Context): Promise<SQSBatchResponse>;
  /** Adds middy middlewares; returns the same handler. */
  use(middlewares: ConsumerMiddleware | ConsumerMiddleware[]): ConsumerHandler;
  /** Adds a `before` function. */
  before(middleware: NonNullable<ConsumerMiddleware['before']>): ConsumerHandler;
  /** Adds an `after` function. */
  after(middleware: NonNullable<ConsumerMiddleware['after']>): ConsumerHandler;
  /** Adds an `onError` function. */
  onError(middleware: NonNullable<ConsumerMiddleware['onError']>): ConsumerHandler;
}
