import { resolve } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { $ZodType } from 'zod/v4/core';
import { drainOverflow } from '../../functions/drainer/drain.ts';
import { downstreamAdmissionOf, ENV, type Pipeline, pressureEnvironmentOf } from '../definition/index.ts';
import { startSampler, type WatchedConsumer } from './dashboard/sampler.ts';
import { type DashboardServer, startDashboardServer } from './dashboard/server.ts';
import { type Engines, LOCAL_CREDENTIALS, type StartEnginesOptions, startEngines } from './engines.ts';
import { EventSourcePoller } from './event-source-poller.ts';
import { type IngressServer, startIngressServer } from './ingress-server.ts';
import { LocalFunction } from './local-function.ts';
import { type LocalValve, startLocalValve } from './local-valve.ts';
import { type ProvisionedPipeline, provisionPipeline } from './provision.ts';
import { SharedWorkerPool } from './shared-worker-pool.ts';
import { startSqsQueryAdapter } from './sqs-query-adapter.ts';

/**
 * The whole pipeline on one machine: engines (or an external endpoint such as LocalStack), the queues and tables of
 * the same definition the CDK app deploys, one event source poller and function per stage running the stage's real
 * handler, and the ingress in front of the first stage.
 */

/** Options of {@link startLocalPipeline}. */
export interface LocalPipelineOptions {
  /** Engines already running; without them, they are started (and stopped with the pipeline). */
  readonly engines?: Engines;
  /** Options for starting engines (data directory, ports) when `engines` is not given. */
  readonly engineOptions?: StartEnginesOptions;
  /** Schema of the accepted jobs' data, for the ingress's 400s. */
  readonly acceptSchema?: $ZodType;
  /** Prefix of queue and table names. @default the pipeline's name */
  readonly prefix?: string;
  readonly ingressPort?: number;
  /** Ingress throttle. */
  readonly rateLimitPerSecond?: number;
  readonly burstLimit?: number;
  /** Depth check at the ingress. @default true */
  readonly backpressure?: boolean;
  /** Seconds the ingress reuses a depth reading. @default 1 */
  readonly depthCacheTtlSeconds?: number;
  /** Serve the live dashboard (and sample the queues every second for it). @default false */
  readonly dashboard?: boolean;
  /** Port of the dashboard. @default a free port */
  readonly dashboardPort?: number;
  /** Let the handlers' logs through to this process's stdout. @default false */
  readonly showHandlerOutput?: boolean;
  /**
   * Worker threads each function's environments share at most (see LocalFunction); bounds memory for long runs.
   * @default - one worker thread per execution environment, as on Lambda
   */
  readonly maxIsolatesPerFunction?: number;
  /**
   * Run every function in this many worker threads shared by all of them (`sluice dev`): each function keeps its own
   * module instance and `process.env`, and a timeout ends the whole worker (see SharedWorkerPool). Takes precedence
   * over `maxIsolatesPerFunction`.
   * @default - worker threads of each function's own
   */
  readonly sharedWorkerThreads?: number;
  /** Directory the stages' `consumer.entry` paths are relative to. @default process.cwd() */
  readonly root?: string;
  /** Milliseconds between two passes of the valve. @default LOCAL_VALVE_INTERVAL_MS */
  readonly valveIntervalMs?: number;
  /**
   * Resources the pipeline's handlers need besides sluice's own (the example's index table and embedding service),
   * started after the queues and tables and stopped with the pipeline; `environment` is added to the named stages.
   */
  readonly resources?: (context: LocalResourceContext) => Promise<LocalResources>;
}

/** What {@link LocalPipelineOptions.resources} gets. */
export interface LocalResourceContext {
  readonly sqs: SQSClient;
  readonly dynamo: DynamoDBClient;
  /** The prefix of the pipeline's queue and table names. */
  readonly prefix: string;
}

/** Resources started by {@link LocalPipelineOptions.resources}. */
export interface LocalResources {
  /** Extra environment variables, by stage name. */
  readonly environment: Readonly<Record<string, Readonly<Record<string, string>>>>;
  stop(): Promise<void>;
}

/** A running local pipeline. */
export interface LocalPipeline {
  readonly engines: Engines;
  readonly provisioned: ProvisionedPipeline;
  readonly ingress: IngressServer;
  /** The live dashboard, when asked for. */
  readonly dashboard: DashboardServer | undefined;
  /** An SQS endpoint for any AWS CLI (query and JSON protocols) in front of the embedded engine; undefined when external. */
  readonly sqsCliEndpoint: string | undefined;
  readonly pollers: ReadonlyMap<string, EventSourcePoller>;
  /** The valve pausing and resuming the pollers (breakers, next-stage depth). */
  readonly valve: LocalValve;
  readonly functions: ReadonlyMap<string, LocalFunction>;
  readonly sqs: SQSClient;
  readonly dynamo: DynamoDBClient;
  stop(): Promise<void>;
}

/** Starts `pipeline` locally. */
export async function startLocalPipeline(
  pipeline: Pipeline,
  options: LocalPipelineOptions = {},
): Promise<LocalPipeline> {
  const ownEngines = options.engines === undefined;
  const engines = options.engines ?? (await startEngines(options.engineOptions));
  const credentials = engines.kind === 'embedded' ? LOCAL_CREDENTIALS : undefined;
  const sqs = new SQSClient({
    endpoint: engines.sqsEndpoint,
    region: engines.region,
    useQueueUrlAsEndpoint: false,
    ...(credentials ? { credentials } : {}),
  });
  const dynamo = new DynamoDBClient({
    endpoint: engines.dynamoEndpoint,
    region: engines.region,
    ...(credentials ? { credentials } : {}),
  });
  const stops: Array<() => Promise<void>> = [];
  try {
    const provisioned = await provisionPipeline(pipeline, {
      sqs,
      dynamo,
      ...(options.prefix ? { prefix: options.prefix } : {}),
    });
    const resources = options.resources
      ? await options.resources({ sqs, dynamo, prefix: options.prefix ?? pipeline.name })
      : undefined;
    if (resources) stops.push(() => resources.stop());
    const functions = new Map<string, LocalFunction>();
    const pollers = new Map<string, EventSourcePoller>();
    const lowLane = provisioned.ingress?.lowLane;
    // Each stage's consumer, plus the low lane's own consumer (same handler, its own queue and concurrency).
    const consumers = pipeline.stages.map((stage) => ({
      key: stage.name,
      stage,
      queues: provisioned.stages.get(stage.name),
      maxConcurrency: stage.consumer.maxConcurrency,
    }));
    if (lowLane && pipeline.ingress) {
      const lowConcurrency = pipeline.ingress.priority.lowLaneMaxConcurrency;
      consumers.push({
        key: `${lowLane.stage.name}-low`,
        stage: lowLane.stage,
        queues: lowLane,
        maxConcurrency: lowConcurrency,
      });
    }
    const pool =
      options.sharedWorkerThreads === undefined
        ? undefined
        : new SharedWorkerPool({
            threads: options.sharedWorkerThreads,
            showOutput: options.showHandlerOutput ?? false,
          });
    if (pool) stops.push(() => pool.stop());
    for (const { key, stage, queues, maxConcurrency } of consumers) {
      if (!queues) {
        throw new Error(`stage ${stage.name} was not provisioned`);
      }
      const next = stage.next ? provisioned.stages.get(stage.next) : undefined;
      const environment: Record<string, string> = {
        ...stage.consumer.environment,
        ...resources?.environment[stage.name],
        ...pressureEnvironmentOf(stage, {
          ...(provisioned.controlTableName ? { controlTableName: provisioned.controlTableName } : {}),
          ...(next ? { nextDepthLimit: next.stage.flow.depthLimit } : {}),
          ...(pipeline.tenantKey === undefined ? {} : { tenantKey: pipeline.tenantKey }),
        }),
        [ENV.pipelineName]: pipeline.name,
        [ENV.stageName]: stage.name,
        [ENV.queueUrl]: queues.queueUrl,
        [ENV.deadLetterQueueUrl]: queues.deadLetterQueueUrl,
        [ENV.maxReceiveCount]: String(stage.queue.maxReceiveCount),
        [ENV.visibilityTimeoutSeconds]: String(stage.queue.visibilityTimeoutSeconds),
        ...(next ? { [ENV.nextQueueUrl]: next.queueUrl } : {}),
        ...(provisioned.jobTableName ? { [ENV.jobTableName]: provisioned.jobTableName } : {}),
        ...(provisioned.idempotencyTableName ? { [ENV.idempotencyTableName]: provisioned.idempotencyTableName } : {}),
        AWS_REGION: engines.region,
        AWS_ENDPOINT_URL_SQS: engines.sqsEndpoint,
        AWS_ENDPOINT_URL_DYNAMODB: engines.dynamoEndpoint,
        ...(credentials
          ? { AWS_ACCESS_KEY_ID: credentials.accessKeyId, AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey }
          : {}),
      };
      const fn = new LocalFunction({
        name: `${pipeline.name}-${key}`,
        entry: resolve(options.root ?? process.cwd(), stage.consumer.entry),
        handlerName: stage.consumer.handler,
        timeoutSeconds: stage.consumer.timeoutSeconds,
        memorySizeMiB: stage.consumer.memorySizeMiB,
        reservedConcurrency: Math.max(
          maxConcurrency,
          key === stage.name ? stage.consumer.reservedConcurrency : maxConcurrency,
        ),
        environment,
        showOutput: options.showHandlerOutput ?? false,
        ...(options.maxIsolatesPerFunction ? { maxIsolates: options.maxIsolatesPerFunction } : {}),
        ...(pool ? { pool } : {}),
      });
      const poller = new EventSourcePoller({
        sqs,
        queueUrl: queues.queueUrl,
        queueArn: queues.queueArn,
        region: engines.region,
        batchSize: stage.consumer.batchSize,
        maxBatchingWindowSeconds: stage.consumer.maxBatchingWindowSeconds,
        maxConcurrency,
        function: fn,
      });
      functions.set(key, fn);
      pollers.set(key, poller);
      stops.push(() => fn.stop());
      stops.unshift(() => poller.stop());
    }
    // Every function exists before the first invocation (a shared worker's heap limit counts them all).
    for (const poller of pollers.values()) poller.start();
    const valve = startLocalValve({
      pipeline,
      provisioned,
      sqs,
      dynamo,
      pollersOf: (stage) =>
        [pollers.get(stage), pollers.get(`${stage}-low`)].filter(
          (poller): poller is EventSourcePoller => poller !== undefined,
        ),
      ...(options.valveIntervalMs === undefined ? {} : { intervalMs: options.valveIntervalMs }),
    });
    stops.unshift(() => valve.stop());
    const overflowQueueUrl = provisioned.ingress?.overflowQueueUrl;
    if (overflowQueueUrl && pipeline.ingress) {
      const drainer = startDrainer(sqs, pipeline.ingress.overflow, {
        overflowQueueUrl,
        queueUrl: (provisioned.stages.get(pipeline.ingress.stage) as { queueUrl: string }).queueUrl,
        ...(lowLane ? { lowLaneQueueUrl: lowLane.queueUrl } : {}),
      });
      stops.unshift(() => drainer.stop());
    }
    const first = provisioned.stages.get(pipeline.ingress?.stage ?? pipeline.stages[0]?.name ?? '');
    if (!first) {
      throw new Error(`pipeline ${pipeline.name} has no stages`);
    }
    const ingress = await startIngressServer({
      sqs,
      dynamo,
      stage: first,
      ...(pipeline.tenantKey === undefined ? {} : { tenantKey: pipeline.tenantKey }),
      downstream: downstreamAdmissionOf(pipeline.stages, first.stage.name).map((admission) => ({
        admission,
        queueUrl: (provisioned.stages.get(admission.stage) as { queueUrl: string }).queueUrl,
      })),
      ...(pipeline.ingress ? { ingress: pipeline.ingress } : {}),
      ...(lowLane ? { lowLaneQueueUrl: lowLane.queueUrl } : {}),
      ...(overflowQueueUrl ? { overflowQueueUrl } : {}),
      ...(provisioned.jobTableName ? { jobTableName: provisioned.jobTableName } : {}),
      ...(options.acceptSchema ? { schema: options.acceptSchema } : {}),
      ...(options.rateLimitPerSecond === undefined ? {} : { rateLimitPerSecond: options.rateLimitPerSecond }),
      ...(options.burstLimit === undefined ? {} : { burstLimit: options.burstLimit }),
      ...(options.backpressure === undefined ? {} : { backpressure: options.backpressure }),
      ...(options.depthCacheTtlSeconds === undefined ? {} : { depthCacheTtlSeconds: options.depthCacheTtlSeconds }),
      ...(options.ingressPort === undefined ? {} : { port: options.ingressPort }),
    });
    stops.unshift(() => ingress.stop());
    const adapter =
      engines.kind === 'embedded'
        ? await startSqsQueryAdapter({ targetEndpoint: engines.sqsEndpoint, sqs })
        : undefined;
    if (adapter) stops.unshift(() => adapter.stop());
    let dashboard: DashboardServer | undefined;
    if (options.dashboard) {
      const watched: WatchedConsumer[] = [...pollers.entries()].map(([name, poller]) => {
        const queues =
          name.endsWith('-low') && lowLane?.stage.name === name.slice(0, -4) ? lowLane : provisioned.stages.get(name);
        return {
          name,
          poller,
          queueUrl: queues?.queueUrl as string,
          deadLetterQueueUrl: queues?.deadLetterQueueUrl as string,
        };
      });
      const sampler = startSampler(sqs, watched, ingress);
      stops.unshift(async () => sampler.stop());
      dashboard = await startDashboardServer(sampler.metrics, options.dashboardPort);
      const server = dashboard;
      stops.unshift(() => server.stop());
    }
    let stopped = false;
    return {
      engines,
      provisioned,
      ingress,
      sqsCliEndpoint: adapter?.url,
      dashboard,
      pollers,
      valve,
      functions,
      sqs,
      dynamo,
      async stop() {
        if (stopped) return;
        stopped = true;
        for (const stop of stops) await stop();
        sqs.destroy();
        dynamo.destroy();
        if (ownEngines) await engines.stop();
      },
    };
  } catch (error) {
    for (const stop of stops) await stop().catch(() => undefined);
    if (ownEngines) await engines.stop();
    throw error;
  }
}

/** How often the local drainer runs; the deployed `OverflowDrainer` runs every minute, the local one sooner. */
export const LOCAL_DRAIN_INTERVAL_MS = 5_000;

/** The overflow drainer on a timer: the real `drainOverflow`, run every few seconds instead of every minute. */
function startDrainer(
  sqs: SQSClient,
  overflow: { readonly drainRatePerSecond: number; readonly lowWatermark: number },
  queues: { readonly overflowQueueUrl: string; readonly queueUrl: string; readonly lowLaneQueueUrl?: string },
): { stop(): Promise<void> } {
  let running: Promise<unknown> = Promise.resolve();
  let stopped = false;
  const timer = setInterval(() => {
    running = running.then(() =>
      stopped
        ? undefined
        : drainOverflow({
            sqs,
            ...queues,
            ratePerSecond: overflow.drainRatePerSecond,
            lowWatermark: overflow.lowWatermark,
            maxDurationMs: LOCAL_DRAIN_INTERVAL_MS - 1_000,
          }).catch(() => undefined),
    );
  }, LOCAL_DRAIN_INTERVAL_MS);
  return {
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running;
    },
  };
}
