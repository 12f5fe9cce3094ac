/**
 * The names the local runtime (lib/local/provision.ts) gives a stage's queues: `<prefix>-<stage>` and
 * `<prefix>-<stage>-dlq`, with `.fifo` on both for a FIFO stage (SQS requires the suffix on FIFO queue names:
 * https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/FIFO-queues-understanding-logic.html).
 * The operator commands (lib/ops/resources.ts) find a `sluice dev` pipeline's queues by the same names.
 */
export function localQueueNames(
  prefix: string,
  stageName: string,
  fifo: boolean,
): { readonly queueName: string; readonly deadLetterQueueName: string } {
  const suffix = fifo ? '.fifo' : '';
  return { queueName: `${prefix}-${stageName}${suffix}`, deadLetterQueueName: `${prefix}-${stageName}-dlq${suffix}` };
}
