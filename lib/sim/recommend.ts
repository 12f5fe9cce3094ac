import { API_GATEWAY_LIMITS, depthLimitFor, LAMBDA_LIMITS, type Pipeline } from '../definition/index.ts';
import type { SimulationResult } from './simulate.ts';
import { topologyOf } from './topology.ts';

/**
 * What the simulator advises: depth limits the age SLO allows (Little's law), the concurrency a rate needs, settings
 * AWS would reject, and settings that break flow control. Each recommendation names the field it is about.
 */

/** One piece of advice. */
export interface Recommendation {
  /** `reject`: AWS would refuse the setting; `flow`: it breaks flow control; `size`: a sizing suggestion. */
  readonly kind: 'reject' | 'flow' | 'size';
  readonly field: string;
  readonly message: string;
}

/** AWS requires at least 100 unreserved concurrent executions per account and Region (https://docs.aws.amazon.com/lambda/latest/dg/configuration-concurrency.html). */
const UNRESERVED_MINIMUM = 100;
/** The default concurrent executions quota per account and Region (https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html). */
const DEFAULT_ACCOUNT_CONCURRENCY = 1000;

/** Advice for `pipeline` after a run, sized for the run's peak offered rate. */
export function recommend(pipeline: Pipeline, result: SimulationResult): Recommendation[] {
  const out: Recommendation[] = [];
  const topology = topologyOf(pipeline);
  const peakOffered = Math.max(0, ...result.series.ingress.offeredPerSecond);
  const peakAccepted = Math.max(0, ...result.series.ingress.acceptedPerSecond);

  pipeline.stages.forEach((stage, index) => {
    const path = `stages[${index}]`;
    const drain = stage.flow.drainRatePerSecond;
    // Little's law: the deepest backlog drained within the SLO.
    const littles = depthLimitFor(stage.flow.ageSloSeconds, drain);
    if (stage.flow.depthLimit > littles) {
      out.push({
        kind: 'flow',
        field: `${path}.flow.depthLimit`,
        message: `${path}.flow.depthLimit (${stage.flow.depthLimit}) lets the backlog outgrow the age SLO: at ${round(drain)} records/s the stage clears ${littles} within ${stage.flow.ageSloSeconds} s (Little's law); set it at most ${littles}`,
      });
    }
    const outcome = result.stages.find((candidate) => candidate.name === stage.name);
    if (outcome && outcome.sloBreachSeconds > 0) {
      out.push({
        kind: 'flow',
        field: `${path}.flow.ageSloSeconds`,
        message: `${stage.name}: the oldest message was older than the ${stage.flow.ageSloSeconds} s SLO for ${round(outcome.sloBreachSeconds)} s (max ${round(outcome.maxAgeSeconds)} s); lower the depth limit to ${Math.floor(littles * 0.8)} (80 % of Little's law, for ordering slack) or raise the concurrency`,
      });
    }
    // Concurrency for the rate this stage saw.
    const perBatch = Math.min(stage.consumer.recordConcurrency, stage.consumer.batchSize);
    const rate =
      index === 0 || stage.name === pipeline.ingress?.stage ? peakAccepted : peakRateInto(result, stage.name);
    const needed = Math.ceil((rate * stage.flow.recordProcessingMs) / 1000 / perBatch);
    if (needed > stage.consumer.maxConcurrency) {
      const over = needed > LAMBDA_LIMITS.maxConcurrency.max;
      out.push({
        kind: over ? 'reject' : 'size',
        field: `${path}.consumer.maxConcurrency`,
        message: over
          ? `${stage.name} needs ${needed} concurrent batches for ${round(rate)} records/s at ${stage.flow.recordProcessingMs} ms each, above the ${LAMBDA_LIMITS.maxConcurrency.max} an SQS event source mapping allows; raise recordConcurrency (records in parallel per batch) or split the queue`
          : `${stage.name} needs ${needed} concurrent batches for ${round(rate)} records/s at ${stage.flow.recordProcessingMs} ms each (maxConcurrency is ${stage.consumer.maxConcurrency})`,
      });
    }
    if (stage.queue.visibilityTimeoutSeconds < stage.consumer.timeoutSeconds) {
      out.push({
        kind: 'reject',
        field: `${path}.queue.visibilityTimeoutSeconds`,
        message: `Lambda refuses an event source mapping whose queue's visibility timeout (${stage.queue.visibilityTimeoutSeconds} s) is below the function timeout (${stage.consumer.timeoutSeconds} s)`,
      });
    }
    if (stage.flow.ageSloSeconds >= stage.queue.retentionPeriodSeconds) {
      out.push({
        kind: 'flow',
        field: `${path}.queue.retentionPeriodSeconds`,
        message: `${stage.name}: messages expire (${stage.queue.retentionPeriodSeconds} s) before the age SLO (${stage.flow.ageSloSeconds} s) fires`,
      });
    }
    if (stage.next !== undefined) {
      const next = pipeline.stages.find((candidate) => candidate.name === stage.next);
      if (next && next.flow.drainRatePerSecond < drain) {
        out.push({
          kind: 'flow',
          field: `${path}.next`,
          message: `${stage.name} drains ${round(drain)} records/s into ${next.name}, which drains ${round(next.flow.drainRatePerSecond)}/s: under sustained load ${next.name} fills and ${stage.name} defers (or its event source mapping is paused); size ${next.name} for at least ${round(drain)}/s or admit less`,
        });
      }
    }
    if (outcome && outcome.counters.deadLettered > 0) {
      out.push({
        kind: 'flow',
        field: `${path}.queue.maxReceiveCount`,
        message: `${stage.name} dead-lettered ${outcome.counters.deadLettered} records (maxReceiveCount ${stage.queue.maxReceiveCount}); with the retry backoff a transient outage longer than about ${round(backoffSpan(stage.queue.maxReceiveCount))} s exhausts the budget`,
      });
    }
  });

  // Account-wide Lambda concurrency.
  const reserved = topology.stages.reduce((sum, stage) => sum + stage.stage.consumer.reservedConcurrency, 0);
  if (reserved > DEFAULT_ACCOUNT_CONCURRENCY - UNRESERVED_MINIMUM) {
    out.push({
      kind: 'reject',
      field: 'stages[].consumer.reservedConcurrency',
      message: `the stages reserve ${reserved} concurrent executions; with the default account quota of ${DEFAULT_ACCOUNT_CONCURRENCY}, Lambda refuses a reservation that leaves fewer than ${UNRESERVED_MINIMUM} unreserved — request a higher quota first`,
    });
  }

  // Ingress.
  const ingress = pipeline.ingress;
  if (ingress) {
    const throttle = ingress.throttle;
    if (
      throttle.rateLimitPerSecond > API_GATEWAY_LIMITS.defaultAccountRateLimitPerSecond.max ||
      peakOffered > API_GATEWAY_LIMITS.defaultAccountRateLimitPerSecond.max
    ) {
      out.push({
        kind: 'reject',
        field: 'ingress.throttle.rateLimitPerSecond',
        message: `${round(Math.max(peakOffered, throttle.rateLimitPerSecond))} requests/s is above API Gateway's default account throttle (${API_GATEWAY_LIMITS.defaultAccountRateLimitPerSecond.max}/s, burst ${API_GATEWAY_LIMITS.defaultAccountBurstLimit.max}); request a quota increase for the Region or the excess is answered 429`,
      });
    }
    const accept = pipeline.stages.find((stage) => stage.name === ingress.stage);
    if (accept && throttle.rateLimitPerSecond > ingress.backpressure.drainRatePerSecond) {
      out.push({
        kind: 'size',
        field: 'ingress.throttle.rateLimitPerSecond',
        message: `the stage throttle (${throttle.rateLimitPerSecond}/s) admits more than ${accept.name} drains (${round(ingress.backpressure.drainRatePerSecond)}/s): the depth check, not the throttle, is what holds the backlog; keep backpressure on`,
      });
    }
    const overshoot = peakAccepted * ingress.backpressure.depthCacheTtlSeconds;
    if (accept && overshoot > ingress.backpressure.hardLimit * 0.1) {
      out.push({
        kind: 'flow',
        field: 'ingress.backpressure.depthCacheTtlSeconds',
        message: `at ${round(peakAccepted)} accepted requests/s a ${ingress.backpressure.depthCacheTtlSeconds} s depth cache lets about ${Math.round(overshoot)} requests past the hard limit (${ingress.backpressure.hardLimit}) before the authorizer sees it; shorten the TTL or lower the hard limit by that much`,
      });
    }
    const offeredShare = result.ingress.offered > 0 ? result.ingress.throttled / result.ingress.offered : 0;
    if (offeredShare > 0.5) {
      const capacity = Math.min(
        throttle.rateLimitPerSecond,
        ingress.clients.length > 0
          ? ingress.clients.reduce((sum, client) => sum + client.rateLimitPerSecond, 0)
          : Number.POSITIVE_INFINITY,
      );
      out.push({
        kind: 'size',
        field: ingress.clients.length > 0 ? 'ingress.clients[].rateLimitPerSecond' : 'ingress.throttle',
        message: `${Math.round(offeredShare * 100)} % of the offered requests were throttled (429): the throttles admit at most ${round(capacity)}/s`,
      });
    }
  }
  for (const warning of pipeline.warnings) {
    out.push({ kind: 'flow', field: warning.path, message: warning.message });
  }
  return out;
}

function peakRateInto(result: SimulationResult, stageName: string): number {
  const series = result.series.stages.find((candidate) => candidate.name === stageName);
  return series ? Math.max(0, ...series.inPerSecond) : 0;
}

/** Seconds of retries before the last allowed receive, with the runtime's mean backoff (2 s doubling). */
function backoffSpan(maxReceiveCount: number): number {
  let total = 0;
  for (let receive = 1; receive < maxReceiveCount; receive++) total += Math.min(900, 2 * 2 ** (receive - 1)) / 2;
  return total;
}

function round(value: number): number {
  return Math.round(value * 10) / 10;
}
