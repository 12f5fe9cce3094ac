/**
 * The pipeline definition: one description of a pipeline that feeds the CDK constructs, the local runtime and the
 * capacity simulator. Imports zod only.
 */
export { type ConsumerRuleInput, consumerRuleProblems, type FieldNamer } from './consumer-rules.ts';
export {
  definePipeline,
  type Pipeline,
  type PipelineValidation,
  stageOf,
  validatePipeline,
} from './define-pipeline.ts';
export {
  depthLimitFor,
  drainRatePerSecond,
  exceedsInvocationPayload,
  requiredVisibilityTimeoutSeconds,
  worstCaseBatchPayloadBytes,
} from './derive.ts';
export {
  DEAD_LETTER_ATTRIBUTES,
  type DecodedJob,
  decodeJob,
  encodeJob,
  JOB_ID_PATTERN,
  type JobEnvelope,
  PRIORITIES,
  type Priority,
} from './envelope.ts';
export { ENV, type EnvironmentVariableName } from './environment.ts';
export { PipelineDefinitionError, SpecError } from './errors.ts';
export {
  BackpressureSettingsSchema,
  IngressClientSchema,
  IngressSettingsSchema,
  OverflowSettingsSchema,
  PrioritySettingsSchema,
  QuotaSettingsSchema,
  ThrottleSettingsSchema,
} from './ingress-schema.ts';
export { type JsonSchema, type RequestSchema, requestJsonSchema, UnrepresentableSchemaError } from './json-schema.ts';
export {
  AGE_SLO_SECONDS,
  API_GATEWAY_LIMITS,
  BATCH_SIZE_WITHOUT_WINDOW,
  DEFAULTS,
  INGRESS_DEFAULTS,
  LAMBDA_LIMITS,
  type Range,
  SQS_LIMITS,
  VISIBILITY_TIMEOUT_FACTOR,
} from './limits.ts';
export { METRIC_DIMENSIONS, METRICS_NAMESPACE, RUNTIME_METRICS, type RuntimeMetricName } from './metrics.ts';
export type {
  BackpressureSettingsInput,
  BreakerSettingsInput,
  ConsumerSettingsInput,
  DownstreamSettingsInput,
  FlowSettingsInput,
  IdempotencySettingsInput,
  IngressClientInput,
  IngressInput,
  JobStatusSettingsInput,
  OverflowSettingsInput,
  PipelineInput,
  PrioritySettingsInput,
  QueueSettingsInput,
  QuotaSettingsInput,
  StageInput,
  TenantSettingsInput,
  ThrottleSettingsInput,
} from './pipeline-input.ts';
export {
  BreakerSettingsSchema,
  DownstreamSettingsSchema,
  PipelineSchema,
  StageSchema,
  TenantSettingsSchema,
} from './pipeline-schema.ts';
export {
  BREAKER_DEFAULTS,
  DEFAULT_BURST_SECONDS,
  downstreamDrainRatePerSecond,
  MESSAGE_GROUP_ID_MAX_LENGTH,
  PRESSURE_ENV,
  type PressureStage,
  pressureEnvironmentOf,
  type ResolvedBreaker,
  type ResolvedDownstream,
  type ResolvedTenantBulkhead,
  tenantGroupIdOf,
  usesControlTable,
} from './pressure.ts';
export {
  type AdmissionSettings,
  type AuthorizerSettings,
  admissionSettingsOf,
  authorizerSettingsOf,
  type DownstreamAdmission,
  downstreamAdmissionOf,
  type ResolvedBackpressure,
  type ResolvedIngress,
  type ResolvedIngressClient,
  type ResolvedOverflow,
  type ResolvedPriority,
  type ResolvedThrottle,
} from './resolve-ingress.ts';
export type {
  ResolvedConsumerSettings,
  ResolvedFlowSettings,
  ResolvedQueueSettings,
  ResolvedStage,
  SpecWarning,
} from './resolve-stage.ts';
export {
  CONTROL_TABLE,
  FINAL_JOB_STATES,
  IDEMPOTENCY_TABLE,
  JOB_STATES,
  JOB_TABLE,
  type JobState,
  type TableShape,
} from './tables.ts';
