import { type ChildProcess, spawn } from 'node:child_process';
import { appendFileSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type AttributeValue, ScanCommand } from '@aws-sdk/client-dynamodb';
import {
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { EmbeddingServiceOptions } from '../../functions/examples/embedding-service.ts';
import { DocumentJob } from '../../functions/examples/schemas.ts';
import { DEAD_LETTER_ATTRIBUTES } from '../../lib/definition/index.ts';
import { DEPTH_ATTRIBUTES } from '../../lib/definition/limits.ts';
import { documentsInIndex } from '../../lib/example/document-ledger.ts';
import { type ExampleResources, startExampleResources } from '../../lib/example/local-setup.ts';
import { freePort } from '../../lib/local/engines.ts';
import { type LocalPipeline, startLocalPipeline } from '../../lib/local/local-pipeline.ts';
import { uniqueName } from '../helpers/engines.ts';
import { visibilityResets } from '../helpers/fauxqs-persistence.ts';
import { type FaultPipelineOptions, type FaultSwitch, faultPipeline } from './fault-pipeline.ts';
import type { RestartableEngines } from './restartable-engines.ts';

/** A document job as a producer posts it (the example's DocumentJob); `documentId` is set per attempt. */
export interface DocumentRequest {
  readonly seq: number;
  readonly contentType?: 'text/plain' | 'application/pdf';
  readonly title?: string;
  /** Extra bytes in the title's place, to make a body too large for the queue. */
  readonly padding?: string;
}

/** One fault's run of the example pipeline on the shared restartable engines. */
export interface FaultRun {
  readonly local: LocalPipeline;
  readonly prefix: string;
  readonly options: FaultPipelineOptions;
  readonly example: ExampleResources;
  /** The document id of a job's first attempt: `doc-<prefix>-<seq>`. */
  documentId(seq: number): string;
  /** The producer's API key (the example ingress's `uploader` client). */
  readonly apiKey: string;
  setSwitch(faults: FaultSwitch): void;
  /** Faults that fired once (marker files), e.g. `crash-`, `hang-`. */
  fired(kind: string): number;
  stop(): Promise<void>;
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits until `condition` holds (checked every 100 ms); fails after `timeoutMs` saying what it waited for. */
export async function waitFor(what: string, condition: () => boolean | Promise<boolean>, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`gave up after ${timeoutMs} ms waiting for ${what}`);
    await sleep(100);
  }
}

/**
 * Provisions and starts the fault pipeline under a fresh prefix, with the example's index table and embedding
 * service (its random failures off, so what fails is the injected fault), and an empty fault switch.
 */
export async function startFaultRun(
  engines: RestartableEngines,
  workDir: string,
  name: string,
  embeddings: EmbeddingServiceOptions = {},
): Promise<FaultRun> {
  const prefix = uniqueName(`f-${name}`);
  const switchDir = join(workDir, prefix);
  mkdirSync(switchDir, { recursive: true });
  const setSwitch = (faults: FaultSwitch) => writeFileSync(join(switchDir, 'switch.json'), JSON.stringify(faults));
  setSwitch({});
  const options: FaultPipelineOptions = { switchDir };
  let example: ExampleResources | undefined;
  const local = await startLocalPipeline(faultPipeline(options), {
    engines: engines.engines,
    prefix,
    depthCacheTtlSeconds: 0.2,
    acceptSchema: DocumentJob,
    showHandlerOutput: process.env.FAULT_DEBUG === 'handlers',
    resources: async (context) => {
      example = await startExampleResources({ ...context, embeddings: { failureRate: 0, ...embeddings } });
      return example;
    },
  });
  const resources = example as ExampleResources | undefined;
  if (!resources) throw new Error('the example resources did not start');
  return {
    local,
    prefix,
    options,
    example: resources,
    documentId: (seq) => `doc-${prefix}-${seq}`,
    apiKey: local.ingress.apiKeys.uploader as string,
    setSwitch,
    fired: (kind) => readdirSync(switchDir).filter((file) => file.startsWith(`fired-${kind}`)).length,
    stop: () => local.stop(),
  };
}

/** What a producer saw. */
export interface Production {
  /** Job id → the document id of the attempt that got the 202. */
  readonly accepted: Map<string, string>;
  /** Final refusals (400, 413): the producer does not retry them. */
  readonly refused: Array<{ readonly seq: number; readonly status: number; readonly body: string }>;
  /** Retries after 429, 503, another 5xx or a broken connection. */
  retries: number;
  readonly statuses: Map<string, number>;
}

/**
 * Posts every document to the ingress with the producer's API key, `concurrency` at a time, at most `ratePerSecond`
 * starts a second; retries on 429, 503, another 5xx or a broken connection (as a producer honouring Retry-After does)
 * until it gets a 202 or a final 4xx. Each attempt carries its own document id (`doc-…-<seq>`, then `…-<seq>-r<n>`):
 * an attempt whose answer was lost (a killed ingress, an SQS send that failed after SQS took the message) may still
 * have been queued, and its document then shows in the index under an id no 202 named — counted as unacknowledged,
 * not mistaken for a duplicate effect of the retry.
 */
export async function produce(
  run: Pick<FaultRun, 'documentId' | 'apiKey'> & { readonly url: () => string },
  requests: readonly DocumentRequest[],
  options: { readonly concurrency: number; readonly ratePerSecond?: number },
  production: Production = { accepted: new Map(), refused: [], retries: 0, statuses: new Map() },
): Promise<Production> {
  const started = Date.now();
  let next = 0;
  const worker = async () => {
    while (next < requests.length) {
      const index = next++;
      const request = requests[index] as DocumentRequest;
      if (options.ratePerSecond) {
        const due = started + (index * 1000) / options.ratePerSecond;
        if (due > Date.now()) await sleep(due - Date.now());
      }
      const deadline = Date.now() + 180_000;
      for (let attempt = 0; Date.now() < deadline; attempt++) {
        const documentId = `${run.documentId(request.seq)}${attempt === 0 ? '' : `-r${attempt}`}`;
        const body = JSON.stringify({
          documentId,
          source: `https://example.com/documents/${request.seq}.txt`,
          contentType: request.contentType ?? 'text/plain',
          tenantId: `tenant-${request.seq % 3}`,
          ...(request.title === undefined ? {} : { title: request.title }),
          ...(request.padding === undefined ? {} : { title: request.padding }),
        });
        let status: string;
        let text = '';
        try {
          const response = await fetch(`${run.url()}/jobs`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', 'x-api-key': run.apiKey },
            body,
          });
          text = await response.text();
          status = String(response.status);
        } catch {
          status = 'connection-error';
        }
        production.statuses.set(status, (production.statuses.get(status) ?? 0) + 1);
        if (status === '202') {
          production.accepted.set((JSON.parse(text) as { jobId: string }).jobId, documentId);
          break;
        }
        if (status === '400' || status === '413') {
          production.refused.push({ seq: request.seq, status: Number(status), body: text });
          break;
        }
        production.retries++;
        await sleep(100 + Math.random() * 200);
      }
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, worker));
  return production;
}

/** Documents `from` … `from + count - 1`. */
export function documents(count: number, from = 0, extra: Omit<DocumentRequest, 'seq'> = {}): DocumentRequest[] {
  return Array.from({ length: count }, (_, index) => ({ seq: from + index, ...extra }));
}

/** The outcome of one fault, read from the example's index and the dead-letter queues. */
export interface Ledger {
  readonly fault: string;
  readonly accepted: number;
  /** Accepted jobs whose document is in the index with every chunk, each written once (`writes` = 1). */
  readonly completedOnce: number;
  /** Accepted jobs with a message in a dead-letter queue, carrying the runtime's reason. */
  readonly deadLettered: number;
  readonly deadLetterReasons: Map<string, number>;
  /** Dead-lettered messages without a reason (SQS's own redrive, not the runtime). */
  readonly deadLetteredWithoutReason: number;
  /** Accepted jobs neither completed nor dead-lettered. */
  readonly lost: number;
  /** Index writes beyond the first of a chunk, plus jobs both completed and dead-lettered. */
  readonly duplicates: number;
  /** Documents in the index under a job id no 202 named (the answer was lost; the producer retried). */
  readonly unacknowledged: number;
  /** Chunk items in the index of accepted jobs (each with `writes` = 1 when duplicates = 0). */
  readonly indexItems: number;
}

/**
 * Waits until every queue of the pipeline (stages, low lane, overflow) is empty, in flight included, and every
 * accepted job is complete in the index or has a dead-letter message; then drains the dead-letter queues and counts.
 * Gives up after `timeoutMs` and counts what is there (the lost show as lost).
 */
export async function settle(
  run: FaultRun,
  fault: string,
  accepted: ReadonlyMap<string, string>,
  timeoutMs = 420_000,
): Promise<Ledger> {
  const { sqs, provisioned } = run.local;
  const lanes = [
    ...provisioned.stages.values(),
    ...(provisioned.ingress?.lowLane ? [provisioned.ingress.lowLane] : []),
  ];
  const queues = [
    ...lanes.map((lane) => lane.queueUrl),
    ...(provisioned.ingress?.overflowQueueUrl ? [provisioned.ingress.overflowQueueUrl] : []),
  ];
  const settleStarted = Date.now();
  const deadline = settleStarted + timeoutMs;
  // Checked once a second, the index only once the queues are empty: the engines serve the pipeline meanwhile.
  for (let stableChecks = 0; Date.now() < deadline && stableChecks < 2; ) {
    await sleep(1_000);
    try {
      const depths = await Promise.all(queues.map((queueUrl) => depth(sqs, queueUrl)));
      if (process.env.FAULT_DEBUG) console.log(`debug | queues ${depths.join(' ')} | ${functionStats(run)}`);
      if (depths.some((messages) => messages > 0)) {
        stableChecks = 0;
        continue;
      }
      const deadLetterDepths = await Promise.all(lanes.map((lane) => depth(sqs, lane.deadLetterQueueUrl)));
      const index = documentsInIndex(await scanIndex(run));
      const done = [...accepted.keys()].filter((jobId) => index.get(jobId)?.complete).length;
      const deadLettered = deadLetterDepths.reduce((sum, messages) => sum + messages, 0);
      stableChecks = done + deadLettered >= accepted.size ? stableChecks + 1 : 0;
    } catch {
      stableChecks = 0; // an engine is down; look again
    }
  }
  const index = documentsInIndex(await scanIndex(run));
  const deadLetters = new Map<string, string | undefined>();
  for (const lane of lanes) {
    for (const [jobId, reason] of await drain(sqs, lane.deadLetterQueueUrl)) deadLetters.set(jobId, reason);
  }
  const reasons = new Map<string, number>();
  let completedOnce = 0;
  let deadLettered = 0;
  let lost = 0;
  let duplicates = 0;
  let withoutReason = 0;
  let indexItems = 0;
  for (const jobId of accepted.keys()) {
    const document = index.get(jobId);
    const dead = deadLetters.has(jobId);
    indexItems += document?.chunks ?? 0;
    duplicates += (document?.extraWrites ?? 0) + (document?.complete && dead ? 1 : 0);
    if (document?.complete && document.extraWrites === 0 && !dead) completedOnce++;
    if (dead) {
      deadLettered++;
      const reason = deadLetters.get(jobId);
      if (reason === undefined) withoutReason++;
      else {
        // Grouped by their wording: the ids and numbers in a reason differ from job to job.
        const wording = reason.replace(/doc-[\w-]+/g, 'doc-…').replace(/\d+/g, 'N');
        reasons.set(wording, (reasons.get(wording) ?? 0) + 1);
      }
    }
    if (!document?.complete && !dead) lost++;
  }
  const ledger: Ledger = {
    fault,
    accepted: accepted.size,
    completedOnce,
    deadLettered,
    deadLetterReasons: reasons,
    deadLetteredWithoutReason: withoutReason,
    lost,
    duplicates,
    unacknowledged: [...index.keys()].filter((jobId) => !accepted.has(jobId)).length,
    indexItems,
  };
  report(ledger);
  console.log(
    `timing | ${fault} | settled ${Math.round((Date.now() - settleStarted) / 1000)} s after the load | ${functionStats(run)}`,
  );
  // Each of these is a message fauxqs 2.4.1 would have lost with its data on disk (test/helpers/fauxqs-persistence.ts).
  console.log(`engine | messages handed back with visibility 0 since the engines started: ${visibilityResets()}`);
  if (lost > 0) describeLost(run, accepted, index, deadLetters);
  return ledger;
}

/** Each function's counters (invocations, errors, timeouts, cold starts), for FAULT_DEBUG and failing ledgers. */
function functionStats(run: FaultRun): string {
  return [...run.local.functions].map(([name, fn]) => `${name} ${JSON.stringify(fn.stats)}`).join(' ');
}

/** For a failing ledger: what the index holds of each lost job, and the pollers' and functions' counters. */
function describeLost(
  run: FaultRun,
  accepted: ReadonlyMap<string, string>,
  index: ReturnType<typeof documentsInIndex>,
  deadLetters: ReadonlyMap<string, unknown>,
): void {
  for (const [jobId, documentId] of accepted) {
    const document = index.get(jobId);
    if (document?.complete || deadLetters.has(jobId)) continue;
    console.log(`lost job ${jobId} (${documentId}): ${JSON.stringify(document ?? null)}`);
  }
  for (const [name, poller] of run.local.pollers) console.log(`poller ${name}: ${JSON.stringify(poller.stats)}`);
  console.log(`functions: ${functionStats(run)}`);
}

/** One line per fault, on the console and in test-results/fault-ledger.txt. */
function report(ledger: Ledger): void {
  const reasons = [...ledger.deadLetterReasons].map(([reason, count]) => `${count}× ${reason}`).join('; ');
  const line =
    `ledger | ${ledger.fault} | accepted ${ledger.accepted} | completed once ${ledger.completedOnce} ` +
    `(${ledger.indexItems} index items) | dead-lettered ${ledger.deadLettered}${reasons ? ` (${reasons})` : ''} | ` +
    `lost ${ledger.lost} | duplicate effects ${ledger.duplicates} | unacknowledged ${ledger.unacknowledged}`;
  console.log(line);
  mkdirSync('test-results', { recursive: true });
  appendFileSync('test-results/fault-ledger.txt', `${line}\n`);
}

async function scanIndex(run: FaultRun): Promise<Record<string, AttributeValue>[]> {
  const items: Record<string, AttributeValue>[] = [];
  let startKey: Record<string, AttributeValue> | undefined;
  do {
    const page = await run.local.dynamo.send(
      new ScanCommand({ TableName: run.example.indexTableName, ConsistentRead: true, ExclusiveStartKey: startKey }),
    );
    items.push(...(page.Items ?? []));
    startKey = page.LastEvaluatedKey;
  } while (startKey);
  return items;
}

/** Messages in a queue: visible, in flight and delayed. */
async function depth(sqs: SQSClient, queueUrl: string): Promise<number> {
  const result = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: [...DEPTH_ATTRIBUTES] }),
  );
  return DEPTH_ATTRIBUTES.reduce((sum, name) => sum + Number(result.Attributes?.[name] ?? 0), 0);
}

/** Receives and deletes every message of a dead-letter queue: root job id → the runtime's reason. */
async function drain(sqs: SQSClient, queueUrl: string): Promise<Map<string, string | undefined>> {
  const found = new Map<string, string | undefined>();
  for (let empty = 0; empty < 2; ) {
    const received = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: 10,
        VisibilityTimeout: 60,
        MessageAttributeNames: ['All'],
      }),
    );
    const messages = received.Messages ?? [];
    if (messages.length === 0) {
      empty++;
      continue;
    }
    for (const message of messages) {
      let jobId = '(not an envelope)';
      try {
        jobId = ((JSON.parse(message.Body as string) as { jobId: string }).jobId ?? jobId).split('.')[0] as string;
      } catch {}
      found.set(jobId, message.MessageAttributes?.[DEAD_LETTER_ATTRIBUTES.errorMessage]?.StringValue);
    }
    await sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: messages.map((message, index) => ({ Id: String(index), ReceiptHandle: message.ReceiptHandle })),
      }),
    );
  }
  return found;
}

/** The fault pipeline's ingress in its own process (see ingress-process.ts), killable with SIGKILL. */
export interface IngressProcess {
  readonly url: string;
  kill(): Promise<void>;
  start(): Promise<void>;
}

export async function startIngressProcess(engines: RestartableEngines, run: FaultRun): Promise<IngressProcess> {
  const port = await freePort();
  let child: ChildProcess | undefined;
  const setup = JSON.stringify({
    ...run.options,
    sqsEndpoint: engines.engines.sqsEndpoint,
    dynamoEndpoint: engines.engines.dynamoEndpoint,
    region: engines.engines.region,
    prefix: run.prefix,
    port,
  });
  const start = async () => {
    // `node` here is the Node 24 npm put on the PATH (TypeScript sources run as they are).
    const started = spawn(process.execPath, ['test/faults/ingress-process.ts'], {
      env: { ...process.env, FAULT_INGRESS: setup },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child = started;
    let errors = '';
    started.stderr?.on('data', (chunk: Buffer) => {
      errors = (errors + chunk.toString()).slice(-2000);
    });
    await new Promise<void>((resolve, reject) => {
      started.stdout?.on('data', (chunk: Buffer) => {
        if (chunk.toString().includes('ready')) resolve();
      });
      started.once('exit', (code) => reject(new Error(`the ingress process exited with ${code}: ${errors}`)));
    });
  };
  const kill = async () => {
    const running = child;
    if (!running || running.exitCode !== null || running.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      running.once('exit', () => resolve());
      running.kill('SIGKILL');
    });
  };
  await start();
  process.once('exit', () => child?.kill('SIGKILL'));
  return { url: `http://127.0.0.1:${port}`, kill, start };
}
