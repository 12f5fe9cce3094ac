/**
 * sluice's consumer runtime: what a consumer Lambda function imports.
 *
 * @example
 * import { consumer, TransientError, PermanentError } from 'sluice/runtime';
 * export const handler = consumer({ schema: DocumentJob, handler: async (job, ctx) => { ... } });
 */
export { type BackoffOptions, backoffSeconds, DEFAULT_BACKOFF } from './backoff.ts';
export {
  type BreakerEvent,
  type BreakerSettings,
  type BreakerState,
  type BreakerStatus,
  type BreakerStep,
  breakerBlocks,
  breakerKey,
  breakerRetryAfterSeconds,
  breakerTransition,
  closedBreaker,
  DEFAULT_BREAKER,
  readBreaker,
} from './circuit-breaker.ts';
export { type ConsumerOptions, consumer, type IdempotencyOptions } from './consumer.ts';
export type { ConsumerHandler, ConsumerMiddleware, ConsumerRequest } from './consumer-handler.ts';
export {
  DEFAULT_DEFERRAL,
  DEFERRAL_ATTRIBUTES,
  type DeferralOptions,
  deferralDelaySeconds,
} from './deferral.ts';
export {
  ConsumerConfigurationError,
  DeferError,
  DeferralLimitExceededError,
  type DeferralReason,
  defaultClassify,
  type FailureKind,
  InvocationTimeRunningOutError,
  JobInProgressError,
  JobStateStoreError,
  MalformedMessageError,
  MessageGroupBlockedError,
  PermanentError,
  PoisonItemError,
  PressureError,
  SchemaValidationError,
  SluiceRuntimeError,
  TransientError,
  UnsupportedSchemaVersionError,
} from './errors.ts';
export { type ForwardOptions, JobContext } from './job-context.ts';
export { getJob, type JobRecord } from './job-status.ts';
export { createLogger, type Logger, type LogLevel } from './log.ts';
export { type MicroBatcher, type MicroBatcherOptions, microBatcher } from './micro-batcher.ts';
export { NextStageDepth } from './next-stage-pressure.ts';
export type { PressureOptions } from './pressure.ts';
export { type PressureMetrics, pressureMetricDocuments } from './pressure-metrics.ts';
export {
  type Limiter,
  type LimiterOptions,
  type LimiterSettings,
  limiterKey,
  type TakeResult,
  takeTokens,
} from './rate-limiter.ts';
export { type TenantLease, type TenantSettings, tenantKey } from './tenant-bulkhead.ts';
