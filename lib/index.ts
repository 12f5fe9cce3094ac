/**
 * sluice: queues, batching and backpressure for AWS backends. The constructs and the pipeline definition they read.
 *
 * @example
 * import { definePipeline, Pipeline } from 'sluice';
 * new Pipeline(stack, 'Documents', { definition: definePipeline({ name: 'documents', stages: [...] }) });
 */
export { AlarmTopic, type AlarmTopicProps } from './constructs/alarm-topic.ts';
export { DurableQueue, type DurableQueueProps } from './constructs/durable-queue.ts';
export { InvalidPropsError, SluiceConstructError } from './constructs/errors.ts';
export { IngestApi, type IngestApiProps } from './constructs/ingest-api.ts';
export { JobTables, type JobTablesProps } from './constructs/job-tables.ts';
export { OverflowDrainer, type OverflowDrainerProps } from './constructs/overflow-drainer.ts';
export { NESTED_STACKS_ABOVE_STAGES, Pipeline, type PipelineProps } from './constructs/pipeline.ts';
export { PipelineIngress, type PipelineIngressProps } from './constructs/pipeline-ingress.ts';
export { QueueAlarms, type QueueAlarmsProps } from './constructs/queue-alarms.ts';
export { QueueConsumer, type QueueConsumerProps } from './constructs/queue-consumer.ts';
export { Stage, type StageProps } from './constructs/stage.ts';
export * from './definition/index.ts';
