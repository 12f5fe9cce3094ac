import { type PipelineSnapshot, type StageSnapshot, stageSnapshot } from './snapshot.ts';
import { judge, judgePipeline, type TrendPoint } from './verdict.ts';

/**
 * `sluice status` against `sluice dev`: reads the dashboard's `GET /dashboard/metrics` (the sampler's one-second
 * samples per consumer) rather than sampling the queues a second time, and judges each stage over its last samples.
 */

/** One sample of `GET /dashboard/metrics` (the fields `sluice status` reads). */
export interface LocalSample {
  readonly at: number;
  readonly depth: number;
  readonly inFlight: number;
  readonly deadLettered: number;
  readonly oldestAgeSeconds: number;
  readonly inPerSecond: number;
  readonly outPerSecond: number;
  readonly retriesPerSecond: number;
}

/** The body of `GET /dashboard/metrics`. */
export interface LocalMetrics {
  readonly sampledAt: number;
  readonly consumers: Readonly<Record<string, readonly LocalSample[]>>;
}

/** Samples (seconds) a local verdict looks at. */
export const LOCAL_WINDOW_SAMPLES = 20;

/** The stages `sluice status` knows: name and age SLO, from the pipeline definition. */
export interface StageSlo {
  readonly name: string;
  readonly ageSloSeconds: number;
}

/** A snapshot of every consumer in `metrics` (stages, and a stage's `-low` lane judged against the stage's SLO). */
export function localSnapshot(
  pipeline: string,
  stages: readonly StageSlo[],
  metrics: LocalMetrics,
  windowSamples = LOCAL_WINDOW_SAMPLES,
): PipelineSnapshot {
  const slos = new Map(stages.map((stage) => [stage.name, stage.ageSloSeconds]));
  const snapshots: StageSnapshot[] = [];
  const judgements = [];
  for (const [name, all] of Object.entries(metrics.consumers)) {
    const ageSloSeconds = slos.get(name) ?? slos.get(name.replace(/-low$/, ''));
    if (ageSloSeconds === undefined) continue;
    const samples = all.slice(-windowSamples);
    const latest = samples[samples.length - 1];
    const first = samples[0];
    // Arrivals from the queue's balance: what came in = what left + how much the backlog grew.
    const points: TrendPoint[] = samples.map((sample, index) => {
      const previous = index === 0 ? undefined : samples[index - 1];
      const backlog = sample.depth + sample.inFlight;
      const seconds = previous ? Math.max(0.001, (sample.at - previous.at) / 1000) : 1;
      const grew = previous ? (backlog - (previous.depth + previous.inFlight)) / seconds : 0;
      return {
        at: sample.at,
        backlog,
        outPerSecond: sample.outPerSecond,
        inPerSecond: Math.max(0, grew + sample.outPerSecond),
      };
    });
    // The sampler reports the oldest age picked up in each second (0 when nothing was): the last few seconds' maximum
    // is the age now, where the window's maximum would still show a backlog already gone.
    const oldest = Math.max(0, ...samples.slice(-3).map((sample) => sample.oldestAgeSeconds));
    const judgement = judge(points, oldest, ageSloSeconds);
    judgements.push(judgement);
    const spanSeconds = first && latest && latest.at > first.at ? (latest.at - first.at) / 1000 : 1;
    const received =
      first && latest
        ? Math.max(
            0,
            latest.depth + latest.inFlight - (first.depth + first.inFlight) + sum(samples.slice(1), 'outPerSecond'),
          )
        : 0;
    const run = sum(samples, 'inPerSecond');
    const failed = sum(samples, 'retriesPerSecond');
    snapshots.push(
      stageSnapshot(
        {
          pipeline,
          stage: name,
          queue_depth: latest?.depth ?? 0,
          in_flight: latest?.inFlight ?? 0,
          oldest_job_age_seconds: oldest,
          jobs_received_per_minute: Math.round((received / spanSeconds) * 60),
          jobs_completed_per_minute: Math.round((sum(samples, 'outPerSecond') / samples.length || 0) * 60),
          retry_rate: Math.round((failed / samples.length || 0) * 60),
          dead_letter_count: latest?.deadLettered ?? 0,
          downstream_error_rate: run > 0 ? Math.round((failed / run) * 1000) / 1000 : null,
          age_slo_seconds: ageSloSeconds,
        },
        judgement,
      ),
    );
  }
  return { pipeline, at: metrics.sampledAt, ...toSnake(judgePipeline(judgements)), stages: snapshots };
}

/** Reads `GET {dashboardUrl}/dashboard/metrics`; the error says what to start when nothing answers. */
export async function fetchLocalMetrics(dashboardUrl: string): Promise<LocalMetrics> {
  const url = `${dashboardUrl.replace(/\/+$/, '').replace(/\/dashboard$/, '')}/dashboard/metrics`;
  let response: Response;
  try {
    response = await fetch(url, { headers: { accept: 'application/json' } });
  } catch (error) {
    throw new Error(
      `nothing answers at ${url} (${(error as Error).message}); start the pipeline with 'sluice dev' and pass the dashboard URL it prints as --url`,
      { cause: error },
    );
  }
  if (!response.ok) {
    throw new Error(`${url} answered ${response.status}; --url must be the dashboard URL 'sluice dev' prints`);
  }
  return (await response.json()) as LocalMetrics;
}

function sum(samples: readonly LocalSample[], field: 'outPerSecond' | 'inPerSecond' | 'retriesPerSecond'): number {
  return samples.reduce((total, sample) => total + sample[field], 0);
}

function toSnake(judgement: { verdict: PipelineSnapshot['verdict']; estimatedDrainSeconds: number | null }) {
  return { verdict: judgement.verdict, estimated_drain_seconds: judgement.estimatedDrainSeconds };
}
