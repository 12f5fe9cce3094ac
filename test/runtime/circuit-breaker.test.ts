import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { beforeAll, describe, expect, it } from 'vitest';
import * as z from 'zod';
import {
  type BreakerSettings,
  breakerBlocks,
  breakerTransition,
  closedBreaker,
  readBreaker,
} from '../../functions/runtime/circuit-breaker.ts';
import { DEFERRAL_ATTRIBUTES } from '../../functions/runtime/deferral.ts';
import { consumer, PermanentError, TransientError } from '../../functions/runtime/index.ts';
import { CONTROL_TABLE } from '../../lib/definition/index.ts';
import { localDynamoClient, localSqsClient, uniqueName } from '../helpers/engines.ts';
import {
  createQueuePair,
  createTable,
  fakeContext,
  job,
  receive,
  receiveEvent,
  sendBodies,
} from '../helpers/runtime-fixture.ts';

const settings: BreakerSettings = {
  failureRatio: 0.5,
  windowSeconds: 30,
  minimumCalls: 4,
  openSeconds: 10,
  halfOpenProbes: 2,
};

describe('breakerTransition (pure)', () => {
  it('opens only once the window holds minimumCalls outcomes at the failure ratio', () => {
    const closed = closedBreaker(0);
    const three = breakerTransition(closed, { type: 'outcomes', successes: 0, failures: 3 }, settings, 1_000);
    expect(three.state.status).toBe('closed');
    const four = breakerTransition(three.state, { type: 'outcomes', successes: 1, failures: 0 }, settings, 2_000);
    expect(four.state).toMatchObject({ status: 'open', openedAtMs: 2_000 });
  });

  it('starts a new window after windowSeconds, forgetting older failures', () => {
    const three = breakerTransition(closedBreaker(0), { type: 'outcomes', successes: 0, failures: 3 }, settings, 1_000);
    const later = breakerTransition(three.state, { type: 'outcomes', successes: 1, failures: 1 }, settings, 30_000);
    expect(later.state).toMatchObject({ status: 'closed', calls: 2, failures: 1, windowStartMs: 30_000 });
  });

  it('holds records while open, then lets halfOpenProbes through, and closes on their success', () => {
    const open = { ...closedBreaker(0), status: 'open' as const, openedAtMs: 0 };
    expect(breakerTransition(open, { type: 'admit' }, settings, 9_999).admitted).toBe(false);
    const first = breakerTransition(open, { type: 'admit' }, settings, 10_000);
    expect(first).toMatchObject({ admitted: true, state: { status: 'half-open', probes: 1 } });
    const second = breakerTransition(first.state, { type: 'admit' }, settings, 10_001);
    expect(second).toMatchObject({ admitted: true, state: { probes: 2 } });
    expect(breakerTransition(second.state, { type: 'admit' }, settings, 10_002).admitted).toBe(false);
    const one = breakerTransition(second.state, { type: 'outcomes', successes: 1, failures: 0 }, settings, 10_500);
    expect(one.state.status).toBe('half-open');
    const two = breakerTransition(one.state, { type: 'outcomes', successes: 1, failures: 0 }, settings, 10_600);
    expect(two.state).toMatchObject({ status: 'closed', calls: 0, failures: 0, windowStartMs: 10_600 });
  });

  it('starts a new round of probes when the last round never reported, after openSeconds', () => {
    const exhausted = { ...closedBreaker(0), status: 'half-open' as const, openedAtMs: 10_000, probes: 2 };
    expect(breakerTransition(exhausted, { type: 'admit' }, settings, 19_999).admitted).toBe(false);
    const round = breakerTransition(exhausted, { type: 'admit' }, settings, 20_000);
    expect(round).toMatchObject({ admitted: true, state: { status: 'half-open', probes: 1, openedAtMs: 20_000 } });
  });

  it('opens again when a half-open probe fails', () => {
    const halfOpen = { ...closedBreaker(0), status: 'half-open' as const, openedAtMs: 0, probes: 1 };
    const step = breakerTransition(halfOpen, { type: 'outcomes', successes: 0, failures: 1 }, settings, 12_000);
    expect(step.state).toMatchObject({ status: 'open', openedAtMs: 12_000 });
  });

  it('blocks polling only while open and inside its open period', () => {
    const open = { ...closedBreaker(0), status: 'open' as const, openedAtMs: 0 };
    expect(breakerBlocks(open, settings, 9_999)).toBe(true);
    expect(breakerBlocks(open, settings, 10_000)).toBe(false);
    expect(breakerBlocks({ ...open, status: 'half-open' }, settings, 1)).toBe(false);
    expect(breakerBlocks(closedBreaker(0), settings, 1)).toBe(false);
  });

  it('ignores late outcomes while open', () => {
    const open = { ...closedBreaker(0), status: 'open' as const, openedAtMs: 5 };
    expect(breakerTransition(open, { type: 'outcomes', successes: 9, failures: 0 }, settings, 6).changed).toBe(false);
  });
});

let sqs: SQSClient;
let dynamo: DynamoDBClient;
let controlTable: string;
beforeAll(async () => {
  sqs = localSqsClient();
  dynamo = localDynamoClient();
  controlTable = await createTable(dynamo, CONTROL_TABLE);
});

describe('circuit breaker shared by two containers', () => {
  it('open → paused (records deferred, not run) → half-open → closed', async () => {
    // GIVEN two containers of the same stage (two consumer instances, each with its own cache), one clock
    const queue = await createQueuePair(sqs);
    const pipeline = uniqueName('docs');
    let now = 1_000_000;
    let downstreamUp = false;
    const runs = { a: 0, b: 0 };
    const lines: Record<'a' | 'b', string[]> = { a: [], b: [] };
    const container = (name: 'a' | 'b') =>
      consumer({
        schema: z.strictObject({ text: z.string() }),
        stage: 'embed',
        pipeline,
        queueUrl: queue.queueUrl,
        clients: { sqs, dynamo },
        pressure: {
          controlTableName: controlTable,
          breaker: settings,
          deferral: { baseSeconds: 0, maxSeconds: 0 },
          clock: () => now,
        },
        // Failed records stay hidden for the rest of the test, so each receive below gets the records it sent.
        backoff: { baseSeconds: 60, maxSeconds: 60 },
        logSink: (line) => lines[name].push(line),
        handler: () => {
          runs[name]++;
          if (!downstreamUp) throw new TransientError('embedding service returned 503');
        },
      });
    const a = container('a');
    const b = container('b');
    const state = () => readBreaker(dynamo, controlTable, pipeline, 'embed');

    // WHEN container A sees 4 transient failures in a row
    await sendBodies(
      sqs,
      queue.queueUrl,
      [1, 2, 3, 4].map((n) => job({ text: `t${n}` })),
    );
    await a(await receiveEvent(sqs, queue, 4), fakeContext());
    // THEN the shared breaker is open
    expect((await state()).status).toBe('open');

    // WHEN container B (which never saw a failure) gets records
    now += 1_500;
    await sendBodies(sqs, queue.queueUrl, [job({ text: 'b1' }), job({ text: 'b2' })]);
    const paused = await b(await receiveEvent(sqs, queue, 2), fakeContext());
    // THEN they are deferred without running, and not reported failed
    expect(paused.batchItemFailures).toEqual([]);
    expect(runs.b).toBe(0);
    const held = await receive(sqs, queue.queueUrl, 2);
    expect(held.map((m) => m.MessageAttributes?.[DEFERRAL_ATTRIBUTES.reason]?.StringValue)).toEqual([
      'breaker-open',
      'breaker-open',
    ]);
    // AND container B's metrics say the breaker held records back
    expect(lines.b.some((line) => line.includes('"BreakerOpen":2'))).toBe(true);
    expect(lines.b.some((line) => line.includes('"Reason":"breaker-open"') && line.includes('"Deferred":2'))).toBe(
      true,
    );

    // WHEN the open period ends and the downstream is back: 3 records, across both containers
    now += settings.openSeconds * 1000;
    downstreamUp = true;
    await sendBodies(sqs, queue.queueUrl, [job({ text: 'p1' })]);
    const probeA = a(await receiveEvent(sqs, queue, 1), fakeContext());
    await sendBodies(sqs, queue.queueUrl, [job({ text: 'p2' }), job({ text: 'p3' })]);
    const probeB = b(await receiveEvent(sqs, queue, 2), fakeContext());
    await Promise.all([probeA, probeB]);
    // THEN exactly halfOpenProbes (2) ran as probes across the two containers, the third was deferred
    expect(runs.a + runs.b - 4).toBe(2);
    // AND their successes closed the breaker
    expect((await state()).status).toBe('closed');

    // WHEN a container's cache expires, records run normally again
    now += 1_000;
    await sendBodies(sqs, queue.queueUrl, [job({ text: 'after' })]);
    expect((await b(await receiveEvent(sqs, queue, 1), fakeContext())).batchItemFailures).toEqual([]);
    expect(runs.a + runs.b - 4).toBe(3);
  });

  it('counts neither permanent failures (bad data) nor successes recorded by the handler twice', async () => {
    const queue = await createQueuePair(sqs);
    const pipeline = uniqueName('docs');
    const run = consumer({
      schema: z.strictObject({ text: z.string() }),
      stage: 'embed',
      pipeline,
      queueUrl: queue.queueUrl,
      deadLetterQueueUrl: queue.deadLetterQueueUrl,
      clients: { sqs, dynamo },
      pressure: { controlTableName: controlTable, breaker: settings },
      logSink: () => undefined,
      handler: (data, ctx) => {
        if (data.text === 'bad') throw new PermanentError('unreadable document');
        ctx.breaker.record(false);
      },
    });
    await sendBodies(sqs, queue.queueUrl, [job({ text: 'bad' }), job({ text: 'bad' }), job({ text: 'ok' })]);
    await run(await receiveEvent(sqs, queue, 3), fakeContext());
    expect(await readBreaker(dynamo, controlTable, pipeline, 'embed')).toMatchObject({
      status: 'closed',
      calls: 1,
      failures: 1,
    });
  });

  it('fails if breaker settings are out of range or there is no control table', () => {
    expect(() =>
      consumer({
        schema: z.strictObject({}),
        handler: () => undefined,
        pressure: { controlTableName: 't', breaker: { failureRatio: 1.5, halfOpenProbes: 0 } },
      }),
    ).toThrow(
      /breaker.failureRatio must be above 0 and at most 1, but 1.5 was provided[\s\S]*breaker.halfOpenProbes must be an integer of at least 1, but 0/,
    );
    expect(() => consumer({ schema: z.strictObject({}), handler: () => undefined, pressure: { breaker: {} } })).toThrow(
      /a circuit breaker needs the control table/,
    );
  });
});
