import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeJob } from '../../lib/definition/index.ts';
import type { FaultPipelineOptions } from './fault-pipeline.ts';
import {
  type FaultRun,
  jobs,
  type Ledger,
  produce,
  settle,
  sleep,
  startFaultRun,
  startIngressProcess,
} from './harness.ts';
import { type RestartableEngines, startRestartableEngines } from './restartable-engines.ts';

/**
 * The fault matrix: each fault is injected through a real mechanism into the local runtime (execution environments,
 * engine processes, the ingress process, a handler switch) while jobs flow, and ends with a ledger: every accepted job
 * completed exactly once (its side effect counted once) or dead-lettered with its reason; none lost, no duplicate
 * effect.
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
}

/** Evidence a DynamoDB fault hit: failed records in a stage, or a 503 from the ingress. */
function dynamoFaultSeen(run: FaultRun): number {
  let seen = run.local.ingress.stats.unavailable;
  for (const poller of run.local.pollers.values()) seen += poller.stats.failedRecords;
  return seen;
}

async function withRun(
  name: string,
  body: (run: FaultRun) => Promise<void>,
  overrides: Partial<FaultPipelineOptions> = {},
): Promise<void> {
  const run = await startFaultRun(engines, workDir, name, overrides);
  try {
    await body(run);
  } finally {
    await run.stop();
  }
}

describe('fault matrix', () => {
  it('consumer process killed mid-batch', async () => {
    await withRun('kill', async (run) => {
      // GIVEN three jobs whose first delivery ends the index stage's execution environment in the middle of a batch
      run.setSwitch({ stage: 'index', crashSeqs: [5, 23, 41] });
      // WHEN 60 jobs are sent
      const production = await produce(() => run.local.ingress.url, jobs(60), { concurrency: 10 });
      const ledger = await settle(run, 'consumer process killed mid-batch', production.accepted);
      // THEN the environments did die, and every job completed once
      expect(run.local.functions.get('index')?.stats.errors).toBeGreaterThanOrEqual(3);
      expectClean(ledger);
    });
  });

  it('function timeout', async () => {
    await withRun('timeout', async (run) => {
      // GIVEN two jobs whose first delivery runs past the index function's timeout
      run.setSwitch({ stage: 'index', hangSeqs: [7, 30] });
      const production = await produce(() => run.local.ingress.url, jobs(40), { concurrency: 10 });
      const ledger = await settle(run, 'function timeout', production.accepted);
      expect(run.local.functions.get('index')?.stats.timeouts).toBeGreaterThanOrEqual(1);
      expectClean(ledger);
    });
  });

  it('downstream outage', async () => {
    await withRun('outage', async (run) => {
      // GIVEN the index stage's downstream refusing every call
      run.setSwitch({ stage: 'index', mode: 'outage' });
      const production = await produce(() => run.local.ingress.url, jobs(40), { concurrency: 10 });
      await sleep(5_000);
      // WHEN it comes back
      run.setSwitch({});
      const ledger = await settle(run, 'downstream outage', production.accepted);
      expectClean(ledger);
    });
  });

  it('downstream throttling', async () => {
    await withRun('throttle', async (run) => {
      // GIVEN the downstream answering half the calls with 429 while the jobs arrive
      run.setSwitch({ stage: 'index', mode: 'throttle' });
      const production = await produce(() => run.local.ingress.url, jobs(40), { concurrency: 10 });
      await sleep(5_000);
      run.setSwitch({});
      const ledger = await settle(run, 'downstream throttling', production.accepted);
      expectClean(ledger);
    });
  });

  it('the same message delivered twice concurrently', async () => {
    await withRun('twice', async (run) => {
      // GIVEN 20 jobs each sent twice in the same SendMessageBatch to the take queue and 20 to the index queue, as
      // SQS's at-least-once delivery may hand out one message twice
      const accepted = new Map<string, number>();
      const send = async (queueUrl: string, from: number) => {
        for (let seq = from; seq < from + 20; seq += 5) {
          const entries = [];
          for (let offset = 0; offset < 5; offset++) {
            const jobId = randomUUID();
            accepted.set(jobId, seq + offset);
            const body = encodeJob({ jobId, schemaVersion: 1, data: { seq: seq + offset }, correlationId: jobId });
            entries.push({ Id: `${offset}a`, MessageBody: body }, { Id: `${offset}b`, MessageBody: body });
          }
          await run.local.sqs.send(new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: entries }));
        }
      };
      await send(run.local.provisioned.stages.get('take')?.queueUrl as string, 0);
      await send(run.local.provisioned.stages.get('index')?.queueUrl as string, 100);
      const ledger = await settle(run, 'same message delivered twice concurrently', accepted);
      expectClean(ledger);
    });
  });

  it('poison message', async () => {
    await withRun('poison', async (run) => {
      const production = await produce(() => run.local.ingress.url, [...jobs(45), ...jobs(5, 100, { poison: true })], {
        concurrency: 10,
      });
      const ledger = await settle(run, 'poison message', production.accepted);
      expectClean(ledger, 5);
      expect([...ledger.deadLetterReasons.keys()].every((reason) => /poison message/.test(reason))).toBe(true);
    });
  });

  it('DynamoDB unavailable during idempotency and status writes', async () => {
    await withRun('ddb-down', async (run) => {
      run.setSwitch({ mode: 'slow', slowMs: 100 });
      const producing = produce(() => run.local.ingress.url, jobs(60), { concurrency: 10, ratePerSecond: 20 });
      await sleep(1_500);
      // WHEN DynamoDB Local dies for 5 s while jobs are being processed
      await engines.killDynamo();
      await sleep(5_000);
      await engines.startDynamo();
      run.setSwitch({});
      const production = await producing;
      const ledger = await settle(
        run,
        'DynamoDB unavailable during idempotency and status writes',
        production.accepted,
      );
      expect(dynamoFaultSeen(run)).toBeGreaterThan(0);
      expectClean(ledger);
    });
  });

  it('SQS engine restarted with persistence on', async () => {
    await withRun('sqs-restart', async (run) => {
      run.setSwitch({ mode: 'slow', slowMs: 100 });
      const producing = produce(() => run.local.ingress.url, jobs(60), { concurrency: 10, ratePerSecond: 20 });
      await sleep(1_500);
      // WHEN fauxqs is stopped and started again on the same port and data directory
      await engines.stopSqs();
      await sleep(2_000);
      await engines.startSqs();
      run.setSwitch({});
      const production = await producing;
      const ledger = await settle(run, 'SQS engine restarted with persistence on', production.accepted);
      expect(
        [...run.local.pollers.values()].reduce((sum, poller) => sum + poller.stats.receiveErrors, 0),
      ).toBeGreaterThan(0);
      expectClean(ledger);
    });
  });

  it('DynamoDB engine restarted', async () => {
    await withRun('ddb-restart', async (run) => {
      run.setSwitch({ mode: 'slow', slowMs: 100 });
      const producing = produce(() => run.local.ingress.url, jobs(60), { concurrency: 10, ratePerSecond: 20 });
      await sleep(1_500);
      await engines.killDynamo();
      await engines.startDynamo();
      run.setSwitch({});
      const production = await producing;
      const ledger = await settle(run, 'DynamoDB engine restarted', production.accepted);
      expect(dynamoFaultSeen(run)).toBeGreaterThan(0);
      expectClean(ledger);
    });
  });

  it('slow consumer', async () => {
    await withRun('slow', async (run) => {
      // GIVEN an index stage taking 300 ms a job: the queue fills, the ingress pushes back (429/503), producers retry
      run.setSwitch({ stage: 'index', mode: 'slow', slowMs: 300 });
      const production = await produce(() => run.local.ingress.url, jobs(80), { concurrency: 20 });
      run.setSwitch({});
      const ledger = await settle(run, 'slow consumer', production.accepted);
      expectClean(ledger);
    });
  });

  it('10x burst', async () => {
    await withRun('burst', async (run) => {
      // GIVEN a steady 10 jobs/s, then 100 jobs/s
      const production = await produce(() => run.local.ingress.url, jobs(20), { concurrency: 5, ratePerSecond: 10 });
      await produce(() => run.local.ingress.url, jobs(200, 1000), { concurrency: 50, ratePerSecond: 100 }, production);
      const ledger = await settle(run, '10x burst', production.accepted);
      expectClean(ledger);
    });
  });

  it('oversized message', async () => {
    await withRun(
      'oversized',
      async (run) => {
        // GIVEN bodies over the take queue's 16 KiB among ordinary jobs
        const production = await produce(
          () => run.local.ingress.url,
          [...jobs(30), ...jobs(5, 100, { padding: 'x'.repeat(20_000) })],
          { concurrency: 10 },
        );
        const ledger = await settle(run, 'oversized message', production.accepted);
        // THEN they are refused with 413 and never enqueued; the rest complete
        expect(production.refused.map((refusal) => refusal.status)).toEqual([413, 413, 413, 413, 413]);
        expect(ledger.accepted).toBe(30);
        expectClean(ledger);
      },
      { takeMaxMessageSizeBytes: 16_384 },
    );
  });

  it('ingress killed and restarted mid-load', async () => {
    await withRun('ingress-kill', async (run) => {
      // GIVEN the ingress in its own process
      const ingress = await startIngressProcess(engines, run);
      const producing = produce(() => ingress.url, jobs(80), { concurrency: 10, ratePerSecond: 40 });
      await sleep(1_000);
      // WHEN it is SIGKILLed mid-load and started again
      await ingress.kill();
      await sleep(1_000);
      await ingress.start();
      const production = await producing;
      const ledger = await settle(run, 'ingress killed and restarted mid-load', production.accepted);
      expect(production.statuses.get('connection-error') ?? 0).toBeGreaterThan(0);
      await ingress.kill();
      expectClean(ledger);
    });
  });
});
