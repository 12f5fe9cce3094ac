/**
 * The consumer runtime against its peers on the same records, interleaved in one process:
 *
 * - sluice's `consumer()` (envelope check, zod 4 compiled schema, per-record outcomes, EMF per batch);
 * - Powertools' `BatchProcessor` with `processPartialResponse`, sequential, the same zod schema in its record handler;
 * - the floor: a bare loop of `JSON.parse` over the bodies.
 *
 * Then the size of a consumer bundle (esbuild, minified, AWS SDK external) and its module init time over an empty
 * script (hyperfine, when installed).
 *
 * npm run bench -- consumer
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { Context, SQSEvent, SQSRecord } from 'aws-lambda';
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

function records(count: number): SQSEvent {
  const Records: SQSRecord[] = [];
  for (let index = 0; index < count; index++) {
    const data = {
      uploadId: `upload-${index}`,
      tenantId: `tenant-${index % 17}`,
      bucket: 'customer-uploads-eu-west-1',
      key: `tenants/tenant-${index % 17}/2026/11/24/uploads/${index}/original-file-name-of-some-length.png`,
      contentType: 'image/png',
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
const processor = new BatchProcessor(EventType.SQS);
const powertoolsRecord = (record: SQSRecord) => {
  const envelope = JSON.parse(record.body) as { data: unknown };
  Upload.parse(envelope.data);
};
let sink = 0;

const implementations: Record<string, (event: SQSEvent) => Promise<unknown>> = {
  sluice: (event) => sluice(event, context),
  powertools: (event) =>
    processPartialResponse(event, powertoolsRecord, processor, { context, processInParallel: false }),
  'JSON.parse floor': async (event) => {
    for (const record of event.Records) sink += (JSON.parse(record.body) as { schemaVersion: number }).schemaVersion;
  },
};

async function measure(): Promise<string[]> {
  const rows = [
    '| records per batch | sluice (µs/record) | Powertools (µs/record) | JSON.parse (µs/record) | sluice ÷ Powertools | sluice ÷ JSON.parse |',
    '| ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const size of [10, 1_000, 5_000]) {
    const event = records(size);
    const rounds = Math.max(20, Math.ceil(200_000 / size));
    const samples: Record<string, number[]> = Object.fromEntries(
      Object.keys(implementations).map((name) => [name, []]),
    );
    const names = Object.keys(implementations);
    for (let round = 0; round < rounds + 5; round++) {
      // Rotate the order each round so no implementation always runs first (warm caches, GC debt).
      for (let offset = 0; offset < names.length; offset++) {
        const name = names[(round + offset) % names.length] as string;
        const started = performance.now();
        await (implementations[name] as (event: SQSEvent) => Promise<unknown>)(event);
        const perRecordUs = ((performance.now() - started) * 1000) / size;
        if (round >= 5) samples[name]?.push(perRecordUs);
      }
    }
    const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] as number;
    const [ours, theirs, floor] = names.map((name) => median(samples[name] as number[])) as [number, number, number];
    rows.push(
      `| ${size} | ${ours.toFixed(2)} | ${theirs.toFixed(2)} | ${floor.toFixed(2)} | ${(ours / theirs).toFixed(2)}× | ${(ours / floor).toFixed(2)}× |`,
    );
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

const rows = await measure();
console.log(rows.join('\n'));
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
