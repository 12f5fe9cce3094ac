/**
 * `npm run bench -- authorizer`: the depth-check authorizer.
 *
 * 1. Decision time on a depth-cache hit, against two peers measured in the same run: the pure `decideAdmission`
 *    (the floor) and the authorizer with its cache defeated (every decision reads SQS: what a cache saves).
 * 2. `GetQueueAttributes` calls per 10,000 decisions at several request rates, on a virtual clock (arrivals spread
 *    evenly, 10 ms ticks of concurrent decisions), against the real embedded SQS engine. Goal: ≤ 1 call per TTL.
 * 3. Whole-pipeline admission: the same count with N stages downstream of the ingress watched (1,000 decisions a
 *    second), and the cache-hit decision time with N stages against the one-stage cache hit measured in the same run.
 */
import { performance } from 'node:perf_hooks';
import { CreateQueueCommand, SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import { startFauxqs } from 'fauxqs';
import { decideAdmission } from '../functions/authorizer/decide.ts';
import { createAuthorizer } from '../functions/authorizer/handler.ts';
import type { AuthorizerSettings } from '../lib/definition/index.ts';
import { LOCAL_CREDENTIALS } from '../lib/local/engines.ts';

const settings: AuthorizerSettings = {
  softLimit: 800,
  hardLimit: 1000,
  overload: 'reject',
  drainRatePerSecond: 100,
  maxRetryAfterSeconds: 120,
  overflowMaxDepth: 10_000,
  overflowDrainRatePerSecond: 50,
  priorityEnabled: true,
  depthCacheTtlSeconds: 1,
  priorityHeader: 'x-sluice-priority',
  defaultLane: 'high',
};

const event = {
  type: 'REQUEST' as const,
  methodArn: 'arn:aws:execute-api:us-east-1:123456789012:api/v1/POST/jobs',
  resource: '/jobs',
  path: '/jobs',
  httpMethod: 'POST',
  headers: { 'x-sluice-priority': 'low' },
  multiValueHeaders: {},
  pathParameters: {},
  queryStringParameters: {},
  multiValueQueryStringParameters: {},
  stageVariables: {},
  requestContext: {} as never,
};

function countCalls(client: SQSClient): { count: number } {
  const counter = { count: 0 };
  client.middlewareStack.add(
    (next) => async (args) => {
      counter.count += 1;
      return next(args);
    },
    { step: 'initialize', name: 'benchCountCalls' },
  );
  return counter;
}

async function timePerCall(label: string, calls: number, run: () => unknown): Promise<number> {
  for (let index = 0; index < Math.min(calls, 2000); index += 1) await run(); // warm-up
  const started = performance.now();
  for (let index = 0; index < calls; index += 1) await run();
  const perCallUs = ((performance.now() - started) * 1000) / calls;
  console.log(`${label.padEnd(44)} ${perCallUs.toFixed(2).padStart(10)} µs/decision  (${calls} decisions)`);
  return perCallUs;
}

const sqsServer = await startFauxqs({ port: 0, host: '127.0.0.1', logger: false, defaultRegion: 'us-east-1' });
try {
  const endpoint = `http://127.0.0.1:${sqsServer.port}`;
  const client = () => new SQSClient({ endpoint, region: 'us-east-1', credentials: LOCAL_CREDENTIALS });
  const setup = client();
  const high = (await setup.send(new CreateQueueCommand({ QueueName: 'bench-high' }))).QueueUrl as string;
  const low = (await setup.send(new CreateQueueCommand({ QueueName: 'bench-low' }))).QueueUrl as string;
  // 850 messages: between the soft and the hard limit, so a low-priority decision takes the shedding path.
  for (let sent = 0; sent < 850; sent += 10) {
    const entries = Array.from({ length: 10 }, (_, index) => ({ Id: String(index), MessageBody: '{}' }));
    await setup.send(new SendMessageBatchCommand({ QueueUrl: high, Entries: entries }));
  }

  console.log('### Decision time\n');
  const pure = await timePerCall('decideAdmission (pure, peer: the floor)', 1_000_000, () =>
    decideAdmission({ depth: 850, lane: 'low', settings }),
  );
  const cached = createAuthorizer({ settings, queues: { queueUrl: high, lowLaneQueueUrl: low }, sqs: client() });
  await cached(event);
  const hit = await timePerCall('authorizer, depth cache hit', 200_000, () => cached(event));
  let clock = 0;
  const uncached = createAuthorizer({
    settings,
    queues: { queueUrl: high, lowLaneQueueUrl: low },
    sqs: client(),
    now: () => {
      clock += 10_000; // every decision sees an expired cache
      return clock;
    },
  });
  const miss = await timePerCall('authorizer, cache defeated (peer: reads SQS)', 2_000, () => uncached(event));
  console.log(
    `\ncache hit = ${(hit / pure).toFixed(1)}× the pure decision; cache defeated = ${(miss / hit).toFixed(0)}× a cache hit\n`,
  );

  console.log('### GetQueueAttributes calls per 10,000 decisions (TTL 1 s, 2 queues watched)\n');
  console.log('| request rate | virtual duration | TTL windows | SQS calls | calls per TTL per queue |');
  console.log('| ---: | ---: | ---: | ---: | ---: |');
  for (const rate of [10, 100, 1_000, 10_000, 100_000]) {
    const sqs = client();
    const counter = countCalls(sqs);
    let now = 0;
    const authorize = createAuthorizer({
      settings,
      queues: { queueUrl: high, lowLaneQueueUrl: low },
      sqs,
      now: () => now,
    });
    const decisions = 10_000;
    const tickMs = 10;
    const perTick = Math.max(1, Math.round((rate * tickMs) / 1000));
    let made = 0;
    let ticks = 0;
    while (made < decisions) {
      const batch = Math.min(perTick, decisions - made);
      now = ticks * Math.max(tickMs, Math.round((batch * 1000) / rate));
      await Promise.all(Array.from({ length: batch }, () => authorize(event)));
      made += batch;
      ticks += 1;
    }
    const durationS = (now + 1) / 1000;
    const windows = Math.ceil(durationS / settings.depthCacheTtlSeconds);
    console.log(
      `| ${rate.toLocaleString('en-US')}/s | ${durationS.toFixed(2)} s | ${windows} | ${counter.count} | ${(counter.count / windows / 2).toFixed(2)} |`,
    );
  }

  console.log('\n### Whole-pipeline admission: N downstream stages watched (TTL 1 s, 1,000 decisions/s)\n');
  console.log(
    '| stages watched (+ 2 lanes) | SQS calls | TTL windows | calls per TTL per queue | cache hit, µs | vs 1 stage |',
  );
  console.log('| ---: | ---: | ---: | ---: | ---: | ---: |');
  let oneStageHit: number | undefined;
  for (const stages of [1, 2, 5, 10, 20]) {
    const downstreamQueueUrls: string[] = [];
    for (let index = 0; index < stages; index += 1) {
      const url = (await setup.send(new CreateQueueCommand({ QueueName: `bench-stage-${stages}-${index}` }))).QueueUrl;
      downstreamQueueUrls.push(url as string);
    }
    const withStages: AuthorizerSettings = {
      ...settings,
      downstream: downstreamQueueUrls.map((_, index) => ({
        stage: `s${index}`,
        depthLimit: 1000,
        ageSloSeconds: 60,
        drainRatePerSecond: 100,
      })),
    };
    const sqs = client();
    const counter = countCalls(sqs);
    let now = 0;
    const authorize = createAuthorizer({
      settings: withStages,
      queues: { queueUrl: high, lowLaneQueueUrl: low, downstreamQueueUrls },
      sqs,
      now: () => now,
    });
    const decisions = 10_000;
    for (let made = 0; made < decisions; made += 10) {
      now = made; // 10 decisions every 10 ms: 1,000 a second
      await Promise.all(Array.from({ length: 10 }, () => authorize(event)));
    }
    const windows = Math.ceil((now + 1) / 1000);
    const queues = 2 + stages;
    const hitUs = await timePerCall(`authorizer, cache hit, ${stages} stages`, 100_000, () => authorize(event));
    oneStageHit ??= hitUs;
    console.log(
      `| ${stages} | ${counter.count} | ${windows} | ${(counter.count / windows / queues).toFixed(2)} | ${hitUs.toFixed(2)} | ${(hitUs / oneStageHit).toFixed(2)}× |`,
    );
  }
} finally {
  await sqsServer.stop();
}
