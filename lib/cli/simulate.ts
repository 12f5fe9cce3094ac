import { readFileSync } from 'node:fs';
import type { Pipeline } from '../definition/index.ts';
import { demoPipeline } from '../local/demo.ts';
import {
  type ArrivalProfile,
  demoProfile,
  formatReport,
  parseProfile,
  reportOf,
  type Scenario,
  SimulationError,
  type StageBehaviour,
  simulate,
  writeOutputs,
} from '../sim/index.ts';
import { defineCommand } from './command.ts';
import { UsageError } from './errors.ts';
import { loadDefinition } from './load-definition.ts';

/**
 * What `sluice demo` runs (lib/local/demo.ts): its defaults (age SLO 20 s, depth limit 480) and the local ingress it
 * starts (throttle 10,000/s with a burst of 10,000, depth cache 0.05 s).
 */
export const DEMO = {
  ageSloSeconds: 20,
  depthLimit: 480,
  throttle: { rateLimitPerSecond: 10_000, burstLimit: 10_000 },
  depthCacheTtlSeconds: 0.05,
} as const;

/** The example pipeline's fan-out: chunks per document, unless --stages says otherwise. */
const EXAMPLE_FAN_OUT = { stage: 'chunk', fanOut: 3 } as const;

/** `sluice simulate`: the capacity simulator on the example pipeline or a module's. */
export const simulateCommand = defineCommand({
  name: 'simulate',
  summary: 'predict the deployed pipeline under load: depths, ages, rejections, cost per million jobs, advice',
  description: [
    'A discrete-time model of the deployed topology driven by the pipeline definition: API Gateway throttles and',
    "quotas, the authorizer's cached depth check, SQS queues (visibility, receive counts, DLQs), Lambda's SQS scaling",
    '(5 batches, +300 a minute, up to MaximumConcurrency and reserved concurrency), batching, retries with backoff,',
    'stage-to-stage deferral, breakers, the valve, downstream limiters and tenant caps. Jobs are counted per tick,',
    'so the rate does not change the run time. Prints a summary, the cost and recommendations; --out writes the',
    'time series (series.json, report.json) and SVG charts.',
    '',
    "--stages takes 'NAME:key=value,…;NAME:…' (NAME * for every stage) with keys recordMs, distribution",
    '(fixed|exponential|lognormal), cv, failure (transient share), permanent, fanOut, outage (START+LENGTH seconds).',
    'On the example pipeline the chunk stage forwards 3 chunks a document unless --stages sets its fanOut.',
  ].join('\n'),
  options: {
    rate: { type: 'string', value: 'R', description: 'offered requests per second (the peak, for ramp/burst)' },
    duration: { type: 'string', value: 'SECONDS', description: 'seconds of arrivals', default: '600' },
    profile: {
      type: 'string',
      value: 'SPEC',
      description:
        'constant, ramp[:from=R], burst[:base=R,start=S,length=S], diurnal[:amplitude=A,period=S], csv:FILE, demo[:overload=S]',
      default: 'constant',
    },
    pipeline: {
      type: 'string',
      value: 'MODULE',
      description: "a module exporting 'pipeline', or 'demo' for the sluice demo's pipeline and ingress",
      default: 'the example pipeline',
    },
    stages: { type: 'string', value: 'SPEC', description: 'per-stage behaviour (see above)' },
    clients: { type: 'string', value: 'NAME=SHARE,…', description: 'traffic share per API key', default: 'equal' },
    'low-share': { type: 'string', value: 'F', description: 'share of low-priority requests, 0 to 1', default: '0' },
    'hot-tenant-share': {
      type: 'string',
      value: 'F',
      description: "share of the busiest tenant's traffic (per-tenant caps), 0 to 1",
      default: '0',
    },
    'message-bytes': { type: 'string', value: 'N', description: 'size of one message body', default: '1024' },
    'tick-ms': { type: 'string', value: 'MS', description: 'length of one model step', default: '10' },
    'max-drain': {
      type: 'string',
      value: 'SECONDS',
      description: 'after the arrivals, simulate until empty, at most this long',
      default: '3600',
    },
    'no-backpressure': {
      type: 'boolean',
      description: 'turn the depth check off (admit everything the throttles let in)',
    },
    json: { type: 'boolean', description: 'print summary, cost and recommendations as JSON' },
    out: { type: 'string', value: 'DIR', description: 'write series.json, report.json and SVG charts here' },
  },
  examples: [
    'sluice simulate --rate 100000 --duration 600 --json',
    'sluice simulate --rate 2000 --profile burst:start=60,length=30 --out sim-out',
    "sluice simulate --rate 300 --stages 'embed:failure=0.02,outage=120+60' --out sim-out",
    'sluice simulate --pipeline demo --profile demo:overload=60 --duration 120',
  ],
  run: simulateRun,
});

type Values = {
  rate: string | undefined;
  duration: string | undefined;
  profile: string | undefined;
  pipeline: string | undefined;
  stages: string | undefined;
  clients: string | undefined;
  'low-share': string | undefined;
  'hot-tenant-share': string | undefined;
  'message-bytes': string | undefined;
  'tick-ms': string | undefined;
  'max-drain': string | undefined;
  'no-backpressure': boolean;
  json: boolean;
  out: string | undefined;
};

async function simulateRun(values: Values): Promise<void> {
  const demo = values.pipeline === 'demo';
  const pipeline: Pipeline = demo
    ? demoPipeline(DEMO.ageSloSeconds, DEMO.depthLimit)
    : (await loadDefinition(values.pipeline)).pipeline;
  const durationSeconds = number('--duration', values.duration ?? '600', 0.01, 30 * 86_400);
  const profileSpec = values.profile ?? 'constant';
  let profile: ArrivalProfile;
  if (profileSpec === 'demo' || profileSpec.startsWith('demo:')) {
    const overload = /^demo:overload=(.+)$/.exec(profileSpec)?.[1];
    if (profileSpec !== 'demo' && overload === undefined) {
      throw new UsageError(`--profile demo takes overload=SECONDS, but '${profileSpec}' was provided`);
    }
    const accept = pipeline.stages.find(
      (stage) => stage.name === (pipeline.ingress?.stage ?? pipeline.stages[0]?.name),
    );
    profile = demoProfile(
      accept?.flow.drainRatePerSecond ?? 1,
      overload === undefined ? 60 : number('--profile demo:overload', overload, 1, 86_400),
    );
  } else {
    if (values.rate === undefined && !profileSpec.startsWith('csv:')) {
      throw new UsageError(`--rate is required with --profile ${profileSpec}: the offered requests per second`);
    }
    const rate = values.rate === undefined ? 0 : number('--rate', values.rate, 0, 10_000_000);
    try {
      profile = parseProfile(profileSpec, rate, durationSeconds, (path) => readFileSync(path, 'utf8'));
    } catch (error) {
      throw new UsageError((error as Error).message, { cause: error });
    }
  }
  const { defaultStage, stages } = parseStages(values.stages);
  // The example's chunk stage splits a document into two to four chunks (lib/example/pipeline.ts): three on average.
  const chunk = pipeline.stages.find((candidate) => candidate.name === EXAMPLE_FAN_OUT.stage);
  if (
    values.pipeline === undefined &&
    chunk &&
    stages[chunk.name]?.fanOut === undefined &&
    defaultStage?.fanOut === undefined
  ) {
    stages[chunk.name] = { ...stages[chunk.name], fanOut: EXAMPLE_FAN_OUT.fanOut };
  }
  const scenario: Scenario = {
    profile,
    durationSeconds,
    tickSeconds: number('--tick-ms', values['tick-ms'] ?? '10', 1, 10_000) / 1000,
    maxDrainSeconds: number('--max-drain', values['max-drain'] ?? '3600', 0, 30 * 86_400),
    messageBytes: number('--message-bytes', values['message-bytes'] ?? '1024', 1, 1024 * 1024),
    lowPriorityShare: number('--low-share', values['low-share'] ?? '0', 0, 1),
    hotTenantShare: number('--hot-tenant-share', values['hot-tenant-share'] ?? '0', 0, 1),
    backpressure: !values['no-backpressure'],
    ...(values.clients ? { clientShares: parseShares(values.clients) } : {}),
    ...(demo ? { throttle: DEMO.throttle, depthCacheTtlSeconds: DEMO.depthCacheTtlSeconds } : {}),
    ...(defaultStage ? { defaultStage } : {}),
    stages,
  };
  let result: ReturnType<typeof simulate>;
  try {
    result = simulate(pipeline, scenario);
  } catch (error) {
    if (error instanceof SimulationError) throw new UsageError(error.message, { cause: error });
    throw error;
  }
  const report = reportOf(pipeline, result);
  if (values.out) {
    const written = writeOutputs(values.out, result, report);
    console.error(`sluice simulate: wrote ${written.join(', ')}`);
  }
  console.log(values.json ? JSON.stringify(report, null, 2) : formatReport(report));
}

function number(flag: string, raw: string, min: number, max: number): number {
  const value = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(value) || value < min || value > max) {
    throw new UsageError(`${flag} must be a number between ${min} and ${max}, but '${raw}' was provided`);
  }
  return value;
}

function parseShares(text: string): Record<string, number> {
  const shares: Record<string, number> = {};
  for (const pair of text.split(',')) {
    const [name, raw] = pair.split('=');
    if (!name || raw === undefined) {
      throw new UsageError(`--clients takes NAME=SHARE pairs separated by commas, but '${pair}' was provided`);
    }
    shares[name.trim()] = number(`--clients ${name}`, raw, 0, 1e9);
  }
  return shares;
}

const STAGE_KEYS = ['recordMs', 'distribution', 'cv', 'failure', 'permanent', 'fanOut', 'outage'] as const;

/** `--stages 'embed:failure=0.01,outage=60+30;*:distribution=lognormal'` as behaviours. */
export function parseStages(text: string | undefined): {
  defaultStage?: StageBehaviour;
  stages: Record<string, StageBehaviour>;
} {
  const stages: Record<string, StageBehaviour> = {};
  let defaultStage: StageBehaviour | undefined;
  if (!text) return { stages };
  for (const entry of text.split(';')) {
    const at = entry.indexOf(':');
    if (at <= 0) throw new UsageError(`--stages entries are NAME:key=value,…, but '${entry}' was provided`);
    const name = entry.slice(0, at).trim();
    const behaviour: {
      -readonly [K in keyof StageBehaviour]: StageBehaviour[K];
    } = {};
    const outages: { startSeconds: number; lengthSeconds: number }[] = [];
    for (const pair of entry.slice(at + 1).split(',')) {
      const [key = '', raw = ''] = pair.split('=').map((part) => part.trim());
      const flag = `--stages ${name}:${key}`;
      switch (key) {
        case 'recordMs':
          behaviour.recordMs = number(flag, raw, 0.01, 900_000);
          break;
        case 'distribution':
          if (raw !== 'fixed' && raw !== 'exponential' && raw !== 'lognormal') {
            throw new UsageError(`${flag} must be fixed, exponential or lognormal, but '${raw}' was provided`);
          }
          behaviour.distribution = raw;
          break;
        case 'cv':
          behaviour.cv = number(flag, raw, 0, 10);
          break;
        case 'failure':
          behaviour.transientFailureRate = number(flag, raw, 0, 1);
          break;
        case 'permanent':
          behaviour.permanentFailureRate = number(flag, raw, 0, 1);
          break;
        case 'fanOut':
          behaviour.fanOut = number(flag, raw, 0, 10_000);
          break;
        case 'outage': {
          const [start = '', length = ''] = raw.split('+');
          outages.push({
            startSeconds: number(`${flag} start`, start, 0, 1e9),
            lengthSeconds: number(`${flag} length`, length, 0, 1e9),
          });
          break;
        }
        default:
          throw new UsageError(`--stages ${name}: unknown key '${key}'; the keys are ${STAGE_KEYS.join(', ')}`);
      }
    }
    if (outages.length > 0) behaviour.outages = outages;
    if (name === '*') defaultStage = behaviour;
    else stages[name] = behaviour;
  }
  return { ...(defaultStage ? { defaultStage } : {}), stages };
}
