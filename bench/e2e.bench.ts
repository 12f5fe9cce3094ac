/**
 * End to end on one machine: HTTP ingress → SQS engine → event source poller → sluice consumer (trivial handler) →
 * delete, at an offered rate above what the machine can take, to find jobs/s accepted and completed. Then the same
 * pipeline with its parts measured one at a time, to see where the time goes.
 *
 * npm run bench -- e2e
 */
import { execFile } from 'node:child_process';
import { SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import { definePipeline } from '../lib/definition/index.ts';
import { startEngines } from '../lib/local/engines.ts';
import type { LoadStats } from '../lib/local/load-generator.ts';
import { startLocalPipeline } from '../lib/local/local-pipeline.ts';

const OFFERED_PER_SECOND = Number(process.env.E2E_RATE ?? 3_000);
const SECONDS = Number(process.env.E2E_SECONDS ?? 10);

const pipeline = definePipeline({
  name: 'e2e',
  stages: [
    {
      name: 'work',
      consumer: {
        entry: 'bench/fixtures/trivial-consumer.ts',
        batchSize: 100,
        maxBatchingWindowSeconds: 1,
        maxConcurrency: 10,
        reservedConcurrency: 10,
      },
      flow: { depthLimit: 1_000_000 },
    },
  ],
});

const engines = await startEngines();
try {
  // 1. Through the ingress: open loop at OFFERED_PER_SECOND.
  const local = await startLocalPipeline(pipeline, {
    engines,
    prefix: 'e2e-http',
    rateLimitPerSecond: 100_000,
    burstLimit: 100_000,
  });
  const poller = local.pollers.get('work');
  const started = Date.now();
  // The producers run in their own process (the CLI's load command), as real clients would, so they do not share the
  // event loop of the ingress and the engines.
  const output = await new Promise<string>((resolve, reject) => {
    execFile(
      process.execPath,
      [
        'bin/sluice.ts',
        'load',
        '--url',
        local.ingress.url,
        '--rate',
        String(OFFERED_PER_SECOND),
        '--duration',
        String(SECONDS),
        '--max-in-flight',
        '256',
        '--no-follow',
        '--json',
      ],
      { maxBuffer: 1 << 20 },
      (error, stdout) => (error ? reject(error) : resolve(stdout)),
    );
  });
  const stats = JSON.parse(output.trim().split('\n').at(-1) as string) as LoadStats;
  const acceptSeconds = (Date.now() - started) / 1000;
  while ((poller?.stats.deleted ?? 0) < stats.accepted && Date.now() - started < 120_000)
    await new Promise((r) => setTimeout(r, 100));
  const completeSeconds = (Date.now() - started) / 1000;
  const completed = poller?.stats.deleted ?? 0;
  await local.stop();

  // 2. The consumer side alone: the queue filled directly, then drained by the pollers.
  const drainOnly = await startLocalPipeline(pipeline, { engines, prefix: 'e2e-drain' });
  const queueUrl = drainOnly.provisioned.stages.get('work')?.queueUrl as string;
  const drainPoller = drainOnly.pollers.get('work');
  await drainPoller?.stop();
  const total = 20_000;
  const fillStarted = Date.now();
  const sends = [];
  for (let start = 0; start < total; start += 10) {
    sends.push(
      drainOnly.sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: queueUrl,
          Entries: Array.from({ length: 10 }, (_, index) => ({
            Id: String(index),
            MessageBody: JSON.stringify({ jobId: `j${start + index}`, schemaVersion: 1, data: { n: start + index } }),
          })),
        }),
      ),
    );
    if (sends.length >= 50) await Promise.all(sends.splice(0));
  }
  await Promise.all(sends);
  const fillSeconds = (Date.now() - fillStarted) / 1000;
  await drainOnly.stop();
  const drain = await startLocalPipeline(pipeline, { engines, prefix: 'e2e-drain' });
  const drainStarted = Date.now();
  const drainingPoller = drain.pollers.get('work');
  while ((drainingPoller?.stats.deleted ?? 0) < total && Date.now() - drainStarted < 120_000)
    await new Promise((r) => setTimeout(r, 100));
  const drainSeconds = (Date.now() - drainStarted) / 1000;
  const drained = drainingPoller?.stats.deleted ?? 0;
  const invocations = drain.functions.get('work')?.stats.invocations ?? 0;
  await drain.stop();

  console.log(
    `offered ${OFFERED_PER_SECOND}/s for ${SECONDS} s by \`sluice load\` in its own process (open loop, 256 requests in flight at most), 2 cores\n`,
  );
  console.log('| measurement | jobs | seconds | jobs/s |');
  console.log('| --- | ---: | ---: | ---: |');
  console.log(
    `| accepted through the HTTP ingress (202) | ${stats.accepted} | ${acceptSeconds.toFixed(1)} | ${Math.round(stats.accepted / acceptSeconds)} |`,
  );
  console.log(
    `| completed (deleted after the handler) | ${completed} | ${completeSeconds.toFixed(1)} | ${Math.round(completed / completeSeconds)} |`,
  );
  console.log(
    `| SQS engine alone: SendMessageBatch fill | ${total} | ${fillSeconds.toFixed(1)} | ${Math.round(total / fillSeconds)} |`,
  );
  console.log(
    `| consumer side alone: pollers + runtime drain a full queue | ${drained} | ${drainSeconds.toFixed(1)} | ${Math.round(drained / drainSeconds)} |`,
  );
  console.log(
    `\nrejected: throttled ${stats.throttled}, shed ${stats.shed}, failed ${stats.failed}, dropped by the client ${stats.dropped}; drain used ${invocations} invocations`,
  );
} finally {
  await engines.stop();
}
