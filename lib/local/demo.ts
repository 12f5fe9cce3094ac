import { randomUUID } from 'node:crypto';
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type AttributeValue, ScanCommand } from '@aws-sdk/client-dynamodb';
import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { definePipeline, type Pipeline } from '../definition/index.ts';
import type { Engines } from './engines.ts';
import { type LoadStats, progressLine, runLoad } from './load-generator.ts';
import { startLocalPipeline } from './local-pipeline.ts';

/**
 * The seed's scenario, scaled down to one machine: producers at 2.5× the consumers' capacity for a while, then 0.5×
 * until the backlog is gone; once with backpressure (the ingress's depth check) and once without. The ledger is read
 * from the job table and the queues, not from the load generator's own counts, so it checks the pipeline itself:
 * offered = accepted + rejected, accepted = completed + dead-lettered + queued, lost = what is left over.
 */

/**
 * Requests the demo's load generator keeps outstanding at most. It is also the bound on how far depth can pass the
 * limit with backpressure: every admitted request saw a depth under the limit, and at most this many can be between
 * their depth check and their enqueue at once.
 */
export const DEMO_MAX_IN_FLIGHT = 1_024;

/** Options of {@link runDemo}. */
export interface DemoOptions {
  readonly engines: Engines;
  /** Seconds at 2.5× capacity. @default 60 */
  readonly overloadSeconds?: number;
  /** The stage's age SLO. @default 20 */
  readonly ageSloSeconds?: number;
  /** The stage's depth limit. @default 480 (60 % of Little's law at the SLO, for standard-queue ordering slack) */
  readonly depthLimit?: number;
  /** Longest time the 0.5× phase may take to drain the backlog. @default 600 */
  readonly maxDrainSeconds?: number;
  /** Progress lines (stderr in the CLI). */
  readonly onProgress?: (line: string) => void;
}

/** The ledger and limits of one run. */
export interface DemoRun {
  readonly backpressure: boolean;
  readonly offered: number;
  readonly accepted: number;
  readonly rejected: {
    readonly throttled: number;
    readonly shed: number;
    readonly failed: number;
    readonly dropped: number;
  };
  readonly completed: number;
  readonly deadLettered: number;
  readonly queued: number;
  readonly lost: number;
  readonly ledgerBalanced: boolean;
  readonly maxDepth: number;
  readonly depthLimit: number;
  readonly maxOldestAgeSeconds: number;
  readonly ageSloSeconds: number;
  readonly sloBreached: boolean;
  /** Seconds from the end of the overload until the backlog was back under 10 % of the depth limit. */
  readonly recoverySeconds: number | null;
}

/** Both runs. */
export interface DemoResult {
  readonly capacityPerSecond: number;
  readonly overloadRatePerSecond: number;
  readonly recoveryRatePerSecond: number;
  readonly overloadSeconds: number;
  readonly withBackpressure: DemoRun;
  readonly withoutBackpressure: DemoRun;
  /** lost = 0 in both, depth ≤ limit + 5 % and oldest age ≤ SLO with backpressure. */
  readonly ok: boolean;
}

/**
 * The demo stage's handler, resolved next to this module rather than against the working directory, so `sluice demo`
 * runs from any directory: the `.ts` source inside this repository, the compiled `.js` in the published package (which
 * ships `functions/demo`, and whose Node does not strip types under node_modules).
 */
export const DEMO_HANDLER_ENTRY = fileURLToPath(
  new URL(`../../functions/demo/simulated-work${extname(fileURLToPath(import.meta.url))}`, import.meta.url),
);

/** The demo's one-stage pipeline: 2 concurrent batches of 10, 50 ms a job, so 40 jobs a second. */
export function demoPipeline(ageSloSeconds: number, depthLimit: number): Pipeline {
  return definePipeline({
    name: 'demo',
    stages: [
      {
        name: 'work',
        queue: { maxReceiveCount: 5 },
        consumer: {
          entry: DEMO_HANDLER_ENTRY,
          timeoutSeconds: 10,
          batchSize: 10,
          maxBatchingWindowSeconds: 0,
          maxConcurrency: 2,
          reservedConcurrency: 2,
        },
        flow: { ageSloSeconds, depthLimit, recordProcessingMs: 50 },
      },
    ],
    jobs: { enabled: true },
  });
}

/** Runs the scenario twice and returns both ledgers. */
export async function runDemo(options: DemoOptions): Promise<DemoResult> {
  const overloadSeconds = options.overloadSeconds ?? 60;
  const ageSloSeconds = options.ageSloSeconds ?? 20;
  const depthLimit = options.depthLimit ?? 480;
  const pipeline = demoPipeline(ageSloSeconds, depthLimit);
  const stage = pipeline.stages[0];
  if (!stage) throw new Error('the demo pipeline has no stage');
  const capacity = stage.flow.drainRatePerSecond;
  const runs: DemoRun[] = [];
  for (const backpressure of [true, false]) {
    runs.push(await runOnce(options, pipeline, backpressure, capacity, overloadSeconds));
  }
  const [withBackpressure, withoutBackpressure] = runs as [DemoRun, DemoRun];
  return {
    capacityPerSecond: capacity,
    overloadRatePerSecond: capacity * 2.5,
    recoveryRatePerSecond: capacity * 0.5,
    overloadSeconds,
    withBackpressure,
    withoutBackpressure,
    ok:
      withBackpressure.lost === 0 &&
      withoutBackpressure.lost === 0 &&
      withBackpressure.ledgerBalanced &&
      withoutBackpressure.ledgerBalanced &&
      withBackpressure.maxDepth <= withBackpressure.depthLimit * 1.05 &&
      !withBackpressure.sloBreached,
  };
}

async function runOnce(
  options: DemoOptions,
  pipeline: Pipeline,
  backpressure: boolean,
  capacity: number,
  overloadSeconds: number,
): Promise<DemoRun> {
  const local = await startLocalPipeline(pipeline, {
    engines: options.engines,
    prefix: `demo-${backpressure ? 'on' : 'off'}-${randomUUID().slice(0, 6)}`,
    backpressure,
    // A short depth cache keeps the overshoot past the limit small (arrivals × TTL: 100/s × 0.05 s = 5 jobs).
    depthCacheTtlSeconds: 0.05,
    rateLimitPerSecond: 10_000,
    burstLimit: 10_000,
  });
  const stage = local.provisioned.stages.get('work');
  if (!stage) throw new Error('the demo stage was not provisioned');
  const depthLimit = stage.stage.flow.depthLimit;
  let maxDepth = 0;
  let depth = 0;
  let overloadEndedAt: number | undefined;
  let recoveredAt: number | undefined;
  const readDepth = async () => {
    const result = await local.sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl: stage.queueUrl,
        AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
      }),
    );
    return (
      Number(result.Attributes?.ApproximateNumberOfMessages ?? 0) +
      Number(result.Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0)
    );
  };
  const started = Date.now();
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      depth = await readDepth();
      maxDepth = Math.max(maxDepth, depth);
      if (overloadEndedAt === undefined && Date.now() >= started + overloadSeconds * 1000)
        overloadEndedAt = started + overloadSeconds * 1000;
      if (overloadEndedAt !== undefined && recoveredAt === undefined && depth <= depthLimit * 0.1)
        recoveredAt = Date.now();
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  })();
  const label = backpressure ? 'with backpressure' : 'without backpressure';
  let stats: LoadStats;
  try {
    stats = await runLoad({
      url: local.ingress.url,
      phases: [
        { ratePerSecond: capacity * 2.5, durationMs: overloadSeconds * 1000 },
        { ratePerSecond: capacity * 0.5, durationMs: (options.maxDrainSeconds ?? 600) * 1000 },
      ],
      body: (n) => ({ n }),
      follow: false,
      maxInFlight: DEMO_MAX_IN_FLIGHT,
      stopWhen: async () => recoveredAt !== undefined,
      // The load does not follow jobs here (the ledger reads the job table at the end). A job is one record, deleted
      // once its handler succeeded: the stage's deletes so far are the jobs completed so far.
      onProgress: (progress) =>
        options.onProgress?.(
          `${label}: ${progressLine(progress, { completed: local.pollers.get('work')?.stats.deleted ?? 0 })} · depth ${depth}/${depthLimit}`,
        ),
    });
    // Let what is still queued finish, saying so on the live line, then read the ledger from the job table.
    const deadline = Date.now() + 120_000;
    for (let queued = await readDepth(); queued > 0 && Date.now() < deadline; queued = await readDepth()) {
      options.onProgress?.(
        `${label}: ${((Date.now() - started) / 1000).toFixed(1)} s · load over, draining · completed ${local.pollers.get('work')?.stats.deleted ?? 0} · depth ${queued}/${depthLimit}`,
      );
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  } finally {
    sampling = false;
    await sampler;
  }
  const jobs = await scanJobs(local, local.provisioned.jobTableName as string);
  const queued = await readDepth();
  await local.stop();
  const rejected = { throttled: stats.throttled, shed: stats.shed, failed: stats.failed, dropped: stats.dropped };
  const rejectedTotal = rejected.throttled + rejected.shed + rejected.failed + rejected.dropped;
  const lost = stats.accepted - jobs.completed - jobs.deadLettered - queued;
  return {
    backpressure,
    offered: stats.offered,
    accepted: stats.accepted,
    rejected,
    completed: jobs.completed,
    deadLettered: jobs.deadLettered,
    queued,
    lost,
    ledgerBalanced: stats.offered === stats.accepted + rejectedTotal && lost === 0,
    maxDepth,
    depthLimit,
    maxOldestAgeSeconds: Math.round(jobs.maxWaitMs / 100) / 10,
    ageSloSeconds: stage.stage.flow.ageSloSeconds,
    sloBreached: jobs.maxWaitMs / 1000 > stage.stage.flow.ageSloSeconds,
    recoverySeconds:
      overloadEndedAt !== undefined && recoveredAt !== undefined
        ? Math.round((recoveredAt - overloadEndedAt) / 100) / 10
        : null,
  };
}

/** Counts final states and the longest queue wait (first start − acceptance) over the job table. */
async function scanJobs(local: { dynamo: import('@aws-sdk/client-dynamodb').DynamoDBClient }, tableName: string) {
  let completed = 0;
  let deadLettered = 0;
  let maxWaitMs = 0;
  let startKey: Record<string, AttributeValue> | undefined;
  do {
    const page = await local.dynamo.send(
      new ScanCommand({
        TableName: tableName,
        ConsistentRead: true,
        ...(startKey ? { ExclusiveStartKey: startKey } : {}),
      }),
    );
    for (const item of page.Items ?? []) {
      const state = item.state?.S;
      if (state === 'completed') completed++;
      if (state === 'dead-lettered') deadLettered++;
      const startedAt = Number(item.startedAt?.N ?? Number.NaN);
      const acceptedAt = Number(item.acceptedAt?.N ?? Number.NaN);
      if (Number.isFinite(startedAt) && Number.isFinite(acceptedAt))
        maxWaitMs = Math.max(maxWaitMs, startedAt - acceptedAt);
    }
    startKey = page.LastEvaluatedKey;
  } while (startKey);
  return { completed, deadLettered, maxWaitMs };
}

/** The ledger as a table for a terminal. */
export function formatDemo(result: DemoResult): string {
  const row = (label: string, pick: (run: DemoRun) => string | number) =>
    `${label.padEnd(28)} ${String(pick(result.withBackpressure)).padStart(22)} ${String(pick(result.withoutBackpressure)).padStart(22)}`;
  return [
    `capacity ${result.capacityPerSecond}/s; ${result.overloadRatePerSecond}/s for ${result.overloadSeconds} s, then ${result.recoveryRatePerSecond}/s until drained`,
    '',
    `${''.padEnd(28)} ${'with backpressure'.padStart(22)} ${'without backpressure'.padStart(22)}`,
    row('offered', (run) => run.offered),
    row('accepted', (run) => run.accepted),
    row(
      'rejected (429 / 503 / other)',
      (run) => `${run.rejected.throttled} / ${run.rejected.shed} / ${run.rejected.failed + run.rejected.dropped}`,
    ),
    row('completed', (run) => run.completed),
    row('dead-lettered', (run) => run.deadLettered),
    row('queued', (run) => run.queued),
    row('lost', (run) => run.lost),
    row('max depth / limit', (run) => `${run.maxDepth} / ${run.depthLimit}`),
    row(
      'max oldest age / SLO (s)',
      (run) => `${run.maxOldestAgeSeconds} / ${run.ageSloSeconds}${run.sloBreached ? ' BREACHED' : ''}`,
    ),
    row('recovery (s)', (run) => run.recoverySeconds ?? '–'),
    '',
    result.ok
      ? 'ok: nothing lost, and backpressure kept depth and age within their limits'
      : 'NOT OK: see the ledger above',
  ].join('\n');
}
