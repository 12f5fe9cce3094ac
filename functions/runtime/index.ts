/**
 * sluice's consumer runtime: what a consumer Lambda function imports.
 *
 * @example
 * import { consumer, TransientError, PermanentError } from 'sluice/runtime';
 * export const handler = consumer({ schema: DocumentJob, handler: async (job, ctx) => { ... } });
 */
export { type BackoffOptions, backoffSeconds, DEFAULT_BACKOFF } from './backoff.ts';
export { type ConsumerOptions, consumer, type IdempotencyOptions } from './consumer.ts';
export type { ConsumerHandler, ConsumerMiddleware, ConsumerRequest } from './consumer-handler.ts';
export {
  ConsumerConfigurationError,
  defaultClassify,
  type FailureKind,
  InvocationTimeRunningOutError,
  JobInProgressError,
  JobStateStoreError,
  MalformedMessageError,
  MessageGroupBlockedError,
  PermanentError,
  SchemaValidationError,
  SluiceRuntimeError,
  TransientError,
  UnsupportedSchemaVersionError,
} from './errors.ts';
export { type ForwardOptions, JobContext } from './job-context.ts';
export { getJob, type JobRecord } from './job-status.ts';
export { createLogger, type Logger, type LogLevel } from './log.ts';
