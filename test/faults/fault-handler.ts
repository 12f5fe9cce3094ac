import { readFileSync } from 'node:fs';
import { DynamoDBClient, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import * as z from 'zod';
import { consumer, PermanentError, TransientError } from '../../functions/runtime/index.ts';

/**
 * The fault matrix's stage handler, run by the local runtime like any stage. The first stage (`take`) checks the job
 * and forwards it; the last (`index`) applies the job's side effect: one `ADD applied 1` on the effects table under
 * the job's id, counted every time it runs, so a job whose effect ran twice shows `applied = 2`.
 *
 * Faults are switched from outside through a JSON file (`FAULT_SWITCH_FILE`), read on every record:
 * `{ stage?, mode?: 'ok' | 'outage' | 'throttle' | 'slow', slowMs?, crashSeqs?, hangSeqs? }`. A job in `crashSeqs`
 * ends the execution environment (`process.exit`) on its first receive, in the middle of its batch; one in `hangSeqs`
 * runs past the function timeout on its first receive.
 */

const FaultJob = z.object({
  seq: z.int(),
  poison: z.boolean().optional(),
  padding: z.string().optional(),
});

interface FaultSwitch {
  readonly stage?: string;
  readonly mode?: 'ok' | 'outage' | 'throttle' | 'slow';
  readonly slowMs?: number;
  readonly crashSeqs?: readonly number[];
  readonly hangSeqs?: readonly number[];
}

const dynamo = new DynamoDBClient({});
const effectsTable = process.env.FAULT_EFFECTS_TABLE as string;

function readSwitch(): FaultSwitch {
  try {
    return JSON.parse(readFileSync(process.env.FAULT_SWITCH_FILE as string, 'utf8')) as FaultSwitch;
  } catch {
    return {};
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export const handler = consumer({
  schema: FaultJob,
  // The stages' function timeout is short (redeliveries come soon); keep most of it for records.
  timeoutMarginMs: 500,
  handler: async (job, ctx) => {
    if (ctx.stage === 'take' && job.poison) {
      throw new PermanentError(`poison message: job ${job.seq} can never be processed`);
    }
    const faults = readSwitch();
    if (faults.stage === undefined || faults.stage === ctx.stage) {
      if (ctx.receiveCount === 1 && faults.crashSeqs?.includes(job.seq)) process.exit(137);
      if (ctx.receiveCount === 1 && faults.hangSeqs?.includes(job.seq)) await sleep(600_000);
      if (faults.mode === 'outage') throw new TransientError('downstream unavailable: connection refused');
      if (faults.mode === 'throttle' && Math.random() < 0.5) {
        throw new TransientError('downstream throttled: 429 Too Many Requests');
      }
      if (faults.mode === 'slow') await sleep(faults.slowMs ?? 200);
    }
    if (ctx.stage === 'take') {
      ctx.forward(job);
      return;
    }
    // The side effect, counted on every run: the root job id is the accepted one (forwarded ids add `.n`).
    await dynamo.send(
      new UpdateItemCommand({
        TableName: effectsTable,
        Key: { jobId: { S: ctx.jobId.split('.')[0] as string } },
        UpdateExpression: 'ADD applied :one',
        ExpressionAttributeValues: { ':one': { N: '1' } },
      }),
    );
  },
});
