/**
 * The consumer runtime against its peers on the same records, interleaved in one process (CPU time per record, see
 * `medians`):
 *
 * - sluice's `consumer()` (envelope check, zod 4 compiled schema, per-record outcomes, EMF per batch);
 * - Powertools' `BatchProcessor` with `processPartialResponse`, sequential, the same zod schema in its record handler;
 * - the floor: a bare loop of `JSON.parse` over the bodies.
 *
 * Then the failure path, on batches where 1 record in 20 fails validation: sluice dead-letters each one (with its
 * reason, through an SQS client stub that answers at once, so only the runtime's own cost is measured) and logs it;
 * Powertools reports it in `batchItemFailures`.
 *
 * Then the size of a consumer bundle (esbuild, minified, AWS SDK external) and its module init time over an empty
 * script (hyperfine, when installed).
 *
 * npm run bench -- consumer   (SLUICE_BENCH_ONLY=success or =failures runs one table and skips the bundles)
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { build } from 'esbuild';
import * as z from 'zod';
import { consumer } from '../functions/runtime/index.ts';

const Upload = z.strictObject({
  uploadId: z.string().min(1).max(64),
  tenantId: z.string().min(1).max(64),
  bucket: z.string().min(3).max(63),
  key: z.string().min(1).max(512),
  contentType: z.enum(['image/png', 'image/jpeg', 'application/pdf', 'text/plain']),
  sizeBytes: z.int().min(0).max(5_000_000_000),
  checksum: z.string().length(64),
  tags: z.array(z.string().max(32)).max(10),
  uploadedAt: z.string(),
});

/** `count` records; with `invalidEvery`, every `invalidEvery`-th one fails validation (a content type not allowed). */
function records(count: number, invalidEvery = 0): SQSEvent {
  const Records: SQSRecord[] = [];
  for (let index = 0; index < count; index++) {
    const invalid = invalidEvery > 0 && index % invalidEvery === invalidEvery - 1;
    const data = {
      uploadId: `upload-${index}`,
      tenantId: `tenant-${index % 17}`,
      bucket: 'customer-uploads-eu-west-1',
      key: `tenants/tenant-${index % 17}/2026/11/24/uploads/${index}/original-file-name-of-some-length.png`,
      contentType: invalid ? 'image/gif' : 'image/png',
      sizeBytes: 1_048_576 + index,
      checksum: 'a'.repeat(64),
      tags: ['profile', 'avatar', 'public'],
      uploadedAt: '2026-11-24T12:00:00.000Z',
    };
    const body = JSON.stringify({
      jobId: `job-${index}`,
      schemaVersion: 1,
      data,
      correlationId: `corr-${index}`,
      acceptedAt: 1_795_000_000_000,
    });
    Records.push({
      messageId: `m-${index}`,
      receiptHandle: `r-${index}`,
      body,
      attributes: {
        ApproximateReceiveCount: '1',
        SentTimestamp: '0',
        SenderId: 's',
        ApproximateFirstReceiveTimestamp: '0',
      },
      messageAttributes: {},
      md5OfBody: '',
      eventSource: 'aws:sqs',
      eventSourceARN: 'arn:aws:sqs:eu-west-1:000000000000:uploads',
      awsRegion: 'eu-west-1',
    });
  }
  return { Records };
}

const context = { getRemainingTimeInMillis: () => 60_000 } as Context;
const sluice = consumer({ schema: Upload, stage: 'bench', logSink: () => undefined, handler: () => undefined });
/** An SQS client that answers every call at once, as if every entry succeeded. */
const instantSqs = {
  send: async () => ({ Successful: [], Failed: [] }),
} as unknown as SQSClient;
const sluiceWithDeadLetters = consumer({
  schema: Upload,
  stage: 'bench',
  queueUrl: 'https://sqs.eu-west-1.amazonaws.com/000000000000/uploads',
  deadLetterQueueUrl: 'https://sqs.eu-west-1.amazonaws.com/000000000000/uploads-dlq',
  clients: { sqs: instantSqs },
  logSink: () => undefined,
  handler: () => undefined,
});
const processor = new BatchProcessor(EventType.SQS);
const powertoolsRecord = (record: SQSRecord) => {
  const envelope = JSON.parse(record.body) as { data: unknown };
  Upload.parse(envelope.data);
};
let sink = 0;

type Implementation = (event: SQSEvent) => Promise<unknown>;

const powertools: Implementation = (event) =>
  processPartialResponse(event, powertoolsRecord, processor, { context, processInParallel: false });
const floor: Implementation = async (event) => {
  for (const record of event.Records) sink += (JSON.parse(record.body) as { schemaVersion: number }).schemaVersion;
};

/**
 * Median CPU µs per record of each implementation, interleaved with the order rotated each round. CPU time of the
 * process (user + system, GC threads included) rather than wall time: the benchmark machine is shared, and time spent
 * descheduled would land on whichever implementation was running. Each sample runs enough batches for ≥ 2,000 records.
 */
async function medians(
  implementations: Record<string, Implementation>,
  event: SQSEvent,
): Promise<Record<string, number>> {
  const size = event.Records.length;
  const repeats = Math.max(1, Math.ceil(2_000 / size));
  const rounds = Math.max(20, Math.ceil(200_000 / (size * repeats)));
  const names = Object.keys(implementations);
  const samples: Record<string, number[]> = Object.fromEntries(names.map((name) => [name, []]));
  for (let round = 0; round < rounds + 5; round++) {
    // Rotate the order each round so no implementation always runs first (warm caches, GC debt).
    for (let offset = 0; offset < names.length; offset++) {
      const name = names[(round + offset) % names.length] as string;
      const implementation = implementations[name] as Implementation;
      const started = process.cpuUsage();
      for (let repeat = 0; repeat < repeats; repeat++) await implementation(event);
      const used = process.cpuUsage(started);
      if (round >= 5) samples[name]?.push((used.user + used.system) / (size * repeats));
    }
  }
  const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] as number;
  return Object.fromEntries(names.map((name) => [name, median(samples[name] as number[])]));
}

async function measure(): Promise<string[]> {
  const rows = [
    '| records per batch | sluice (CPU µs/record) | Powertools (CPU µs/record) | JSON.parse (CPU µs/record) | sluice ÷ Powertools | sluice ÷ JSON.parse |',
    '| ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const size of [10, 1_000, 5_000]) {
    const result = await medians({ sluice: (event) => sluice(event, context), powertools, floor }, records(size));
    const [ours, theirs, base] = [result.sluice, result.powertools, result.floor] as [number, number, number];
    rows.push(
      `| ${size} | ${ours.toFixed(2)} | ${theirs.toFixed(2)} | ${base.toFixed(2)} | ${(ours / theirs).toFixed(2)}× | ${(ours / base).toFixed(2)}× |`,
    );
  }
  return rows;
}

async function measureFailures(): Promise<string[]> {
  const rows = [
    '| records per batch (1 in 20 invalid) | sluice (CPU µs/record) | Powertools (CPU µs/record) | sluice ÷ Powertools |',
    '| ---: | ---: | ---: | ---: |',
  ];
  for (const size of [20, 1_000, 5_000]) {
    const event = records(size, 20);
    // Both must report what they were built to: sluice parks every invalid record, Powertools reports each one.
    const ours = (await sluiceWithDeadLetters(event, context)) as SQSBatchResponse;
    const theirs = (await powertools(event)) as SQSBatchResponse;
    if (ours.batchItemFailures.length !== 0 || theirs.batchItemFailures.length !== size / 20) {
      throw new Error(
        `unexpected outcomes: sluice ${ours.batchItemFailures.length}, Powertools ${theirs.batchItemFailures.length}`,
      );
    }
    const result = await medians({ sluice: (batch) => sluiceWithDeadLetters(batch, context), powertools }, event);
    const [a, b] = [result.sluice, result.powertools] as [number, number];
    rows.push(`| ${size} | ${a.toFixed(2)} | ${b.toFixed(2)} | ${(a / b).toFixed(2)}× |`);
  }
  return rows;
}

async function bundle(entry: string): Promise<{ bytes: number; file: string }> {
  const outdir = mkdtempSync(join(tmpdir(), 'sluice-consumer-bundle-'));
  const file = join(outdir, 'index.mjs');
  await build({
    entryPoints: [entry],
    bundle: true,
    minify: true,
    platform: 'node',
    format: 'esm',
    target: 'node24',
    external: ['@aws-sdk/*'],
    outfile: file,
    logLevel: 'silent',
  });
  return { bytes: statSync(file).size, file };
}

function initMs(file: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-init-'));
  const empty = join(dir, 'empty.mjs');
  const loader = join(dir, 'load.mjs');
  writeFileSync(empty, '');
  writeFileSync(loader, `await import(${JSON.stringify(file)});`);
  const json = join(dir, 'hyperfine.json');
  const result = spawnSync(
    'hyperfine',
    [
      '--warmup',
      '3',
      '--runs',
      '30',
      '--export-json',
      json,
      '-N',
      `${process.execPath} ${empty}`,
      `${process.execPath} ${loader}`,
    ],
    { encoding: 'utf8' },
  );
  if (result.status !== 0) {
    return 'hyperfine not installed (apt-get install hyperfine)';
  }
  const { results } = JSON.parse(readFileSync(json, 'utf8')) as { results: { median: number }[] };
  const [base, loaded] = results.map((entry) => entry.median * 1000) as [number, number];
  return `${(loaded - base).toFixed(1)} ms over an empty script (${loaded.toFixed(1)} ms vs ${base.toFixed(1)} ms, hyperfine medians of 30 runs)`;
}

const only = process.env.SLUICE_BENCH_ONLY;
if (only !== 'failures') console.log((await measure()).join('\n'));
if (only !== 'success') {
  console.log(
    '\nfailure path: 1 record in 20 fails validation (sluice dead-letters it through an instant SQS stub):\n',
  );
  console.log((await measureFailures()).join('\n'));
}
if (only !== undefined) process.exit(0);
console.log(
  '\nconsumer bundles (esbuild, minified, ESM, AWS SDK external) and their module init over an empty script:\n',
);
for (const [label, entry] of [
  ['example embed stage (zod/mini schema)', 'functions/examples/embed-chunks.ts'],
  ['example extract stage (zod/mini schema, forwards)', 'functions/examples/extract-document.ts'],
  ['minimal consumer, zod/mini schema', 'bench/fixtures/mini-consumer.ts'],
  ['minimal consumer, classic zod schema', 'bench/fixtures/classic-consumer.ts'],
]) {
  const { bytes, file } = await bundle(entry as string);
  console.log(`- ${label} (${entry}): ${(bytes / 1024).toFixed(1)} KB; init ${initMs(file)}`);
}
if (sink < 0) console.log(sink);
