import type { Duration } from 'aws-cdk-lib';
import { consumerRuleProblems, LAMBDA_LIMITS } from '../definition/index.ts';
import { checkRange, knownNumber, knownSeconds } from './validate-range.ts';

/** The consumer settings the validation looks at, in the units the construct's props use. */
export interface QueueConsumerSettings {
  readonly fifo: boolean;
  readonly timeout?: Duration;
  readonly memorySizeMiB?: number;
  readonly batchSize?: number;
  readonly maxBatchingWindow?: Duration;
  readonly maxConcurrency?: number;
  readonly reservedConcurrency?: number;
}

const PROP_NAMES = {
  fifo: 'fifo',
  batchSize: 'batchSize',
  maxBatchingWindowSeconds: 'maxBatchingWindow',
  maxConcurrency: 'maxConcurrency',
  reservedConcurrency: 'reservedConcurrency',
} as const;

/**
 * Every problem with a `QueueConsumer`'s settings: each value within its AWS range, then AWS's rules that tie them
 * together (shared with the pipeline definition through `consumerRuleProblems`).
 */
export function queueConsumerProblems(settings: QueueConsumerSettings): string[] {
  const problems: string[] = [];
  const timeoutSeconds = knownSeconds(settings.timeout);
  const windowSeconds = knownSeconds(settings.maxBatchingWindow);
  const batchRange = settings.fifo ? LAMBDA_LIMITS.fifoBatchSize : LAMBDA_LIMITS.batchSize;
  checkRange(problems, 'timeout', timeoutSeconds, LAMBDA_LIMITS.timeoutSeconds, ' seconds');
  checkRange(problems, 'memorySizeMiB', settings.memorySizeMiB, LAMBDA_LIMITS.memorySizeMiB, ' MiB');
  checkRange(problems, 'maxBatchingWindow', windowSeconds, LAMBDA_LIMITS.maxBatchingWindowSeconds, ' seconds');
  checkRange(problems, 'maxConcurrency', settings.maxConcurrency, LAMBDA_LIMITS.maxConcurrency);
  checkRange(problems, 'reservedConcurrency', settings.reservedConcurrency, LAMBDA_LIMITS.reservedConcurrency);
  if (!settings.fifo) {
    checkRange(problems, 'batchSize', settings.batchSize, batchRange);
  }
  problems.push(
    ...consumerRuleProblems(
      {
        fifo: settings.fifo,
        ...optional('batchSize', knownNumber(settings.batchSize)),
        ...optional('maxBatchingWindowSeconds', windowSeconds),
        ...optional('maxConcurrency', knownNumber(settings.maxConcurrency)),
        ...optional('reservedConcurrency', knownNumber(settings.reservedConcurrency)),
      },
      (field) => PROP_NAMES[field],
    ),
  );
  return problems;
}

function optional<K extends string>(key: K, value: number | undefined): { [P in K]?: number } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: number };
}
