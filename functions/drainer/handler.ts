import { SQSClient } from '@aws-sdk/client-sqs';
import type { Context } from 'aws-lambda';
import { ENV } from '../../lib/definition/environment.ts';
import { IngressConfigurationError } from '../authorizer/errors.ts';
import { type DrainReport, drainOverflow } from './drain.ts';

/**
 * The scheduled overflow drainer (an EventBridge rule invokes it every minute; reserved concurrency 1 keeps one run
 * at a time, so the rate bound holds). Each run drains until the overflow queue is empty, the stage reaches the low
 * watermark, or 5 seconds before the function times out.
 */

/** What `SLUICE_DRAIN` holds. */
export interface DrainSettings {
  readonly ratePerSecond: number;
  readonly lowWatermark: number;
}

/** Milliseconds kept free before the function's timeout for the last round's sends and deletes. */
const SAFETY_MARGIN_MS = 5000;

let sqs: SQSClient | undefined;

/** The Lambda entry point. */
export async function handler(
  _event: unknown,
  context: Pick<Context, 'getRemainingTimeInMillis'>,
): Promise<DrainReport> {
  const overflowQueueUrl = process.env[ENV.overflowQueueUrl];
  const queueUrl = process.env[ENV.queueUrl];
  const raw = process.env[ENV.drain];
  if (!overflowQueueUrl || !queueUrl || !raw) {
    throw new IngressConfigurationError(`${ENV.overflowQueueUrl}, ${ENV.queueUrl} and ${ENV.drain} must be set`);
  }
  const settings = JSON.parse(raw) as DrainSettings;
  const lowLaneQueueUrl = process.env[ENV.lowLaneQueueUrl];
  // The endpoint comes from the Region or AWS_ENDPOINT_URL, never from a queue URL's host.
  sqs ??= new SQSClient({ useQueueUrlAsEndpoint: false });
  const report = await drainOverflow({
    sqs,
    overflowQueueUrl,
    queueUrl,
    ...(lowLaneQueueUrl ? { lowLaneQueueUrl } : {}),
    ratePerSecond: settings.ratePerSecond,
    lowWatermark: settings.lowWatermark,
    maxDurationMs: Math.max(0, context.getRemainingTimeInMillis() - SAFETY_MARGIN_MS),
  });
  console.log(
    JSON.stringify({ level: 'INFO', message: 'Overflow drain finished', ...report, rounds: report.rounds.length }),
  );
  return report;
}
