import { readFile } from 'node:fs/promises';
import { type LoadStats, progressLine, runLoad } from '../local/load-generator.ts';
import { startLocalPipeline } from '../local/local-pipeline.ts';
import { defineCommand } from './command.ts';
import { CliError, UsageError } from './errors.ts';
import { loadDefinition } from './load-definition.ts';

/** The placeholder a `--body` template carries for the request's counter (0, 1, 2, …). */
export const COUNTER_PLACEHOLDER = '{{n}}';

/** The example pipeline's job: what `sluice dev` without --pipeline accepts. */
const exampleBody = (n: number) => ({
  documentId: `load-${n}`,
  source: `https://example.com/documents/${n}.txt`,
  contentType: 'text/plain',
});

/**
 * `sluice load`: open-loop load on an ingress (a running `sluice dev`, a deployed IngestApi, or, without --url, a
 * pipeline started for the run).
 */
export const loadCommand = defineCommand({
  name: 'load',
  summary: 'open-loop load on an ingress, following accepted jobs to completion',
  description: [
    'Requests leave on a fixed schedule whether or not earlier ones were answered, as real producers do. The live line',
    'counts offered, accepted, throttled (429), shed (503), other 4xx, 5xx, network errors, and dropped: offered while',
    '--max-in-flight requests were outstanding, so never sent (the generator fell behind, not the target).',
    'Without --url it starts the pipeline for the run. Exits 1 when nothing was accepted.',
  ].join('\n'),
  options: {
    rate: { type: 'string', value: 'R', description: 'requests per second to offer', required: true },
    duration: { type: 'string', value: 'SECONDS', description: 'how long to offer them', required: true },
    url: {
      type: 'string',
      value: 'URL',
      description: 'base URL of the ingress (POST URL/jobs); a running sluice dev or a deployed IngestApi',
      default: 'a pipeline started for the run',
    },
    body: {
      type: 'string',
      value: 'FILE',
      description: `a JSON template of the request body, e.g. {"orderId":"order-${COUNTER_PLACEHOLDER}"}; every ${COUNTER_PLACEHOLDER} becomes the request's counter (0, 1, 2, …)`,
      default: "the example pipeline's document job",
    },
    pipeline: {
      type: 'string',
      value: 'MODULE',
      description: "without --url: the module exporting 'pipeline' to start for the run",
      default: 'the example pipeline',
    },
    'api-key': {
      type: 'string',
      value: 'KEY',
      description: 'x-api-key header, for an ingress with clients',
      default: "the started pipeline's first client's key",
    },
    'max-in-flight': {
      type: 'string',
      value: 'N',
      description: 'requests outstanding at most; arrivals beyond it count as dropped',
      default: '512',
    },
    'no-follow': {
      type: 'boolean',
      description:
        "do not follow accepted jobs through GET /jobs/{id} (the line then shows no completions: 'not followed')",
    },
    json: { type: 'boolean', description: 'print the final counts as JSON on stdout' },
  },
  examples: [
    'sluice load --rate 20 --duration 10',
    'sluice load --url http://localhost:8080 --rate 20 --duration 30 --body job.json',
  ],
  run: load,
});

async function load(values: {
  rate: string | undefined;
  duration: string | undefined;
  url: string | undefined;
  body: string | undefined;
  pipeline: string | undefined;
  'api-key': string | undefined;
  'max-in-flight': string | undefined;
  'no-follow': boolean;
  json: boolean;
}): Promise<void> {
  const rate = positive('--rate', values.rate, 100_000);
  const durationSeconds = positive('--duration', values.duration, 86_400);
  const maxInFlight =
    values['max-in-flight'] === undefined ? 512 : positive('--max-in-flight', values['max-in-flight'], 100_000);
  if (values.url !== undefined && !/^https?:\/\/[^/]/.test(values.url)) {
    throw new UsageError(
      `--url must be an http(s) URL such as http://localhost:8080, but '${values.url}' was provided`,
    );
  }
  if (values.url !== undefined && values.pipeline !== undefined) {
    throw new UsageError('--pipeline starts a pipeline for the run and --url targets a running one: pass one of them');
  }
  const body = values.body === undefined ? undefined : await readTemplate(values.body);
  if (body === undefined && values.pipeline !== undefined) {
    throw new UsageError(`--pipeline ${values.pipeline} needs --body FILE: a JSON job its schema accepts`);
  }
  const definition = values.url ? undefined : await loadDefinition(values.pipeline);
  const local = definition
    ? await startLocalPipeline(definition.pipeline, {
        ...(definition.acceptSchema ? { acceptSchema: definition.acceptSchema } : {}),
      })
    : undefined;
  const url = (values.url ?? local?.ingress.url ?? '').replace(/\/+$/, '');
  // A pipeline started for the run hands out its first client's key when its ingress requires keys.
  const apiKey = values['api-key'] ?? (local ? Object.values(local.ingress.apiKeys)[0] : undefined);
  const tty = process.stderr.isTTY;
  let stats: LoadStats;
  try {
    stats = await runLoad({
      url,
      phases: [{ ratePerSecond: rate, durationMs: durationSeconds * 1000 }],
      maxInFlight,
      follow: !values['no-follow'],
      ...(apiKey ? { headers: () => ({ 'x-api-key': apiKey }) } : {}),
      body: body ?? exampleBody,
      onProgress: (progress) =>
        process.stderr.write(tty ? `\r${progressLine(progress)}\x1b[K` : `${progressLine(progress)}\n`),
    });
    if (tty) process.stderr.write('\n');
    console.log(values.json ? JSON.stringify(stats) : progressLine(stats));
  } finally {
    await local?.stop();
  }
  if (stats.accepted === 0 && stats.offered > 0) {
    throw new CliError(nothingAccepted(stats, url));
  }
}

/** Why nothing was accepted, and what to try. */
function nothingAccepted(stats: LoadStats, url: string): string {
  const first = stats.firstError ? ` (first: ${stats.firstError})` : '';
  if (stats.networkErrors > 0 && stats.networkErrors === stats.failed) {
    return `nothing was accepted: ${url} did not answer${first}; check that the ingress runs there`;
  }
  if (stats.clientErrors > 0) {
    return `nothing was accepted: ${stats.clientErrors} answers were 4xx${first}; check --body against the target's schema, --api-key and --url`;
  }
  if (stats.serverErrors > 0) {
    return `nothing was accepted: ${stats.serverErrors} answers were 5xx${first}; the target failed, see its logs`;
  }
  return `nothing was accepted: ${stats.throttled} throttled, ${stats.shed} shed, ${stats.dropped} dropped; lower --rate`;
}

/** Reads a `--body` template and checks that it is JSON once the counter is filled in. */
async function readTemplate(path: string): Promise<(n: number) => unknown> {
  let template: string;
  try {
    template = await readFile(path, 'utf8');
  } catch (error) {
    throw new UsageError(`--body ${path} cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})`, {
      cause: error,
    });
  }
  const fill = (n: number) => JSON.parse(template.replaceAll(COUNTER_PLACEHOLDER, String(n))) as unknown;
  try {
    fill(0);
  } catch (error) {
    throw new UsageError(
      `--body ${path} is not JSON once ${COUNTER_PLACEHOLDER} is replaced by a number: ${(error as Error).message}`,
      { cause: error },
    );
  }
  return fill;
}

function positive(flag: string, value: string | undefined, max: number): number {
  const number = Number(value);
  if (value === undefined || !Number.isFinite(number) || number <= 0 || number > max) {
    throw new UsageError(
      `${flag} must be a number above 0 and at most ${max}, but ${value === undefined ? 'nothing' : `'${value}'`} was provided`,
    );
  }
  return number;
}
