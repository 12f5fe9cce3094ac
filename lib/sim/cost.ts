import type { Pipeline } from '../definition/index.ts';
import { PRICES, PRICES_AS_OF, PRICES_REGION } from './prices.ts';
import type { SimulationResult } from './simulate.ts';

/**
 * Cost of a simulated run and per million accepted jobs, from the dated price table in `prices.ts`. Counted:
 * API Gateway requests that reached the integration (throttled and denied ones are not billed); the authorizer's
 * invocations; SQS requests (sends, receives
 * including the empty long polls of idle pollers, deletes, visibility changes, dead-letter sends, deferral re-sends,
 * depth reads; 64 KB chunks); consumer invocations and GB-seconds; DynamoDB writes of job status, idempotency and the
 * control table. Not counted: free tiers, data transfer, CloudWatch, KMS, status reads by clients.
 */

/** The authorizer: arm64, 256 MiB (`IngressFunction`'s default), a few milliseconds with its depth cache warm. */
const AUTHORIZER = { memoryMiB: 256, durationMs: 5 } as const;
/** The valve polls every few seconds for about 50 s, once a minute, when the pipeline has one. */
const VALVE = { memoryMiB: 256, durationSecondsPerMinute: 50 } as const;
/** Job status: `processing` when a record starts and its final state when it ends (1 KB items). */
const JOB_STATUS_WRITES_PER_ATTEMPT = 2;
/** Idempotency: the conditional put that takes the key and the update that completes (or releases) it. */
const IDEMPOTENCY_WRITES_PER_ATTEMPT = 2;

/** One line of the estimate. */
export interface CostLine {
  readonly service: string;
  readonly item: string;
  readonly quantity: number;
  readonly usd: number;
}

/** The estimate of a run. */
export interface CostEstimate {
  readonly pricesAsOf: string;
  readonly region: string;
  readonly lines: readonly CostLine[];
  readonly totalUsd: number;
  readonly acceptedJobs: number;
  /** Total ÷ accepted jobs × 1,000,000; null when nothing was accepted. */
  readonly usdPerMillionJobs: number | null;
}

/** Prices the counters of a run. */
export function estimateCost(pipeline: Pipeline, result: SimulationResult): CostEstimate {
  const lines: CostLine[] = [];
  const add = (service: string, item: string, quantity: number, unitUsd: number) => {
    if (quantity > 0) lines.push({ service, item, quantity: Math.round(quantity), usd: quantity * unitUsd });
  };
  const { ingress } = result;
  // API Gateway does not bill throttled (429) or unauthorized requests — the depth check's 503 is an authorizer Deny —
  // only those that reach the integration (an AWS expert's answer on re:Post,
  // https://repost.aws/questions/QU5y4fo-e3RWyU5r4VmyPIzA; the pricing page is silent): the accepted ones.
  add('API Gateway', 'REST API requests (accepted)', ingress.accepted, PRICES.apiGatewayRestRequest.usd);
  add('Lambda', 'authorizer invocations', ingress.authorizerInvocations, PRICES.lambdaRequest.usd);
  add(
    'Lambda',
    'authorizer GB-seconds',
    (ingress.authorizerInvocations * AUTHORIZER.durationMs * AUTHORIZER.memoryMiB) / 1024 / 1000,
    PRICES.lambdaArmGbSecond.usd,
  );
  if (pipeline.ingress?.integration === 'function') {
    add('Lambda', 'accept function invocations', ingress.apiRequests, PRICES.lambdaRequest.usd);
    add('DynamoDB', 'accepted job records', ingress.accepted, PRICES.dynamoWriteRequestUnit.usd);
  }
  const messageChunks = Math.max(1, Math.ceil(result.scenario.messageBytes / (64 * 1024)));
  const sqsUnit = (fifo: boolean) => (fifo ? PRICES.sqsFifoRequest.usd : PRICES.sqsStandardRequest.usd);
  add(
    'SQS',
    'ingress SendMessage and depth reads',
    ingress.accepted * messageChunks + ingress.depthReads + ingress.drained * 2,
    PRICES.sqsStandardRequest.usd,
  );
  let attempts = 0;
  for (const stage of result.stages) {
    const fifo = pipeline.stages.find((candidate) => candidate.name === stage.name.split(':')[0])?.queue.fifo ?? false;
    add('SQS', `${stage.name}: consumer requests`, stage.counters.sqsRequests, sqsUnit(fifo));
    add('Lambda', `${stage.name}: invocations`, stage.counters.invocations, PRICES.lambdaRequest.usd);
    add('Lambda', `${stage.name}: GB-seconds`, stage.counters.gbSeconds, PRICES.lambdaArmGbSecond.usd);
    add(
      'DynamoDB',
      `${stage.name}: control table writes`,
      stage.counters.dynamoWrites,
      PRICES.dynamoWriteRequestUnit.usd,
    );
    attempts += stage.counters.attempts;
  }
  if (pipeline.jobs.enabled) {
    add('DynamoDB', 'job status writes', attempts * JOB_STATUS_WRITES_PER_ATTEMPT, PRICES.dynamoWriteRequestUnit.usd);
  }
  if (pipeline.idempotency.enabled) {
    add('DynamoDB', 'idempotency writes', attempts * IDEMPOTENCY_WRITES_PER_ATTEMPT, PRICES.dynamoWriteRequestUnit.usd);
  }
  if (hasValve(pipeline)) {
    const minutes = result.simulatedSeconds / 60;
    add('Lambda', 'valve invocations', minutes, PRICES.lambdaRequest.usd);
    add(
      'Lambda',
      'valve GB-seconds',
      (minutes * VALVE.durationSecondsPerMinute * VALVE.memoryMiB) / 1024,
      PRICES.lambdaArmGbSecond.usd,
    );
  }
  const totalUsd = lines.reduce((sum, line) => sum + line.usd, 0);
  return {
    pricesAsOf: PRICES_AS_OF,
    region: PRICES_REGION,
    lines,
    totalUsd,
    acceptedJobs: ingress.accepted,
    usdPerMillionJobs: ingress.accepted > 0 ? (totalUsd / ingress.accepted) * 1_000_000 : null,
  };
}

/** Whether the pipeline gets a valve: a stage with a next stage, a breaker, a downstream limiter or tenant caps. */
function hasValve(pipeline: Pipeline): boolean {
  return pipeline.stages.some(
    (stage) =>
      stage.next !== undefined ||
      stage.breaker !== undefined ||
      Object.keys(stage.downstream).length > 0 ||
      stage.tenants !== undefined,
  );
}
