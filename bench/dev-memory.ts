/**
 * `node bench/dev-memory.ts [--jobs N] [--rate R] [--isolates N] [--light | --embeddings-per-minute N] [--uncapped]`:
 * the memory of a long-running `sluice dev`.
 *
 * Starts `sluice dev` as a child process with the Node flags of `npm start` (the heap caps in package.json), offers it
 * N jobs at R a second through the load generator, and reads the dev server's resident set from /proc every 5 s: now
 * (VmRSS) and its peak (VmHWM). DynamoDB Local is a Java process of its own; its RSS is printed apart.
 *
 * - default: the example pipeline, every accepted job followed to completion (GET /jobs/{id}) as `sluice load --url`
 *   does; on a shared 2-core machine this completes 10–20 jobs a second.
 * - `--uncapped`: without the Node flags of `npm start` (V8's default heap sizes), for comparison.
 * - `--light`: `bench/dev-memory-pipeline.ts` (one stage, 1 ms of work a job, no job table), jobs not followed; the
 *   run ends when the dashboard shows the stage's queue empty, and completed = accepted − dead-lettered.
 * - `--embeddings-per-minute N`: the example pipeline through `sluice dev --pipeline bench/dev-memory-example.ts` (the
 *   same stages, handlers and tables, with the stand-in embedding service and embed's limiter at N texts a minute
 *   instead of 3,000), jobs not followed; the run ends when every stage's queue is empty.
 *
 * `--max-open N` (with jobs not followed): offers the jobs in 30 s rounds and starts a round only while at most N
 * messages are queued or in flight in all stages, so a machine slower than `--rate` does not turn the run into a
 * measure of a growing backlog (messages held by the embedded SQS engine, in the dev process). With it,
 * `--max-seconds S` starts no round after S seconds.
 *
 * `--isolates N` is passed to `sluice dev` (0: a worker thread per execution environment; default: one worker thread
 * shared by every function). RSS is printed at every 10,000 jobs.
 *
 * Not part of `npm run bench` (it runs for minutes); the figure goes into BENCHMARKS.md. Linux only (/proc).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { freePort } from '../lib/local/engines.ts';
import { localApiKey } from '../lib/local/ingress-server.ts';
import { type LoadStats, progressLine, runLoad } from '../lib/local/load-generator.ts';

const { values } = parseArgs({
  options: {
    jobs: { type: 'string', default: '100000' },
    rate: { type: 'string', default: '150' },
    isolates: { type: 'string' },
    light: { type: 'boolean', default: false },
    'embeddings-per-minute': { type: 'string' },
    'max-open': { type: 'string' },
    'max-seconds': { type: 'string' },
    uncapped: { type: 'boolean', default: false },
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

/** The Node flags `npm start` runs `sluice dev` with (the heap caps), so the bench measures what users run. */
function startFlags(): string[] {
  const scripts = (JSON.parse(readFileSync('package.json', 'utf8')) as { scripts: Record<string, string> }).scripts;
  return (scripts.start ?? '').split(/\s+/).filter((word) => word.startsWith('--'));
}

const light = values.light ?? false;
const scaledExample = values['embeddings-per-minute'];
/** Jobs are not followed: the run waits for the queues to empty instead. */
const unfollowed = light || scaledExample !== undefined;
const port = await freePort();
// --uncapped: plain `node bin/sluice.ts dev`, V8's default heap sizes, for comparison.
const flags = values.uncapped ? [] : startFlags();
const args = [
  ...flags,
  'bin/sluice.ts',
  'dev',
  '--port',
  String(port),
  ...(values.isolates ? ['--isolates', values.isolates] : []),
  ...(light ? ['--pipeline', 'bench/dev-memory-pipeline.ts'] : []),
  ...(scaledExample !== undefined ? ['--pipeline', 'bench/dev-memory-example.ts'] : []),
];
const dev: ChildProcess = spawn(process.execPath, args, {
  stdio: ['ignore', 'pipe', 'inherit'],
  env: light
    ? { ...process.env, SLUICE_DEMO_WORK_MS: '1' }
    : scaledExample !== undefined
      ? { ...process.env, DEV_MEMORY_EMBEDDINGS_PER_MINUTE: scaledExample }
      : process.env,
});
let devOutput = '';
await new Promise<void>((resolve, reject) => {
  dev.stdout?.on('data', (chunk: Buffer) => {
    devOutput += chunk.toString();
    if (devOutput.includes('Ctrl-C stops')) resolve();
  });
  dev.once('exit', (code) => reject(new Error(`sluice dev exited with ${code} before it was ready:\n${devOutput}`)));
});
const pid = dev.pid as number;
const startRss = residentMb(pid);
console.log(`sluice dev (pid ${pid}, node ${flags.join(' ')}) ready on port ${port}: RSS ${startRss.now} MB`);
const dashboardUrl = /dashboard\s+(\S+)\/dashboard/.exec(devOutput)?.[1];

/** Messages of every stage still queued or in flight, and dead-lettered, from the dashboard's last sample. */
async function backlog(): Promise<{ open: number; deadLettered: number }> {
  const metrics = (await (await fetch(`${dashboardUrl}/dashboard/metrics`)).json()) as {
    consumers: Record<string, { depth: number; inFlight: number; deadLettered: number }[]>;
  };
  let open = 0;
  let deadLettered = 0;
  for (const samples of Object.values(metrics.consumers)) {
    const last = samples.at(-1);
    if (!last) return { open: Number.POSITIVE_INFINITY, deadLettered: 0 };
    open += last.depth + last.inFlight;
    deadLettered += last.deadLettered;
  }
  return { open, deadLettered };
}

const samples: { jobs: number; rss: number; open: number; seconds: number }[] = [];
const startedAt = Date.now();
let completedSoFar = 0;
let openSoFar = 0;
const sampler = setInterval(() => {
  const rss = residentMb(pid);
  const sample = {
    jobs: completedSoFar,
    rss: rss.now,
    open: openSoFar,
    seconds: Math.round((Date.now() - startedAt) / 1000),
  };
  // Every 10,000 jobs as it happens, so a run stopped early still says what it measured.
  if (Math.floor(sample.jobs / 10_000) > Math.floor((samples.at(-1)?.jobs ?? 0) / 10_000)) {
    console.log(
      `  at ${sample.seconds} s: ${sample.jobs} jobs, RSS ${sample.rss} MB (peak ${rss.peak} MB), ${sample.open} messages open`,
    );
  }
  samples.push(sample);
  if (unfollowed) {
    backlog()
      .then((now) => {
        openSoFar = now.open;
      })
      .catch(() => undefined);
  }
}, 5_000);

const apiKey = localApiKey('uploader');
const maxOpen = values['max-open'] === undefined ? undefined : Number(values['max-open']);
/** Offers `count` jobs numbered from `first`. */
function offer(first: number, count: number): Promise<LoadStats> {
  return runLoad({
    url: `http://127.0.0.1:${port}`,
    phases: [{ ratePerSecond: rate, durationMs: (count / rate) * 1000 }],
    maxInFlight: 512,
    drainTimeoutMs: 600_000,
    follow: !unfollowed,
    headers: () => ({ 'x-api-key': apiKey }),
    body: (n) =>
      light
        ? { n: first + n }
        : {
            documentId: `memory-${first + n}`,
            source: `https://example.com/documents/${first + n}.txt`,
            contentType: 'text/plain',
          },
    onProgress: (progress) => {
      completedSoFar = unfollowed ? acceptedBefore + progress.accepted : progress.completed;
      process.stderr.write(
        `${progressLine(progress)} · dev RSS ${residentMb(pid).now} MB${unfollowed ? ` · jobs accepted ${completedSoFar} · open messages ${openSoFar}` : ''}\n`,
      );
    },
  });
}
let acceptedBefore = 0;
let stats: LoadStats;
if (maxOpen === undefined || !unfollowed) {
  stats = await offer(0, jobs);
} else {
  const round = rate * 30;
  let offered = 0;
  let total: LoadStats | undefined;
  const until = startedAt + Number(values['max-seconds'] ?? Number.POSITIVE_INFINITY) * 1000;
  while (offered < jobs && Date.now() < until) {
    while ((await backlog()).open > maxOpen) await sleep(2_000);
    const count = Math.min(round, jobs - offered);
    const part = await offer(offered, count);
    offered += count;
    acceptedBefore += part.accepted;
    total = total ? sumOf(total, part) : part;
  }
  stats = total as LoadStats;
}

/** Two rounds' counts added up (the latencies and in-flight figures are the last round's). */
function sumOf(a: LoadStats, b: LoadStats): LoadStats {
  const sum: LoadStats = { ...b };
  for (const key of Object.keys(a) as (keyof LoadStats)[]) {
    const [left, right] = [a[key], b[key]];
    if (
      typeof left === 'number' &&
      typeof right === 'number' &&
      !key.startsWith('latency') &&
      key !== 'inFlightRequests'
    ) {
      (sum as unknown as Record<string, number>)[key] = left + right;
    }
  }
  sum.firstError = a.firstError ?? b.firstError;
  return sum;
}
if (unfollowed) {
  // Accepted jobs are in the queues until the last stage deletes them: wait for every queue to empty (at most 10
  // minutes), seen empty twice in a row (a message between two stages is briefly in neither's count).
  const until = Date.now() + 600_000;
  let emptyTimes = 0;
  for (;;) {
    const now = await backlog();
    emptyTimes = now.open === 0 ? emptyTimes + 1 : 0;
    process.stderr.write(`open messages ${now.open} · dev RSS ${residentMb(pid).now} MB\n`);
    if (emptyTimes >= 2 || Date.now() > until) {
      // Messages dead-lettered (in the light pipeline, one per job).
      stats.deadLettered = now.deadLettered;
      stats.completed = now.open === 0 ? stats.accepted - (light ? now.deadLettered : 0) : 0;
      completedSoFar = stats.accepted;
      openSoFar = now.open;
      break;
    }
    await sleep(2_000);
  }
  samples.push({
    jobs: completedSoFar,
    rss: residentMb(pid).now,
    open: openSoFar,
    seconds: Math.round((Date.now() - startedAt) / 1000),
  });
}
clearInterval(sampler);
const end = residentMb(pid);
const java = javaChild(pid);
const javaRss = java ? residentMb(java) : undefined;
dev.kill('SIGINT');
await new Promise((resolve) => dev.once('exit', resolve));

console.log(progressLine(stats));
// The first sample at or past every 10,000 jobs, and the last.
const milestones = samples.filter(
  (sample, index) =>
    index === samples.length - 1 ||
    Math.floor(sample.jobs / 10_000) > Math.floor((samples[index - 1]?.jobs ?? -1) / 10_000),
);
console.log(`RSS by ${unfollowed ? 'accepted' : 'completed'} jobs (seconds, jobs, RSS, messages open):`);
for (const sample of milestones) {
  console.log(`  ${sample.seconds} s  ${sample.jobs}  ${sample.rss} MB${unfollowed ? `  ${sample.open}` : ''}`);
}
console.log(
  `sluice dev after ${stats.completed} completed jobs (${stats.accepted} accepted of ${stats.offered} offered): RSS ${end.now} MB, peak ${end.peak} MB (start ${startRss.now} MB)` +
    (javaRss ? `; DynamoDB Local (Java) RSS ${javaRss.now} MB, peak ${javaRss.peak} MB` : ''),
);
