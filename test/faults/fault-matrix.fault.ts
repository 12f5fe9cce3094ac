import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chunksOf, documentText } from '../../functions/examples/document-store.ts';
import type { EmbeddingServiceOptions } from '../../functions/examples/embedding-service.ts';
import { vectorOf } from '../../functions/examples/embedding-service.ts';
import { encodeJob } from '../../lib/definition/index.ts';
import {
  documents,
  type FaultRun,
  type Ledger,
  type Production,
  produce,
  settle,
  startFaultRun,
  startIngressProcess,
  waitFor,
} from './harness.ts';
import { type RestartableEngines, startRestartableEngines } from './restartable-engines.ts';

/**
 * The fault matrix on the example pipeline (scan → extract → chunk → embed → index, test/faults/fault-pipeline.ts):
 * each fault is injected through a real mechanism — an execution environment that exits, a call that never answers,
 * the embedding service's own outage switch and rate limit, engine processes killed and restarted, the ingress
 * process killed — while documents flow, and ends with a ledger read from the example's index (`writes` per chunk)
 * and the dead-letter queues: every accepted job completed exactly once or dead-lettered with its reason; none lost,
 * no duplicate effect.
 */

let engines: RestartableEngines;
let workDir: string;

beforeAll(async () => {
  workDir = mkdtempSync(join(tmpdir(), 'sluice-faults-'));
  engines = await startRestartableEngines(join(workDir, 'data'));
});
afterAll(async () => {
  await engines?.stop();
  if (workDir) rmSync(workDir, { recursive: true, force: true });
});

function expectClean(ledger: Ledger, deadLettered = 0): void {
  expect(ledger.lost, 'lost').toBe(0);
  expect(ledger.duplicates, 'duplicate effects').toBe(0);
  expect(ledger.deadLetteredWithoutReason, 'dead-lettered without a reason').toBe(0);
  expect(ledger.deadLettered, 'dead-lettered').toBe(deadLettered);
  expect(ledger.completedOnce + ledger.deadLettered).toBe(ledger.accepted);
  expect(ledger.indexItems, 'index items').toBeGreaterThanOrEqual(2 * ledger.completedOnce);
}

/** Evidence a DynamoDB fault hit: failed records in a stage, or a 503 from the ingress. */
function dynamoFaultSeen(run: FaultRun): number {
  let seen = run.local.ingress.stats.unavailable;
  for (const poller of run.local.pollers.values()) seen += poller.stats.failedRecords;
  return seen;
}

/** Records the stages have run so far. */
function invocations(run: FaultRun): number {
  let total = 0;
  for (const fn of run.local.functions.values()) total += fn.stats.invocations;
  return total;
}

async function withRun(
  name: string,
  body: (run: FaultRun) => Promise<void>,
  embeddings: EmbeddingServiceOptions = {},
): Promise<void> {
  const started = Date.now();
  const run = await startFaultRun(engines, workDir, name, embeddings);
  console.log(`timing | ${name} | pipeline started in ${Math.round((Date.now() - started) / 1000)} s`);
  try {
    await body(run);
  } finally {
    await run.stop();
    console.log(`timing | ${name} | ${Math.round((Date.now() - started) / 1000)} s in all`);
  }
}

const ingressOf = (run: FaultRun) => ({ ...run, url: () => run.local.ingress.url });
const newProduction = (): Production => ({ accepted: new Map(), refused: [], retries: 0, statuses: new Map() });

describe('fault matrix (example pipeline)', () => {
  it('consumer process killed mid-batch', async () => {
    await withRun('kill', async (run) => {
      // GIVEN three documents whose index write is followed by the end of the execution environment: the write is
      // applied, its answer, the idempotency record's completion and the batch's answer are lost
      run.setSwitch({ crashAfterIndexWrite: [run.documentId(5), run.documentId(19), run.documentId(33)] });
      // WHEN 40 documents are sent
      const production = await produce(ingressOf(run), documents(40), { concurrency: 10 });
      const ledger = await settle(run, 'consumer process killed mid-batch', production.accepted);
      // THEN the environments did die after their writes, the batches came back after the visibility timeout, and
      // every replayed write was recognised as applied: every chunk written once
      expect(run.fired('crash')).toBe(3);
      expect(run.local.functions.get('index')?.stats.errors).toBeGreaterThanOrEqual(3);
      expectClean(ledger);
    });
  });

  it('function timeout', async () => {
    await withRun('timeout', async (run) => {
      // GIVEN index writes that never answer for two documents' chunks (once each)
      run.setSwitch({ hangIndexWrite: [run.documentId(7), run.documentId(22)] });
      const production = await produce(ingressOf(run), documents(30), { concurrency: 10 });
      const ledger = await settle(run, 'function timeout', production.accepted);
      // THEN the index invocations ran into the function timeout, and their records were retried
      expect(run.fired('hang')).toBe(2);
      expect(run.local.functions.get('index')?.stats.timeouts).toBeGreaterThanOrEqual(1);
      expectClean(ledger);
    });
  });

  it('downstream outage', async () => {
    await withRun('outage', async (run) => {
      // GIVEN the embedding service down (its own outage switch: every call answers 503)
      const service = run.example.embeddings.service;
      service.failFor(600_000);
      const production = await produce(ingressOf(run), documents(30), { concurrency: 10 });
      // WHEN the embed stage's breaker has opened and the valve paused the stage, the service comes back
      await waitFor('the embed stage to be paused', () => (run.local.pollers.get('embed')?.stats.pauses ?? 0) > 0);
      service.failFor(0);
      const ledger = await settle(run, 'downstream outage', production.accepted);
      // THEN nothing was lost to the outage: records waited (deferred) instead of spending their attempts
      expect(service.stats.failed).toBeGreaterThan(0);
      expectClean(ledger);
    });
  });

  it('downstream throttling', async () => {
    // GIVEN an embedding service that allows 60 texts a minute (after a first call's worth) while the embed stage's
    // limiter allows 3,000: at 300 a minute a slow (busy) pipeline never outran it
    await withRun(
      'throttle',
      async (run) => {
        const production = await produce(ingressOf(run), documents(50), { concurrency: 10 });
        const ledger = await settle(run, 'downstream throttling', production.accepted);
        // THEN the service refused calls over its rate (429), and the refused records were retried
        expect(run.example.embeddings.service.stats.rateLimited).toBeGreaterThan(0);
        expectClean(ledger);
      },
      { ratePerMinute: 60 },
    );
  });

  it('the same message delivered twice concurrently', async () => {
    await withRun('twice', async (run) => {
      // GIVEN jobs each sent twice in one SendMessageBatch — 10 documents to scan, the chunks of 10 to embed and of
      // 10 to index — as SQS's at-least-once delivery may hand out one message twice
      const accepted = new Map<string, string>();
      const queueOf = (stage: string) => run.local.provisioned.stages.get(stage)?.queueUrl as string;
      const twice: Array<{ queueUrl: string; jobId: string; data: unknown }> = [];
      for (let seq = 0; seq < 30; seq++) {
        const root = randomUUID();
        const documentId = run.documentId(seq);
        accepted.set(root, documentId);
        const chunks = chunksOf(documentText(documentId));
        if (seq < 10) {
          const data = { documentId, source: `https://example.com/${seq}.txt`, contentType: 'text/plain' };
          twice.push({ queueUrl: queueOf('scan'), jobId: root, data });
        } else {
          chunks.forEach((text, chunkIndex) => {
            const data =
              seq < 20 ? { documentId, chunkIndex, text } : { documentId, chunkIndex, vector: vectorOf(text) };
            twice.push({ queueUrl: queueOf(seq < 20 ? 'embed' : 'index'), jobId: `${root}.${chunkIndex}`, data });
          });
        }
      }
      for (const queueUrl of new Set(twice.map((job) => job.queueUrl))) {
        const jobs = twice.filter((job) => job.queueUrl === queueUrl);
        for (let start = 0; start < jobs.length; start += 5) {
          const entries = jobs.slice(start, start + 5).flatMap(({ jobId, data }, offset) => {
            const body = encodeJob({ jobId, schemaVersion: 1, data, correlationId: jobId });
            return [
              { Id: `${offset}a`, MessageBody: body },
              { Id: `${offset}b`, MessageBody: body },
            ];
          });
          await run.local.sqs.send(new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: entries }));
        }
      }
      const ledger = await settle(run, 'same message delivered twice concurrently', accepted);
      expectClean(ledger);
    });
  });

  it('poison message', async () => {
    await withRun('poison', async (run) => {
      // GIVEN 5 documents the scanner quarantines and 5 the extractor cannot read, among 30 ordinary ones
      const production = await produce(
        ingressOf(run),
        [
          ...documents(30),
          ...documents(5, 100, { title: 'X5O!P%@AP EICAR-STANDARD-ANTIVIRUS-TEST-FILE!' }),
          ...documents(5, 200, { contentType: 'application/pdf' }),
        ],
        { concurrency: 10 },
      );
      const ledger = await settle(run, 'poison message', production.accepted);
      // THEN they are dead-lettered at once with the stage's reason; the rest complete
      expectClean(ledger, 10);
      expect([...ledger.deadLetterReasons.keys()].every((reason) => /EICAR|application\/pdf/.test(reason))).toBe(true);
    });
  });

  it('DynamoDB unavailable during idempotency and status writes', async () => {
    await withRun('ddb-down', async (run) => {
      const production = newProduction();
      const producing = produce(ingressOf(run), documents(40), { concurrency: 10, ratePerSecond: 10 }, production);
      // WHEN DynamoDB Local dies while records are being processed, and stays down until a stage or the ingress
      // has seen it fail
      await waitFor('records to be processed', () => invocations(run) >= 5);
      await engines.killDynamo();
      await waitFor('a failure caused by DynamoDB', () => dynamoFaultSeen(run) > 0);
      await engines.startDynamo();
      await producing;
      const ledger = await settle(
        run,
        'DynamoDB unavailable during idempotency and status writes',
        production.accepted,
      );
      expectClean(ledger);
    });
  });

  it('SQS engine restarted with persistence on', async () => {
    await withRun('sqs-restart', async (run) => {
      const production = newProduction();
      const producing = produce(ingressOf(run), documents(40), { concurrency: 10, ratePerSecond: 10 }, production);
      // WHEN fauxqs stops mid-load (until a poller has seen it unreachable) and starts again on its data directory
      await waitFor('records to be processed', () => invocations(run) >= 5);
      await engines.stopSqs();
      const receiveErrors = () =>
        [...run.local.pollers.values()].reduce((sum, poller) => sum + poller.stats.receiveErrors, 0);
      await waitFor('a poller to see SQS unreachable', () => receiveErrors() > 0);
      await engines.startSqs();
      await producing;
      const ledger = await settle(run, 'SQS engine restarted with persistence on', production.accepted);
      expectClean(ledger);
    });
  });

  it('DynamoDB engine restarted', async () => {
    await withRun('ddb-restart', async (run) => {
      const production = newProduction();
      const producing = produce(ingressOf(run), documents(40), { concurrency: 10, ratePerSecond: 10 }, production);
      // WHEN DynamoDB Local is SIGKILLed mid-load (writes in flight) and started again at once on its database
      await waitFor('records to be processed', () => invocations(run) >= 5);
      await engines.killDynamo();
      await engines.startDynamo();
      await producing;
      const ledger = await settle(run, 'DynamoDB engine restarted', production.accepted);
      expect(dynamoFaultSeen(run)).toBeGreaterThan(0);
      expectClean(ledger);
    });
  });

  it('slow consumer', async () => {
    await withRun('slow', async (run) => {
      // GIVEN an index stage that takes a second more per batch, while 50 documents arrive from 20 producers
      run.setSwitch({ slowMs: { index: 1_000 } });
      const production = await produce(ingressOf(run), documents(50), { concurrency: 20 });
      const ledger = await settle(run, 'slow consumer', production.accepted);
      expectClean(ledger);
    });
  });

  it('10x burst', async () => {
    await withRun('burst', async (run) => {
      // GIVEN a steady document a second for 10 s, then 10 a second for 10 s
      const production = await produce(ingressOf(run), documents(10), { concurrency: 5, ratePerSecond: 1 });
      await produce(ingressOf(run), documents(100, 1000), { concurrency: 50, ratePerSecond: 10 }, production);
      const ledger = await settle(run, '10x burst', production.accepted);
      expectClean(ledger);
    });
  });

  it('oversized message', async () => {
    await withRun('oversized', async (run) => {
      // GIVEN 5 bodies over the scan queue's 256 KiB among 20 ordinary documents
      const production = await produce(
        ingressOf(run),
        [...documents(20), ...documents(5, 100, { padding: 'x'.repeat(300_000) })],
        { concurrency: 10 },
      );
      const ledger = await settle(run, 'oversized message', production.accepted);
      // THEN they are refused with 413 and never enqueued; the rest complete
      expect(production.refused.map((refusal) => refusal.status)).toEqual([413, 413, 413, 413, 413]);
      expect(ledger.accepted).toBe(20);
      expectClean(ledger);
    });
  });

  it('ingress killed and restarted mid-load', async () => {
    await withRun('ingress-kill', async (run) => {
      // GIVEN the ingress in its own process
      const ingress = await startIngressProcess(engines, run);
      const production = newProduction();
      const producing = produce(
        { ...run, url: () => ingress.url },
        documents(60),
        { concurrency: 10, ratePerSecond: 20 },
        production,
      );
      // WHEN it is SIGKILLed mid-load (after the first accepted jobs) and started again
      await waitFor('the first accepted jobs', () => production.accepted.size >= 10);
      await ingress.kill();
      await ingress.start();
      await producing;
      const ledger = await settle(run, 'ingress killed and restarted mid-load', production.accepted);
      await ingress.kill();
      expect(production.statuses.get('connection-error') ?? 0).toBeGreaterThan(0);
      expectClean(ledger);
    });
  });
});
