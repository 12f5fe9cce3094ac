/**
 * `node bench/dev-memory.ts [--jobs N] [--rate R] [--isolates N]`: the memory of a long-running `sluice dev`.
 *
 * Starts `sluice dev` (the example pipeline, embedded engines) as a child process, offers it N jobs at R a second
 * through the load generator with every accepted job followed to completion (GET /jobs/{id}), as `sluice load --url`
 * does, and reads the dev server's resident set from /proc every 5 s: now (VmRSS) and its peak (VmHWM). DynamoDB Local
 * is a Java process of its own; its RSS is printed apart. Not part of `npm run bench` (it runs for minutes); the
 * figure goes into BENCHMARKS.md. Linux only (/proc).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { freePort } from '../lib/local/engines.ts';
import { localApiKey } from '../lib/local/ingress-server.ts';
import { progressLine, runLoad } from '../lib/local/load-generator.ts';

const { values } = parseArgs({
  options: {
    jobs: { type: 'string', default: '100000' },
    rate: { type: 'string', default: '150' },
    isolates: { type: 'string' },
  },
});
const jobs = Number(values.jobs);
const rate = Number(values.rate);

/** Resident set of a process now and at its peak, in MB (from /proc/PID/status). */
function residentMb(pid: number): { now: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? Number.NaN);
  return { now: Math.round(kb('VmRSS') / 1024), peak: Math.round(kb('VmHWM') / 1024) };
}

/** The Java child (DynamoDB Local) of the dev server, if any. */
function javaChild(pid: number): number | undefined {
  const children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
  return children.map(Number).find((child) => readFileSync(`/proc/${child}/cmdline`, 'utf8').includes('DynamoDBLocal'));
}

const port = await freePort();
const args = [
  'bin/sluice.ts',
  'dev',
  '--port',
  String(port),
  ...(values.isolates ? ['--isolates', values.isolates] : []),
];
const dev: ChildProcess = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
await new Promise<void>((resolve, reject) => {
  let output = '';
  dev.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
    if (output.includes('Ctrl-C stops')) resolve();
  });
  dev.once('exit', (code) => reject(new Error(`sluice dev exited with ${code} before it was ready:\n${output}`)));
});
const pid = dev.pid as number;
const startRss = residentMb(pid);
console.log(`sluice dev (pid ${pid}) ready on port ${port}: RSS ${startRss.now} MB`);

const samples: { jobs: number; rss: number }[] = [];
let completedSoFar = 0;
const sampler = setInterval(() => {
  const rss = residentMb(pid);
  samples.push({ jobs: completedSoFar, rss: rss.now });
}, 5_000);

const apiKey = localApiKey('uploader');
const stats = await runLoad({
  url: `http://127.0.0.1:${port}`,
  phases: [{ ratePerSecond: rate, durationMs: (jobs / rate) * 1000 }],
  maxInFlight: 512,
  drainTimeoutMs: 600_000,
  headers: () => ({ 'x-api-key': apiKey }),
  body: (n) => ({
    documentId: `memory-${n}`,
    source: `https://example.com/documents/${n}.txt`,
    contentType: 'text/plain',
  }),
  onProgress: (progress) => {
    completedSoFar = progress.completed;
    process.stderr.write(`${progressLine(progress)} · dev RSS ${residentMb(pid).now} MB\n`);
  },
});
clearInterval(sampler);
const end = residentMb(pid);
const java = javaChild(pid);
const javaRss = java ? residentMb(java) : undefined;
dev.kill('SIGINT');
await new Promise((resolve) => dev.once('exit', resolve));

const every = Math.max(1, Math.floor(samples.length / 10));
console.log(progressLine(stats));
console.log(
  `RSS by completed jobs: ${samples
    .filter((_, index) => index % every === 0)
    .map((sample) => `${sample.jobs}: ${sample.rss} MB`)
    .join(', ')}`,
);
console.log(
  `sluice dev after ${stats.completed} completed jobs (${stats.accepted} accepted of ${stats.offered} offered): RSS ${end.now} MB, peak ${end.peak} MB (start ${startRss.now} MB)` +
    (javaRss ? `; DynamoDB Local (Java) RSS ${javaRss.now} MB, peak ${javaRss.peak} MB` : ''),
);
