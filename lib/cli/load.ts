import { parseArgs } from 'node:util';
import { progressLine, runLoad } from '../local/load-generator.ts';
import { startLocalPipeline } from '../local/local-pipeline.ts';
import { UsageError } from './errors.ts';
import { loadDefinition } from './load-definition.ts';

/**
 * `sluice load --rate R --duration D [--url U] [--api-key K] [--json]`: open-loop load on an ingress (a running `sluice dev`, a
 * deployed IngestApi, or, without --url, a pipeline started for the run).
 */
export async function load(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      rate: { type: 'string' },
      duration: { type: 'string' },
      url: { type: 'string' },
      pipeline: { type: 'string' },
      json: { type: 'boolean', default: false },
      'max-in-flight': { type: 'string' },
      'no-follow': { type: 'boolean', default: false },
      'api-key': { type: 'string' },
    },
    strict: true,
  });
  const rate = positive('--rate', values.rate, 100_000);
  const durationSeconds = positive('--duration', values.duration, 86_400);
  const maxInFlight =
    values['max-in-flight'] === undefined ? 512 : positive('--max-in-flight', values['max-in-flight'], 100_000);
  const definition = values.url ? undefined : await loadDefinition(values.pipeline);
  const local = definition
    ? await startLocalPipeline(definition.pipeline, {
        ...(definition.acceptSchema ? { acceptSchema: definition.acceptSchema } : {}),
      })
    : undefined;
  const url = values.url ?? (local?.ingress.url as string);
  // A pipeline started for the run hands out its first client's key when its ingress requires keys.
  const apiKey = values['api-key'] ?? (local ? Object.values(local.ingress.apiKeys)[0] : undefined);
  const tty = process.stderr.isTTY;
  try {
    const stats = await runLoad({
      url,
      phases: [{ ratePerSecond: rate, durationMs: durationSeconds * 1000 }],
      maxInFlight,
      follow: !values['no-follow'],
      ...(apiKey ? { headers: () => ({ 'x-api-key': apiKey }) } : {}),
      body: (n) =>
        values.pipeline || values.url
          ? { n }
          : { documentId: `load-${n}`, source: `https://example.com/documents/${n}.txt`, contentType: 'text/plain' },
      onProgress: (progress) =>
        process.stderr.write(tty ? `\r${progressLine(progress)}\x1b[K` : `${progressLine(progress)}\n`),
    });
    if (tty) process.stderr.write('\n');
    console.log(values.json ? JSON.stringify(stats) : progressLine(stats));
  } finally {
    await local?.stop();
  }
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
