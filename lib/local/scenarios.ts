import { randomUUID } from 'node:crypto';
import { type AttributeValue, type DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import { GetQueueAttributesCommand, ReceiveMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { expectedChunks } from '../../functions/examples/document-store.ts';
import { INDEX_TABLE_KEY } from '../../functions/examples/index-table.ts';
import { decodeJob, definePipeline, type Pipeline } from '../definition/index.ts';
import { DEPTH_ATTRIBUTES } from '../definition/limits.ts';
import { documentsInIndex } from '../example/document-ledger.ts';
import { type ExampleResources, startExampleResources } from '../example/local-setup.ts';
import { exampleDefinition } from '../example/pipeline.ts';
import type { Engines } from './engines.ts';
import { type LoadStats, progressLine, runLoad } from './load-generator.ts';
import { startLocalPipeline } from './local-pipeline.ts';

/**
 * Pressure scenarios on the reference document pipeline, run locally: the embedding service fails for a minute
 * (`embedding-outage`), or the offered load needs more embeddings than its 3,000 a minute for two minutes
 * (`embedding-rate-limit`). Each reports the ledger (read from the job table and the index, not from the load
 * generator's own counts), each stage's deepest queue against its hard limit, the oldest message picked up against
 * the stage's SLO, what the ingress shed, and how long the pipeline took to recover.
 */

/** The scenarios. */
import type { ScenarioName } from './scenario-names.ts';

export { SCENARIOS, type ScenarioName } from './scenario-names.ts';

/** Options of {@link runScenario}. */
export interface ScenarioOptions {
  readonly engines: Engines;
  readonly scenario: ScenarioName;
  /**
   * Multiplies every phase's duration (1 = the scenario as specified: a 60 s outage, 120 s of overload). Tests run a
   * short variant. @default 1
   */
  readonly timeScale?: number;
  /** Longest wait for the backlog to drain after the pressure. @default 600 */
  readonly maxDrainSeconds?: number;
  readonly onProgress?: (line: string) => void;
}

/** What one stage went through. */
export interface StageReport {
  readonly stage: string;
  /**
   * The most messages waiting in the stage's queue (visible + delayed) at one sample. Messages in flight are left
   * out: a record being deferred exists twice for a moment (its delayed copy, and the received original until it is
   * deleted), so counting them would count such records twice.
   */
  readonly maxDepth: number;
  /** The most messages in the queue including those in flight (visible + in flight + delayed). */
  readonly maxDepthWithInFlight: number;
  readonly depthLimit: number;
  /** maxDepth ÷ depthLimit. */
  readonly depthRatio: number;
  /** The oldest message a poller picked up, in seconds since it was (last) sent. */
  readonly maxOldestAgeSeconds: number;
  readonly ageSloSeconds: number;
  /** Times the valve paused the stage's event source. */
  readonly pauses: number;
}

/** The outcome of a scenario. */
export interface ScenarioResult {
  readonly scenario: ScenarioName;
  /** Documents a second offered during the pressure, and the embedding service's capacity in documents a second. */
  readonly offeredPerSecond: number;
  readonly embeddingCapacityDocumentsPerSecond: number;
  readonly pressureSeconds: number;
  readonly ledger: {
    readonly offered: number;
    readonly accepted: number;
    /** 503s at the ingress (whole-pipeline admission). */
    readonly shed: number;
    readonly throttled: number;
    readonly failed: number;
    /** Accepted documents whose every chunk is in the index. */
    readonly completed: number;
    /** Accepted documents with a job in a dead-letter queue. */
    readonly deadLettered: number;
    /** Accepted documents still in a queue when the scenario ended. */
    readonly queued: number;
    readonly lost: number;
    /** Index items written more than once (exactly-once effects: 0). */
    readonly duplicateEffects: number;
  };
  readonly stages: readonly StageReport[];
  /** Seconds from the end of the pressure until every stage was back under 10 % of its limit. */
  readonly recoverySeconds: number | null;
  readonly embeddingService: { readonly calls: number; readonly texts: number; readonly rateLimited: number };
  /** lost = 0, every stage ≤ 105 % of its limit, and the ingress shed during the pressure. */
  readonly ok: boolean;
  readonly problems: readonly string[];
}

/**
 * The embedding rate the scenarios run the example with. The example's 3,000 texts a minute is the deployed figure;
 * on one machine every record costs the embedded DynamoDB four writes (job status and idempotency) in each of five
 * stages, so the scenarios scale the embedding service and the stage's limiter down together to 600 a minute, keeping
 * the shape: the embedding service is the bottleneck and everything before it is faster.
 */
export const SCENARIO_EMBEDDINGS_PER_MINUTE = 600;

/** The example pipeline as the scenarios run it: one ingress lane, rejecting when full (no API keys, no buffer). */
export function scenarioPipeline(embeddingsPerMinute = SCENARIO_EMBEDDINGS_PER_MINUTE): Pipeline {
  return definePipeline({
    ...exampleDefinition,
    name: 'docs-scenario',
    stages: exampleDefinition.stages.map((stage) =>
      stage.name === 'embed'
        ? {
            ...stage,
            downstream: { embeddings: { ratePerMinute: embeddingsPerMinute } },
            // A minute of the scaled rate: the same depth limit in seconds of work as the example's 30 s at 3,000.
            flow: { ...stage.flow, ageSloSeconds: 60 },
          }
        : stage,
    ),
    ingress: { stage: 'scan', backpressure: { overload: 'reject', depthCacheTtlSeconds: 1 } },
    // The ledger is read from the index and the dead-letter queues. Job status and idempotency cost the embedded
    // DynamoDB four writes a record in every stage, more than a shared 2-core machine serves at these rates; without
    // idempotency a redelivered chunk may be indexed twice, which the ledger reports as duplicateEffects.
    jobs: { enabled: false },
    idempotency: { enabled: false },
  });
}

interface Phase {
  readonly ratePerSecond: number;
  readonly seconds: number;
}

/** The offered load of a scenario: a warm-up at half the embedding capacity, the pressure, then half again. */
function scenarioPhases(pipeline: Pipeline, scenario: ScenarioName, scale: number) {
  const embed = pipeline.stages.find((stage) => stage.name === 'embed');
  if (!embed) throw new Error('the example pipeline has no embed stage');
  // Documents have 2–4 chunks (3 on average): the embedding limit in documents a second.
  const capacity = embed.flow.drainRatePerSecond / 3;
  const pressure: Phase =
    scenario === 'embedding-outage'
      ? { ratePerSecond: round1(capacity * 1.3), seconds: 60 * scale }
      : { ratePerSecond: round1(capacity * 2), seconds: 120 * scale };
  const warmUp: Phase = { ratePerSecond: round1(capacity * 0.5), seconds: 10 * scale };
  return { embed, capacity, warmUp, pressure, recoveryRatePerSecond: round1(capacity * 0.5) };
}

/**
 * What `sluice demo --scenario` says before it starts: the warm-up and the pressure, then the drain. The pressure
 * leaves embed at most its depth limit behind, which the recovery phase drains at the stage's rate less the half of
 * it still offered: depthLimit ÷ (0.5 × drain rate) seconds (120 s for the example; measured 106 s and 130 s).
 */
export function expectedScenarioDuration(scenario: ScenarioName): string {
  const { embed, warmUp, pressure } = scenarioPhases(scenarioPipeline(), scenario, 1);
  const drainSeconds = Math.round(embed.flow.depthLimit / (0.5 * embed.flow.drainRatePerSecond));
  const minutes = Math.round((warmUp.seconds + pressure.seconds + drainSeconds) / 60);
  return `sluice demo --scenario ${scenario}: ${warmUp.seconds} s warm-up, ${pressure.seconds} s of ${scenario === 'embedding-outage' ? 'outage' : 'overload'}, then about ${drainSeconds} s for the backlog to drain: about ${minutes} min in all`;
}

/** Runs one scenario on a fresh copy of the example pipeline. */
export async function runScenario(options: ScenarioOptions): Promise<ScenarioResult> {
  const pipeline = scenarioPipeline();
  const { capacity, warmUp, pressure, recoveryRatePerSecond } = scenarioPhases(
    pipeline,
    options.scenario,
    options.timeScale ?? 1,
  );
  const outage = options.scenario === 'embedding-outage';
  const recovery: Phase = { ratePerSecond: recoveryRatePerSecond, seconds: options.maxDrainSeconds ?? 600 };

  let resources: ExampleResources | undefined;
  const local = await startLocalPipeline(pipeline, {
    engines: options.engines,
    prefix: `${options.scenario}-${randomUUID().slice(0, 6)}`,
    depthCacheTtlSeconds: 0.25,
    rateLimitPerSecond: 10_000,
    burstLimit: 10_000,
    resources: async (context) => {
      resources = await startExampleResources({
        ...context,
        embeddings: { failureRate: 0.005, ratePerMinute: SCENARIO_EMBEDDINGS_PER_MINUTE },
      });
      return resources;
    },
  });
  const service = (resources as ExampleResources | undefined)?.embeddings.service;
  if (!service) throw new Error('the embedding service did not start');
  const stageQueues = pipeline.stages.map((stage) => ({
    stage,
    queueUrl: (local.provisioned.stages.get(stage.name) as { queueUrl: string }).queueUrl,
  }));
  const maxDepth = new Map(pipeline.stages.map((stage) => [stage.name, 0]));
  const maxTotal = new Map(pipeline.stages.map((stage) => [stage.name, 0]));
  const maxAgeMs = new Map(pipeline.stages.map((stage) => [stage.name, 0]));
  const depths = new Map<string, number>();
  const pressureStartsAt = Date.now() + warmUp.seconds * 1000;
  const pressureEndsAt = pressureStartsAt + pressure.seconds * 1000;
  let recoveredAt: number | undefined;
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      await Promise.all(
        stageQueues.map(async ({ stage, queueUrl }) => {
          const { waiting, total } = await depthsOf(local.sqs, queueUrl);
          depths.set(stage.name, waiting);
          maxDepth.set(stage.name, Math.max(maxDepth.get(stage.name) ?? 0, waiting));
          maxTotal.set(stage.name, Math.max(maxTotal.get(stage.name) ?? 0, total));
          const poller = local.pollers.get(stage.name);
          const sample = poller?.takeSample();
          if (sample) maxAgeMs.set(stage.name, Math.max(maxAgeMs.get(stage.name) ?? 0, sample.oldestAgeMs));
        }),
      );
      if (
        recoveredAt === undefined &&
        Date.now() >= pressureEndsAt &&
        pipeline.stages.every((stage) => (depths.get(stage.name) ?? 0) <= stage.flow.depthLimit * 0.1)
      ) {
        recoveredAt = Date.now();
      }
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  })();
  // Documents completed so far, for the live line: the index is scanned (keys only) again after a pause of at least
  // 2 s and 4× the last scan, so counting never takes more than a fifth of the embedded DynamoDB's time.
  let indexedDocuments = 0;
  const indexCounter = (async () => {
    while (sampling) {
      const started = Date.now();
      // A count that fails leaves the line's last one: it only shows progress, and the ledger scans again at the end.
      indexedDocuments = await countIndexedDocuments(
        local.dynamo,
        (resources as ExampleResources).indexTableName,
      ).catch(() => indexedDocuments);
      const pause = Math.max(2_000, 4 * (Date.now() - started));
      for (const until = Date.now() + pause; sampling && Date.now() < until; ) {
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
    }
  })();
  const startedAt = Date.now();
  const elapsed = () => `${((Date.now() - startedAt) / 1000).toFixed(1)} s`;
  const completedSoFar = () => `completed (${INDEXED}) ${indexedDocuments}`;
  const depthsSoFar = () =>
    pipeline.stages.map((stage) => `${stage.name} ${depths.get(stage.name) ?? 0}/${stage.flow.depthLimit}`).join(' ');
  const outageTimer = outage
    ? setTimeout(() => service.failFor(pressure.seconds * 1000), warmUp.seconds * 1000)
    : undefined;
  let stats: LoadStats;
  try {
    stats = await runLoad({
      url: local.ingress.url,
      phases: [warmUp, pressure, recovery].map((phase) => ({
        ratePerSecond: phase.ratePerSecond,
        durationMs: phase.seconds * 1000,
      })),
      body: (n) => ({
        documentId: `doc-${n}`,
        source: `https://example.com/documents/${n}.txt`,
        contentType: 'text/plain',
        tenantId: `tenant-${n % 5}`,
      }),
      follow: false,
      maxInFlight: 1_024,
      stopWhen: async () => recoveredAt !== undefined,
      onProgress: (progress) =>
        options.onProgress?.(
          `${options.scenario}: ${progressLine(progress, { completed: indexedDocuments, what: INDEXED })} · ${depthsSoFar()}${service.down ? ' · embeddings DOWN' : ''}`,
        ),
    });
    // Let everything still queued finish (deferred records come back after their delay), saying so on the live line.
    const deadline = Date.now() + (options.maxDrainSeconds ?? 600) * 1000;
    while (Date.now() < deadline) {
      const total = (await Promise.all(stageQueues.map(({ queueUrl }) => depthOf(local.sqs, queueUrl)))).reduce(
        (sum, depth) => sum + depth,
        0,
      );
      if (total === 0) break;
      options.onProgress?.(
        `${options.scenario}: ${elapsed()} · load over, draining · ${completedSoFar()} · ${depthsSoFar()}`,
      );
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  } finally {
    sampling = false;
    clearTimeout(outageTimer);
    await Promise.all([sampler, indexCounter]);
  }
  // The last line counts the index once more, now that nothing moves: it ends at what the ledger finds.
  indexedDocuments = await countIndexedDocuments(local.dynamo, (resources as ExampleResources).indexTableName);
  options.onProgress?.(`${options.scenario}: ${elapsed()} · done · ${completedSoFar()}`);
  const queuedMessages = (await Promise.all(stageQueues.map(({ queueUrl }) => depthOf(local.sqs, queueUrl)))).reduce(
    (sum, depth) => sum + depth,
    0,
  );
  const deadLetters = await drainDeadLetters(
    local.sqs,
    [...local.provisioned.stages.values()].map((stage) => stage.deadLetterQueueUrl),
  );
  const index = await scanAll(local.dynamo, (resources as ExampleResources).indexTableName);
  const stages: StageReport[] = pipeline.stages.map((stage) => ({
    stage: stage.name,
    maxDepth: maxDepth.get(stage.name) ?? 0,
    maxDepthWithInFlight: maxTotal.get(stage.name) ?? 0,
    depthLimit: stage.flow.depthLimit,
    depthRatio: Math.round(((maxDepth.get(stage.name) ?? 0) / stage.flow.depthLimit) * 1000) / 1000,
    maxOldestAgeSeconds: Math.round((maxAgeMs.get(stage.name) ?? 0) / 100) / 10,
    ageSloSeconds: stage.flow.ageSloSeconds,
    pauses: local.pollers.get(stage.name)?.stats.pauses ?? 0,
  }));
  const embeddingService = {
    calls: service.stats.calls,
    texts: service.stats.texts,
    rateLimited: service.stats.rateLimited,
  };
  await local.stop();

  const ledger = ledgerOf(stats, deadLetters, index, queuedMessages);
  const problems: string[] = [];
  if (ledger.lost !== 0) problems.push(`${ledger.lost} accepted documents were lost`);
  for (const stage of stages) {
    if (stage.maxDepth > stage.depthLimit * 1.05) {
      problems.push(`stage ${stage.stage} reached ${stage.maxDepth}, over 105 % of its limit ${stage.depthLimit}`);
    }
  }
  if (ledger.shed === 0) problems.push('the ingress shed nothing during the pressure');
  return {
    scenario: options.scenario,
    offeredPerSecond: pressure.ratePerSecond,
    embeddingCapacityDocumentsPerSecond: Math.round(capacity * 10) / 10,
    pressureSeconds: pressure.seconds,
    ledger,
    stages,
    recoverySeconds: recoveredAt === undefined ? null : Math.round((recoveredAt - pressureEndsAt) / 100) / 10,
    embeddingService,
    ok: problems.length === 0,
    problems,
  };
}

function round1(value: number): number {
  return Math.round(value * 10) / 10;
}

async function depthsOf(sqs: SQSClient, queueUrl: string): Promise<{ waiting: number; total: number }> {
  const result = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: [...DEPTH_ATTRIBUTES] }),
  );
  const count = (name: (typeof DEPTH_ATTRIBUTES)[number]) => Number(result.Attributes?.[name] ?? 0);
  const waiting = count('ApproximateNumberOfMessages') + count('ApproximateNumberOfMessagesDelayed');
  return { waiting, total: waiting + count('ApproximateNumberOfMessagesNotVisible') };
}

async function depthOf(sqs: SQSClient, queueUrl: string): Promise<number> {
  const result = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: [...DEPTH_ATTRIBUTES] }),
  );
  return DEPTH_ATTRIBUTES.reduce((sum, name) => sum + Number(result.Attributes?.[name] ?? 0), 0);
}

async function scanAll(dynamo: DynamoDBClient, tableName: string): Promise<Record<string, AttributeValue>[]> {
  const items: Record<string, AttributeValue>[] = [];
  let startKey: Record<string, AttributeValue> | undefined;
  do {
    const page = await dynamo.send(
      new ScanCommand({
        TableName: tableName,
        ConsistentRead: true,
        ...(startKey ? { ExclusiveStartKey: startKey } : {}),
      }),
    );
    items.push(...(page.Items ?? []));
    startKey = page.LastEvaluatedKey;
  } while (startKey);
  return items;
}

/** What the scenarios' live line counts as completed. */
const INDEXED = 'documents fully indexed';

/**
 * Documents whose every chunk is in the index (the ledger's `completed`, before the dead-letter queues are read). Only
 * the key is projected, and the scan follows LastEvaluatedKey: one Scan returns at most 1 MB
 * (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Scan.html#Scan.Pagination).
 */
async function countIndexedDocuments(dynamo: DynamoDBClient, tableName: string): Promise<number> {
  const chunks = new Map<string, number>();
  let startKey: Record<string, AttributeValue> | undefined;
  do {
    const page = await dynamo.send(
      new ScanCommand({
        TableName: tableName,
        ProjectionExpression: '#key',
        ExpressionAttributeNames: { '#key': INDEX_TABLE_KEY },
        ...(startKey ? { ExclusiveStartKey: startKey } : {}),
      }),
    );
    for (const item of page.Items ?? []) {
      // The key is `<documentId>#<chunkIndex>`.
      const key = item[INDEX_TABLE_KEY]?.S ?? '';
      const documentId = key.slice(0, key.lastIndexOf('#'));
      chunks.set(documentId, (chunks.get(documentId) ?? 0) + 1);
    }
    startKey = page.LastEvaluatedKey;
  } while (startKey);
  let completed = 0;
  for (const [documentId, count] of chunks) if (count === expectedChunks(documentId)) completed++;
  return completed;
}

/** The root job ids of every message in the dead-letter queues (read, not deleted: they stay for inspection). */
async function drainDeadLetters(sqs: SQSClient, queueUrls: readonly string[]): Promise<Set<string>> {
  const roots = new Set<string>();
  for (const queueUrl of queueUrls) {
    const expected = await depthOf(sqs, queueUrl);
    const seen = new Set<string>();
    for (let attempt = 0; seen.size < expected && attempt < 50; attempt++) {
      const result = await sqs.send(
        new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, VisibilityTimeout: 300 }),
      );
      for (const message of result.Messages ?? []) {
        seen.add(message.MessageId as string);
        const decoded = decodeJob(message.Body ?? '');
        if (decoded.ok) roots.add(decoded.job.jobId.split('.')[0] as string);
      }
    }
  }
  return roots;
}

/**
 * The ledger of accepted documents: a document is completed when the index holds every one of its chunks, and
 * dead-lettered when any job of its tree (`<root>`, `<root>.0`, …) is in a dead-letter queue. What is neither, and
 * not queued, is lost.
 */
function ledgerOf(
  stats: LoadStats,
  deadLetteredRoots: ReadonlySet<string>,
  index: readonly Record<string, AttributeValue>[],
  queuedMessages: number,
): ScenarioResult['ledger'] {
  let duplicateEffects = 0;
  let completed = 0;
  for (const [root, document] of documentsInIndex(index)) {
    duplicateEffects += document.itemsWrittenTwice;
    if (!deadLetteredRoots.has(root) && document.complete) completed++;
  }
  const deadLettered = deadLetteredRoots.size;
  // Documents still moving at the end (only when messages remain in the stages' queues).
  const queued = queuedMessages > 0 ? Math.max(0, stats.accepted - completed - deadLettered) : 0;
  return {
    offered: stats.offered,
    accepted: stats.accepted,
    shed: stats.shed,
    throttled: stats.throttled,
    failed: stats.failed + stats.dropped,
    completed,
    deadLettered,
    queued,
    lost: stats.accepted - completed - deadLettered - queued,
    duplicateEffects,
  };
}

/** The result as a table for a terminal. */
export function formatScenario(result: ScenarioResult): string {
  const { ledger } = result;
  return [
    `${result.scenario}: ${result.offeredPerSecond} documents/s offered for ${result.pressureSeconds} s; the embedding service allows ${result.embeddingCapacityDocumentsPerSecond} documents/s`,
    '',
    `offered ${ledger.offered} = accepted ${ledger.accepted} + shed (503) ${ledger.shed} + throttled ${ledger.throttled} + other ${ledger.failed}`,
    `accepted ${ledger.accepted} = completed ${ledger.completed} + dead-lettered ${ledger.deadLettered} + queued ${ledger.queued} + lost ${ledger.lost}`,
    `duplicate index writes ${ledger.duplicateEffects}`,
    '',
    `${'stage'.padEnd(8)} ${'max waiting / limit'.padStart(20)} ${'ratio'.padStart(7)} ${'with in flight'.padStart(15)} ${'oldest age / SLO (s)'.padStart(22)} ${'pauses'.padStart(7)}`,
    ...result.stages.map(
      (stage) =>
        `${stage.stage.padEnd(8)} ${`${stage.maxDepth} / ${stage.depthLimit}`.padStart(20)} ${stage.depthRatio.toFixed(2).padStart(7)} ${String(stage.maxDepthWithInFlight).padStart(15)} ${`${stage.maxOldestAgeSeconds} / ${stage.ageSloSeconds}`.padStart(22)} ${String(stage.pauses).padStart(7)}`,
    ),
    '',
    `recovery ${result.recoverySeconds ?? '–'} s; embedding calls ${result.embeddingService.calls}, texts ${result.embeddingService.texts}, refused over its rate ${result.embeddingService.rateLimited}`,
    result.ok
      ? 'ok: nothing lost, every stage within 105 % of its limit, the ingress shed'
      : `NOT OK: ${result.problems.join('; ')}`,
  ].join('\n');
}
