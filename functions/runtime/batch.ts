/**
 * A batch of SQS records: each record run (one after the other, `recordConcurrency` at a time, or by FIFO message
 * group), then settled (`settle.ts`). One record's failure is never the batch's.
 */
import type { Context, SQSBatchResponse, SQSRecord } from 'aws-lambda';
import type { ConsumerConfig } from './consumer.ts';
import { MessageGroupBlockedError } from './errors.ts';
import type { BatchEnvironment } from './job-context.ts';
import { BatchScope } from './micro-batcher.ts';
import { endBatch, releaseAdmission } from './pressure.ts';
import {
  conclude,
  RecordClock,
  type RecordState,
  type Released,
  recordState,
  reuseState,
  type Tally,
} from './record-state.ts';
import { runRecord } from './run-record.ts';
import { deadLettersNow, park, settle } from './settle.ts';

/** Runs one batch and returns the records to retry. Never throws for a record's failure. */
export async function runBatch(
  config: ConsumerConfig,
  records: readonly SQSRecord[],
  context: Context,
): Promise<SQSBatchResponse> {
  const batch: BatchEnvironment = {
    stage: config.stage,
    logger: config.logger,
    lambdaContext: context,
    pressure: config.pressure,
    scope: config.batchers ? new BatchScope(config.batchers) : undefined,
  };
  const tally: Tally = { succeeded: 0, processingTimesMs: [] };
  const fifo = records.length > 0 && records[0]?.eventSourceARN.endsWith('.fifo') === true;
  // The states of the records settle has work for, by index. FIFO needs them all at once (to group them).
  const states: (RecordState | undefined)[] = fifo
    ? records.map((record) => recordState(record, batch))
    : new Array(records.length);
  await (fifo
    ? runGroups(config, states as RecordState[], context, tally)
    : runEach(config, records, states, batch, context, tally));
  const response = await settle(config, records, states, fifo, tally);
  if (config.pressure.active) {
    await endBatch(config);
  }
  return response;
}

async function runEach(
  config: ConsumerConfig,
  records: readonly SQSRecord[],
  states: (RecordState | undefined)[],
  batch: BatchEnvironment,
  context: Context,
  tally: Tally,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    // The state of the worker's last record when it succeeded synchronously: nothing else can hold it then (no
    // promise captured it, settle does not need it), so the next record reuses it instead of allocating its own.
    let spare: RecordState | undefined;
    const clock = new RecordClock();
    while (next < records.length) {
      const index = next++;
      const record = records[index] as SQSRecord;
      const state = spare === undefined ? recordState(record, batch) : reuseState(spare, record);
      spare = undefined;
      const running = runRecord(config, state, context);
      if (running instanceof Promise) {
        const outcome = await running;
        clock.stop(state);
        if (conclude(state, outcome, tally)) states[index] = state;
      } else {
        clock.stop(state);
        if (conclude(state, running, tally)) {
          states[index] = state;
        } else if (state.lease === undefined) {
          spare = state;
        }
      }
      if (state.lease) {
        await releaseAdmission(config.pressure, state.lease);
        clock.restart();
      }
    }
  };
  const workers = Math.min(config.recordConcurrency, records.length);
  if (workers === 1) {
    await worker();
    return;
  }
  await Promise.all(Array.from({ length: workers }, worker));
}

/**
 * FIFO: each message group in order; groups run in parallel. After a record that is retried (or not run), the group's
 * later records are not run, to keep its order. A failed record that is dead-lettered no longer holds the group: it is
 * parked at once, and once the dead-letter queue has it the group's later records run.
 */
async function runGroups(config: ConsumerConfig, states: RecordState[], context: Context, tally: Tally): Promise<void> {
  const groups = new Map<string, RecordState[]>();
  for (const state of states) {
    const id = state.record.attributes.MessageGroupId ?? '';
    const group = groups.get(id);
    if (group) {
      group.push(state);
    } else {
      groups.set(id, [state]);
    }
  }
  const queue = [...groups.entries()];
  let next = 0;
  const worker = async () => {
    const clock = new RecordClock();
    while (next < queue.length) {
      const [groupId, members] = queue[next++] as [string, RecordState[]];
      let blocked: Released | undefined;
      for (let index = 0; index < members.length; index++) {
        const state = members[index] as RecordState;
        if (blocked) {
          state.outcome = blocked;
          continue;
        }
        const running = runRecord(config, state, context);
        const outcome = running instanceof Promise ? await running : running;
        clock.stop(state);
        // A succeeded record's state stays in the group (settle skips it); its envelope can go.
        if (!conclude(state, outcome, tally)) state.job = undefined;
        if (state.lease) {
          await releaseAdmission(config.pressure, state.lease);
          clock.restart();
        }
        // A deferred record blocks its group like a released one: FIFO takes no per-message delay, so it is handed
        // back in place and the group's later records must wait for it.
        if (outcome.kind === 'succeeded' || outcome.kind === 'skipped') {
          continue;
        }
        if (outcome.kind === 'failed' && index < members.length - 1 && deadLettersNow(config, state, outcome)) {
          await park(config, [state]);
          clock.restart();
          if (state.parked) {
            continue;
          }
        }
        blocked = { kind: 'released', error: new MessageGroupBlockedError(groupId), retryAfterSeconds: 0 };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(config.recordConcurrency, queue.length) }, worker));
}
