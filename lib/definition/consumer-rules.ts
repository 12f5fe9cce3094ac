import { BATCH_SIZE_WITHOUT_WINDOW, LAMBDA_LIMITS } from './limits.ts';

/**
 * AWS's rules that tie an SQS event source mapping's settings together. The pipeline validation and the
 * `QueueConsumer` construct both apply them, each naming the fields the way its user wrote them.
 */

/** The settings the rules look at; a field left out is not checked. */
export interface ConsumerRuleInput {
  readonly fifo: boolean;
  readonly batchSize?: number;
  readonly maxBatchingWindowSeconds?: number;
  readonly maxConcurrency?: number;
  readonly reservedConcurrency?: number;
}

/** How a caller names each field in its messages (e.g. `stages[0].consumer.batchSize` or `batchSize`). */
export type FieldNamer = (field: keyof ConsumerRuleInput) => string;

/** Every rule the settings break, each as a message naming the field, the allowed range and the value given. */
export function consumerRuleProblems(input: ConsumerRuleInput, name: FieldNamer = (field) => field): string[] {
  const problems: string[] = [];
  const { fifo, batchSize, maxBatchingWindowSeconds: window, maxConcurrency, reservedConcurrency } = input;
  if (fifo && batchSize !== undefined && batchSize > LAMBDA_LIMITS.fifoBatchSize.max) {
    problems.push(
      `${name('batchSize')} must be between ${LAMBDA_LIMITS.fifoBatchSize.min} and ${LAMBDA_LIMITS.fifoBatchSize.max} on a FIFO queue, but ${batchSize} was provided`,
    );
  }
  if (fifo && window !== undefined && window > 0) {
    problems.push(
      `${name('maxBatchingWindowSeconds')} must be 0 on a FIFO queue (Lambda does not batch FIFO queues by time), but ${window} was provided`,
    );
  }
  if (!fifo && batchSize !== undefined && batchSize > BATCH_SIZE_WITHOUT_WINDOW && window !== undefined && window < 1) {
    problems.push(
      `${name('maxBatchingWindowSeconds')} must be between 1 and ${LAMBDA_LIMITS.maxBatchingWindowSeconds.max} seconds when ${name('batchSize')} is above ${BATCH_SIZE_WITHOUT_WINDOW} (${batchSize}), but ${window} was provided`,
    );
  }
  if (maxConcurrency !== undefined && reservedConcurrency !== undefined && reservedConcurrency < maxConcurrency) {
    problems.push(
      `${name('reservedConcurrency')} must be between ${name('maxConcurrency')} (${maxConcurrency}) and ${LAMBDA_LIMITS.reservedConcurrency.max}, so the event source mapping is never throttled by the function, but ${reservedConcurrency} was provided`,
    );
  }
  return problems;
}
