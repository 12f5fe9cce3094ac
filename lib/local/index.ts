/**
 * sluice's local runtime: the pipeline on one machine, on real SQS and DynamoDB engines.
 *
 * @example
 * import { startLocalPipeline } from 'sluice/local';
 * const local = await startLocalPipeline(pipeline);
 * console.log(local.ingress.url);
 */
export {
  type Engines,
  LOCAL_CREDENTIALS,
  LOCAL_ENGINE_PACKAGES,
  type StartEnginesOptions,
  startEngines,
} from './engines.ts';
export {
  EndpointUnreachableError,
  LocalRuntimeError,
  MissingEngineError,
  UnsupportedNodeError,
} from './errors.ts';
export { EventSourcePoller, type EventSourcePollerOptions, failedIds } from './event-source-poller.ts';
export { type IngressServer, type IngressServerOptions, startIngressServer } from './ingress-server.ts';
export { type InvocationResult, LocalFunction, type LocalFunctionOptions } from './local-function.ts';
export { type LocalPipeline, type LocalPipelineOptions, startLocalPipeline } from './local-pipeline.ts';
export { type ProvisionedPipeline, type ProvisionedStage, provisionPipeline } from './provision.ts';
export { SharedWorkerPool, type SharedWorkerPoolOptions } from './shared-worker-pool.ts';
export { toSqsEvent, toSqsRecord } from './sqs-records.ts';
