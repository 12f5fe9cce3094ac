import type * as z from 'zod';
import { consumerRuleProblems } from './consumer-rules.ts';
import { PipelineDefinitionError } from './errors.ts';
import { DEFAULTS } from './limits.ts';
import type { PipelineInput } from './pipeline-input.ts';
import { PipelineSchema } from './pipeline-schema.ts';
import { usesControlTable } from './pressure.ts';
import { ingressRawProblems, type ResolvedIngress, resolveIngress } from './resolve-ingress.ts';
import { type ResolvedStage, resolveStage, type SpecWarning } from './resolve-stage.ts';

/** A validated pipeline with every default applied and every derived value computed. */
export interface Pipeline {
  readonly name: string;
  readonly description?: string;
  readonly stages: readonly ResolvedStage[];
  readonly jobs: { readonly enabled: boolean; readonly ttlDays: number };
  readonly idempotency: { readonly enabled: boolean; readonly ttlSeconds: number };
  /** The HTTP ingress, when the definition has an `ingress` section. */
  readonly ingress?: ResolvedIngress;
  /** The job data field naming the tenant, when the definition has one. */
  readonly tenantKey?: string;
  /**
   * Whether the pipeline has a control table (limiters, breakers, bulkheads, and the valve's view of stage-to-stage
   * pressure): true when any stage declares a downstream, a breaker or a bulkhead, or has a next stage.
   */
  readonly controlTable: boolean;
  /** Values sluice changed, or risks it wants a user to see; the constructs report them as CDK warnings. */
  readonly warnings: readonly SpecWarning[];
}

/** The outcome of {@link validatePipeline}. */
export type PipelineValidation =
  | { readonly success: true; readonly pipeline: Pipeline }
  | { readonly success: false; readonly problems: readonly string[] };

/**
 * Validates a pipeline definition and resolves it, or throws a {@link PipelineDefinitionError} that lists every
 * problem at once.
 *
 * @example
 * const pipeline = definePipeline({
 *   name: 'documents',
 *   stages: [{ name: 'ingest', consumer: { entry: 'functions/ingest.ts', batchSize: 50, maxBatchingWindowSeconds: 2 } }],
 * });
 */
export function definePipeline(input: PipelineInput): Pipeline {
  const result = validatePipeline(input);
  if (!result.success) {
    const name = typeof (input as { name?: unknown })?.name === 'string' ? (input as { name: string }).name : '?';
    throw new PipelineDefinitionError(name, result.problems);
  }
  return result.pipeline;
}

/** Like {@link definePipeline}, but returns the problems instead of throwing. Accepts any value (e.g. parsed JSON). */
export function validatePipeline(input: unknown): PipelineValidation {
  const parsed = PipelineSchema.safeParse(input, { reportInput: true });
  const problems = parsed.success ? [] : parsed.error.issues.map(describeIssue);
  problems.push(...crossFieldProblems(input));
  if (!parsed.success || problems.length > 0) {
    return { success: false, problems: [...new Set(problems)] };
  }
  const warnings: SpecWarning[] = [];
  const definition = parsed.data;
  const stages = definition.stages.map((stage, index) =>
    resolveStage(stage, `stages[${index}]`, warnings, definition.tenantKey),
  );
  const ingress = definition.ingress && resolveIngress(definition.ingress, stages, problems, warnings);
  if (problems.length > 0) return { success: false, problems };
  const pipeline: Pipeline = {
    name: definition.name,
    ...(definition.description === undefined ? {} : { description: definition.description }),
    stages,
    jobs: { enabled: definition.jobs?.enabled ?? false, ttlDays: definition.jobs?.ttlDays ?? DEFAULTS.jobTtlDays },
    idempotency: {
      enabled: definition.idempotency?.enabled ?? false,
      ttlSeconds: definition.idempotency?.ttlSeconds ?? DEFAULTS.idempotencyTtlSeconds,
    },
    ...(ingress === undefined ? {} : { ingress }),
    ...(definition.tenantKey === undefined ? {} : { tenantKey: definition.tenantKey }),
    controlTable: stages.some((stage) => stage.next !== undefined || usesControlTable(stage)),
    warnings,
  };
  return { success: true, pipeline };
}

/** The stage called `name`, or an error listing the stages there are. */
export function stageOf(pipeline: Pipeline, name: string): ResolvedStage {
  const stage = pipeline.stages.find((candidate) => candidate.name === name);
  if (!stage) {
    const names = pipeline.stages.map((candidate) => candidate.name).join(', ');
    throw new PipelineDefinitionError(pipeline.name, [`stage '${name}' does not exist; the stages are: ${names}`]);
  }
  return stage;
}

function formatPath(path: readonly PropertyKey[]): string {
  let text = '';
  for (const key of path) {
    text += typeof key === 'number' ? `[${key}]` : `${text ? '.' : ''}${String(key)}`;
  }
  return text || '(definition)';
}

function formatValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (value === null || typeof value !== 'object') return String(value);
  const text = JSON.stringify(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

function describeIssue(issue: z.core.$ZodIssue): string {
  const path = formatPath(issue.path);
  if (issue.code === 'unrecognized_keys') {
    const keys = issue.keys.map((key) => `'${key}'`).join(', ');
    return `${path} has unknown field${issue.keys.length > 1 ? 's' : ''} ${keys}; check the spelling`;
  }
  if (issue.code === 'invalid_key') {
    // A record key that breaks its pattern: the key's own issue says what the key must be.
    return `${path} ${issue.issues[0]?.message ?? issue.message}, but ${formatValue(issue.input)} was provided`;
  }
  if (issue.input === undefined) return `${path} is required: it ${issue.message}`;
  return `${path} ${issue.message}, but ${formatValue(issue.input)} was provided`;
}

type Loose = Record<string, unknown> | undefined;

function asRecord(value: unknown): Loose {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}

function asNumber(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

/** Rules across fields and stages. Runs on the raw input so they are reported together with shape problems. */
function crossFieldProblems(input: unknown): string[] {
  const stages = asRecord(input)?.stages;
  if (!Array.isArray(stages)) return [];
  const problems: string[] = [];
  const names = stages.map((stage) => asRecord(stage)?.name);
  problems.push(
    ...ingressRawProblems(asRecord(input)?.ingress, names, asRecord(asRecord(input)?.jobs)?.enabled === true),
  );
  stages.forEach((raw, index) => {
    const stage = asRecord(raw);
    if (!stage) return;
    const path = `stages[${index}]`;
    const queue = asRecord(stage.queue);
    const consumer = asRecord(stage.consumer);
    const flow = asRecord(stage.flow);
    const fifo = queue?.fifo === true;

    if (typeof stage.name === 'string' && names.indexOf(stage.name) !== index) {
      problems.push(`${path}.name must be unique within the pipeline, but '${stage.name}' was provided twice`);
    }
    if (stage.next !== undefined) {
      if (stage.next === stage.name) {
        problems.push(`${path}.next must name another stage, but '${String(stage.next)}' is the stage itself`);
      } else if (!names.includes(stage.next)) {
        const known = names.filter((name) => typeof name === 'string').join(', ');
        problems.push(`${path}.next must be one of the stages (${known}), but '${String(stage.next)}' was provided`);
      }
    }
    if (stage.tenants !== undefined && asRecord(input)?.tenantKey === undefined) {
      problems.push(
        `${path}.tenants needs the pipeline's tenantKey (the job data field naming the tenant), but tenantKey is not set`,
      );
    }
    const burstProblems = downstreamProblems(asRecord(stage.downstream), path);
    problems.push(...burstProblems);
    if (queue?.contentBasedDeduplication === true && !fifo) {
      problems.push(
        `${path}.queue.contentBasedDeduplication needs queue.fifo: true, but the queue is a standard queue`,
      );
    }
    problems.push(
      ...consumerRuleProblems(
        {
          fifo,
          batchSize: asNumber(consumer?.batchSize),
          maxBatchingWindowSeconds: asNumber(consumer?.maxBatchingWindowSeconds),
          maxConcurrency: asNumber(consumer?.maxConcurrency),
          reservedConcurrency: asNumber(consumer?.reservedConcurrency),
        },
        (field) => `${path}.consumer.${field}`,
      ),
    );
    const ageSlo = asNumber(flow?.ageSloSeconds);
    const retention = asNumber(queue?.retentionPeriodSeconds) ?? DEFAULTS.retentionPeriodSeconds;
    if (ageSlo !== undefined && ageSlo >= retention) {
      problems.push(
        `${path}.flow.ageSloSeconds must be below the queue's retention period (${retention} seconds), or messages expire before the SLO alarm can fire, but ${ageSlo} was provided`,
      );
    }
  });
  problems.push(...cycleProblems(stages));
  return problems;
}

/** A downstream's burst below its per-second rate could never hold one second of calls. */
function downstreamProblems(downstream: Loose, path: string): string[] {
  if (!downstream) return [];
  const problems: string[] = [];
  for (const [name, raw] of Object.entries(downstream)) {
    const rate = asNumber(asRecord(raw)?.ratePerMinute);
    const burst = asNumber(asRecord(raw)?.burst);
    if (rate !== undefined && burst !== undefined && burst < Math.ceil(rate / 60)) {
      problems.push(
        `${path}.downstream.${name}.burst must be at least one second of the rate (${Math.ceil(rate / 60)} tokens at ${rate} a minute), but ${burst} was provided`,
      );
    }
  }
  return problems;
}

function cycleProblems(stages: unknown[]): string[] {
  const next = new Map<string, string>();
  for (const raw of stages) {
    const stage = asRecord(raw);
    if (typeof stage?.name === 'string' && typeof stage.next === 'string' && stage.next !== stage.name) {
      next.set(stage.name, stage.next);
    }
  }
  const reported = new Set<string>();
  const problems: string[] = [];
  for (const start of next.keys()) {
    const seen: string[] = [];
    let current: string | undefined = start;
    while (current !== undefined && !seen.includes(current)) {
      seen.push(current);
      current = next.get(current);
    }
    if (current !== undefined) {
      const cycle = seen.slice(seen.indexOf(current));
      const key = [...cycle].sort().join(',');
      if (!reported.has(key)) {
        reported.add(key);
        problems.push(`stages[].next must not form a cycle, but ${[...cycle, current].join(' → ')} was provided`);
      }
    }
  }
  return problems;
}
