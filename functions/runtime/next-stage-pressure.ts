import { DEPTH_ATTRIBUTES } from '../../lib/definition/limits.ts';
import type { AwsClients } from './aws-clients.ts';
import type { Logger } from './log.ts';

/**
 * Stage-to-stage backpressure: before a record runs, the consumer looks at the depth of the next stage's queue and,
 * at or above the next stage's hard depth limit, defers the record instead of running it. Records then wait in their
 * own queue, its depth rises, and the pressure travels up to the ingress, which sheds.
 *
 * The check comes before the handler, not before the forward: a handler that ran and then could not forward would
 * have spent its downstream calls (an embedding call, a paid API) for nothing, and running it again after the
 * deferral would spend them twice. The cost is that a record that would have forwarded nothing is held back too;
 * the runtime cannot know that before running it.
 *
 * The depth is the sum of {@link DEPTH_ATTRIBUTES} (waiting, in flight and delayed: what the ingress's admission and
 * the valve watch too; the next stage's own deferred records are delayed messages) from `GetQueueAttributes` (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_GetQueueAttributes.html),
 * read at most once per `ttlMs` per container and shared by every record in flight: a batch of 1,000 records costs one
 * call at most. SQS's approximate counts lag by up to a minute
 * (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/confirm-queue-is-empty.html), so the limit
 * is a soft edge; the stage's age and depth alarms watch the rest. When the depth cannot be read the check lets
 * records through (and logs it): a missing permission must not hold a stage back forever, and the forward itself
 * fails loudly if SQS is unreachable.
 */
export class NextStageDepth {
  private depth = 0;
  private readAt = Number.NEGATIVE_INFINITY;
  private pending: Promise<number> | undefined;
  /** GetQueueAttributes calls made (tests and benchmarks read it). */
  calls = 0;

  private readonly clients: AwsClients;
  readonly queueUrl: string;
  readonly limit: number;
  private readonly clock: () => number;
  private readonly logger: Logger;
  readonly ttlMs: number;

  constructor(
    clients: AwsClients,
    queueUrl: string,
    limit: number,
    clock: () => number,
    logger: Logger,
    ttlMs = 1_000,
  ) {
    this.clients = clients;
    this.queueUrl = queueUrl;
    this.limit = limit;
    this.clock = clock;
    this.logger = logger;
    this.ttlMs = ttlMs;
  }

  /** The next queue's depth when it is at or above the limit, else `undefined`. Cached for `ttlMs`. */
  async overLimit(): Promise<number | undefined> {
    const depth = this.clock() - this.readAt < this.ttlMs ? this.depth : await this.read();
    return depth >= this.limit ? depth : undefined;
  }

  private read(): Promise<number> {
    this.pending ??= this.fetch().finally(() => {
      this.pending = undefined;
    });
    return this.pending;
  }

  private async fetch(): Promise<number> {
    const [{ GetQueueAttributesCommand }, sqs] = await Promise.all([import('@aws-sdk/client-sqs'), this.clients.sqs()]);
    this.calls++;
    try {
      const result = await sqs.send(
        new GetQueueAttributesCommand({ QueueUrl: this.queueUrl, AttributeNames: [...DEPTH_ATTRIBUTES] }),
      );
      let depth = 0;
      for (const name of DEPTH_ATTRIBUTES) depth += Number(result.Attributes?.[name] ?? 0) || 0;
      this.depth = depth;
    } catch (error) {
      this.logger.warn("Could not read the next stage's depth; records are let through until it can be read", {
        queueUrl: this.queueUrl,
        error,
      });
      this.depth = 0;
    }
    this.readAt = this.clock();
    return this.depth;
  }
}
