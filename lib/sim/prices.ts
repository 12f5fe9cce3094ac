/**
 * The price table the simulator's cost estimate uses: AWS public list prices, on-demand, no free tier, no Savings
 * Plans, region us-east-1 (US East, N. Virginia), first volume tier of each service.
 *
 * Dated 2026-11-25: this machine has no internet access, so the figures were taken from the copies of AWS's pricing
 * pages (and reputable summaries of them) that the repository's search tool holds on that day. Check them against the
 * live pages before relying on a figure; change them here and only here.
 */

/** One price with the page it comes from. */
export interface Price {
  /** US dollars per `unit`. */
  readonly usd: number;
  readonly unit: string;
  readonly source: string;
}

/** The day the table was compiled (ISO date). */
export const PRICES_AS_OF = '2026-11-25';
/** The region the prices are for. */
export const PRICES_REGION = 'us-east-1';

/** List prices used by the cost estimate. */
export const PRICES = {
  /** Standard queues, first 100 billion requests a month; each 64 KB chunk of a payload is one request. */
  sqsStandardRequest: {
    usd: 0.4 / 1_000_000,
    unit: 'request (64 KB chunk)',
    source: 'https://aws.amazon.com/sqs/pricing/',
  },
  /** FIFO queues, first tier. */
  sqsFifoRequest: {
    usd: 0.5 / 1_000_000,
    unit: 'request (64 KB chunk)',
    source: 'https://aws.amazon.com/sqs/pricing/',
  },
  /** Lambda requests (both architectures). */
  lambdaRequest: { usd: 0.2 / 1_000_000, unit: 'invocation', source: 'https://aws.amazon.com/lambda/pricing/' },
  /** Lambda duration on arm64 (Graviton), first 7.5 billion GB-s a month; sluice's functions are arm64. */
  lambdaArmGbSecond: { usd: 0.0000133334, unit: 'GB-second', source: 'https://aws.amazon.com/lambda/pricing/' },
  /** REST API calls received, first 333 million a month. */
  apiGatewayRestRequest: {
    usd: 3.5 / 1_000_000,
    unit: 'request',
    source: 'https://aws.amazon.com/api-gateway/pricing/',
  },
  /** On-demand write request units (1 KB), after the November 2024 on-demand price reduction. */
  dynamoWriteRequestUnit: {
    usd: 0.625 / 1_000_000,
    unit: 'write request unit',
    source: 'https://aws.amazon.com/dynamodb/pricing/on-demand/',
  },
  /** On-demand read request units (4 KB, strongly consistent = 1). */
  dynamoReadRequestUnit: {
    usd: 0.125 / 1_000_000,
    unit: 'read request unit',
    source: 'https://aws.amazon.com/dynamodb/pricing/on-demand/',
  },
} as const satisfies Record<string, Price>;

/** SQS bills each 64 KB chunk of a request's payload as one request (https://aws.amazon.com/sqs/pricing/). */
export const SQS_BILLING_CHUNK_BYTES = 64 * 1024;
