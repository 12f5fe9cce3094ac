import { type ChildProcess, spawn } from 'node:child_process';
import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CreateTableCommand, GetItemCommand, ScanCommand } from '@aws-sdk/client-dynamodb';
import {
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { DEAD_LETTER_ATTRIBUTES } from '../../lib/definition/index.ts';
import { freePort } from '../../lib/local/engines.ts';
import { type LocalPipeline, startLocalPipeline } from '../../lib/local/local-pipeline.ts';
import { uniqueName } from '../helpers/engines.ts';
import { visibilityResets } from '../helpers/fauxqs-persistence.ts';
import { type FaultPipelineOptions, faultPipeline } from './fault-pipeline.ts';
import type { RestartableEngines } from './restartable-engines.ts';

/** The data of a fault-matrix job. */
export interface FaultJob {
  readonly seq: number;
  readonly poison?: boolean;
  readonly padding?: string;
}

/** What a fault's switch file may say (see fault-handler.ts). */
export interface FaultSwitch {
  readonly stage?: 'take' | 'index';
  readonly mode?: 'ok' | 'outage' | 'throttle' | 'slow';
  readonly slowMs?: number;
  readonly crashSeqs?: readonly number[];
  readonly hangSeqs?: readonly number[];
}

/** One fault's pipeline on the shared restartable engines. */
export interface FaultRun {
  readonly local: LocalPipeline;
  readonly prefix: string;
  readonly options: FaultPipelineOptions;
  setSwitch(faults: FaultSwitch): void;
  stop(): Promise<void>;
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Provisions and starts the fault pipeline under a fresh prefix, with its own effects table and switch file. */
export async function startFaultRun(
  engines: RestartableEngines,
  workDir: string,
  name: string,
  overrides: Partial<FaultPipelineOptions> = {},
): Promise<FaultRun> {
  const prefix = uniqueName(`f-${name}`);
  const switchFile = join(workDir, `${prefix}.switch.json`);
  writeFileSync(switchFile, '{}');
  const options: FaultPipelineOptions = { switchFile, effectsTable: `${prefix}-effects`, ...overrides };
  const local = await startLocalPipeline(faultPipeline(options), {
    engines: engines.engines,
    prefix,
    depthCacheTtlSeconds: 0.2,
  });
  await local.dynamo.send(
    new CreateTableCommand({
      TableName: options.effectsTable,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [{ AttributeName: 'jobId', AttributeType: 'S' }],
      KeySchema: [{ AttributeName: 'jobId', KeyType: 'HASH' }],
    }),
  );
  return {
    local,
    prefix,
    options,
    setSwitch: (faults) => writeFileSync(switchFile, JSON.stringify(faults)),
    stop: () => local.stop(),
  };
}

/** What a producer saw. */
export interface Production {
  /** Job id → seq, for every 202. */
  readonly accepted: Map<string, number>;
  /** Answers that are final refusals (400, 413): the producer does not retry them. */
  readonly refused: Array<{ readonly seq: number; readonly status: number; readonly body: string }>;
  /** Retries after 429, 503, a 5xx or a broken connection. */
  retries: number;
  readonly statuses: Map<string, number>;
}

/**
 * Posts every job to the ingress, `concurrency` at a time, at most `ratePerSecond` starts a second; retries a job on
 * 429, 503, another 5xx or a broken connection (as a producer honouring Retry-After does) until it gets a 202 or a
 * final 4xx.
 */
export async function produce(
  url: () => string,
  jobs: readonly FaultJob[],
  options: { readonly concurrency: number; readonly ratePerSecond?: number },
  production: Production = { accepted: new Map(), refused: [], retries: 0, statuses: new Map() },
): Promise<Production> {
  const started = Date.now();
  let next = 0;
  const worker = async () => {
    while (next < jobs.length) {
      const index = next++;
      const job = jobs[index] as FaultJob;
      if (options.ratePerSecond) {
        const due = started + (index * 1000) / options.ratePerSecond;
        if (due > Date.now()) await sleep(due - Date.now());
      }
      const deadline = Date.now() + 120_000;
      while (Date.now() < deadline) {
        let status: string;
        let text = '';
        try {
          const response = await fetch(`${url()}/jobs`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify(job),
          });
          text = await response.text();
          status = String(response.status);
        } catch {
          status = 'connection-error';
        }
        production.statuses.set(status, (production.statuses.get(status) ?? 0) + 1);
        if (status === '202') {
          production.accepted.set((JSON.parse(text) as { jobId: string }).jobId, job.seq);
          break;
        }
        if (status === '400' || status === '413') {
          production.refused.push({ seq: job.seq, status: Number(status), body: text });
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

/** Jobs `from` … `from + count - 1`. */
export function jobs(count: number, from = 0, extra: Partial<FaultJob> = {}): FaultJob[] {
  return Array.from({ length: count }, (_, index) => ({ seq: from + index, ...extra }));
}

/** The outcome of one fault. */
export interface Ledger {
  readonly fault: string;
  readonly accepted: number;
  /** Accepted jobs whose effect ran exactly once. */
  readonly completedOnce: number;
  /** Accepted jobs in a dead-letter queue, with the runtime's reason attached. */
  readonly deadLettered: number;
  readonly deadLetterReasons: Map<string, number>;
  /** Dead-lettered messages without a reason (the queue's own redrive, not the runtime). */
  readonly deadLetteredWithoutReason: number;
  /** Accepted jobs neither completed nor dead-lettered. */
  readonly lost: number;
  /** Effects beyond the first of a job, plus jobs both completed and dead-lettered. */
  readonly duplicates: number;
  /** Effects of jobs the producer never got a 202 for (the answer was lost with the ingress). */
  readonly unacknowledged: number;
}

/**
 * Waits until the stage queues are empty and every accepted job has an effect or a dead-letter message, then drains
 * the dead-letter queues and counts. Gives up after `timeoutMs` and counts what is there (the lost show as lost).
 */
export async function settle(run: FaultRun, fault: string, accepted: ReadonlyMap<string, number>, timeoutMs = 150_000) {
  const { sqs, dynamo, provisioned } = run.local;
  const stages = [...provisioned.stages.values()];
  const deadline = Date.now() + timeoutMs;
  let stableChecks = 0;
  while (Date.now() < deadline && stableChecks < 2) {
    await sleep(500);
    try {
      const effects = await scanEffects(run);
      let inFlight = 0;
      let deadLetterDepth = 0;
      for (const stage of stages) {
        inFlight += await depth(sqs, stage.queueUrl, true);
        deadLetterDepth += await depth(sqs, stage.deadLetterQueueUrl, false);
      }
      const done = [...accepted.keys()].filter((jobId) => effects.has(jobId)).length;
      stableChecks = inFlight === 0 && done + deadLetterDepth >= accepted.size ? stableChecks + 1 : 0;
    } catch {
      stableChecks = 0; // an engine is down; look again
    }
  }
  void dynamo;
  const effects = await scanEffects(run);
  const deadLetters = new Map<string, string | undefined>();
  for (const stage of stages) {
    for (const [jobId, reason] of await drain(sqs, stage.deadLetterQueueUrl)) deadLetters.set(jobId, reason);
  }
  const reasons = new Map<string, number>();
  let completedOnce = 0;
  let deadLettered = 0;
  let lost = 0;
  let duplicates = 0;
  let withoutReason = 0;
  for (const jobId of accepted.keys()) {
    const applied = effects.get(jobId) ?? 0;
    const dead = deadLetters.has(jobId);
    if (applied === 1) completedOnce++;
    duplicates += Math.max(0, applied - 1) + (applied > 0 && dead ? 1 : 0);
    if (dead) {
      deadLettered++;
      const reason = deadLetters.get(jobId);
      if (reason === undefined) withoutReason++;
      else {
        // Grouped by their wording: the numbers in a reason (job, attempt) differ from job to job.
        const wording = reason.replace(/\d+/g, 'N');
        reasons.set(wording, (reasons.get(wording) ?? 0) + 1);
      }
    }
    if (applied === 0 && !dead) lost++;
  }
  const unacknowledged = [...effects.keys()].filter((jobId) => !accepted.has(jobId)).length;
  const ledger: Ledger = {
    fault,
    accepted: accepted.size,
    completedOnce,
    deadLettered,
    deadLetterReasons: reasons,
    deadLetteredWithoutReason: withoutReason,
    lost,
    duplicates,
    unacknowledged,
  };
  report(ledger);
  // Each of these is a message fauxqs 2.4.1 would have lost with its data on disk (test/helpers/fauxqs-persistence.ts).
  console.log(`engine | messages handed back with visibility 0 since the engines started: ${visibilityResets()}`);
  if (lost > 0) await describeLost(run, accepted, effects, deadLetters);
  return ledger;
}

/** For a failing ledger: where each lost job stands in the job table, and what the queues hold. */
async function describeLost(
  run: FaultRun,
  accepted: ReadonlyMap<string, number>,
  effects: ReadonlyMap<string, number>,
  deadLetters: ReadonlyMap<string, unknown>,
): Promise<void> {
  const { dynamo, sqs, provisioned } = run.local;
  for (const [jobId, seq] of accepted) {
    if (effects.has(jobId) || deadLetters.has(jobId)) continue;
    const item = await dynamo.send(
      new GetItemCommand({ TableName: provisioned.jobTableName, Key: { jobId: { S: jobId } }, ConsistentRead: true }),
    );
    console.log(`lost job ${jobId} (seq ${seq}): ${JSON.stringify(item.Item ?? null)}`);
    for (const key of [`take#${jobId}`, `index#${jobId}.0`]) {
      const claim = await dynamo.send(
        new GetItemCommand({
          TableName: provisioned.idempotencyTableName,
          Key: { id: { S: key } },
          ConsistentRead: true,
        }),
      );
      console.log(`  idempotency ${key}: ${JSON.stringify(claim.Item ?? null)}`);
    }
  }
  for (const stage of provisioned.stages.values()) {
    const result = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: stage.queueUrl, AttributeNames: ['All'] }));
    console.log(`queue ${stage.stage.name}: ${JSON.stringify(result.Attributes)}`);
  }
  for (const [name, poller] of run.local.pollers) console.log(`poller ${name}: ${JSON.stringify(poller.stats)}`);
  for (const [name, fn] of run.local.functions) console.log(`function ${name}: ${JSON.stringify(fn.stats)}`);
}

/** One line per fault, on the console and in test-results/fault-ledger.txt. */
function report(ledger: Ledger): void {
  const reasons = [...ledger.deadLetterReasons].map(([reason, count]) => `${count}× ${reason}`).join('; ');
  const line =
    `ledger | ${ledger.fault} | accepted ${ledger.accepted} | completed once ${ledger.completedOnce} | ` +
    `dead-lettered ${ledger.deadLettered}${reasons ? ` (${reasons})` : ''} | lost ${ledger.lost} | ` +
    `duplicate effects ${ledger.duplicates} | unacknowledged ${ledger.unacknowledged}`;
  console.log(line);
  mkdirSync('test-results', { recursive: true });
  appendFileSync('test-results/fault-ledger.txt', `${line}\n`);
}

async function scanEffects(run: FaultRun): Promise<Map<string, number>> {
  const effects = new Map<string, number>();
  let startKey: Record<string, import('@aws-sdk/client-dynamodb').AttributeValue> | undefined;
  do {
    const page = await run.local.dynamo.send(
      new ScanCommand({ TableName: run.options.effectsTable, ConsistentRead: true, ExclusiveStartKey: startKey }),
    );
    for (const item of page.Items ?? []) effects.set(item.jobId?.S as string, Number(item.applied?.N ?? 0));
    startKey = page.LastEvaluatedKey;
  } while (startKey);
  return effects;
}

async function depth(sqs: SQSClient, queueUrl: string, includeInFlight: boolean): Promise<number> {
  const result = await sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: queueUrl,
      AttributeNames: [
        'ApproximateNumberOfMessages',
        'ApproximateNumberOfMessagesNotVisible',
        'ApproximateNumberOfMessagesDelayed',
      ],
    }),
  );
  const attributes = result.Attributes ?? {};
  return (
    Number(attributes.ApproximateNumberOfMessages ?? 0) +
    (includeInFlight
      ? Number(attributes.ApproximateNumberOfMessagesNotVisible ?? 0) +
        Number(attributes.ApproximateNumberOfMessagesDelayed ?? 0)
      : 0)
  );
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
