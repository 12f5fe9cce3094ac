import { GetQueueAttributesCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { EventSourcePoller } from '../event-source-poller.ts';
import type { IngressStats } from '../ingress-server.ts';

/**
 * Samples every consumer of a local pipeline once a second into bounded ring buffers: queue depth and in-flight
 * messages, dead-letter depth, oldest age, in and out rates, retries and send-to-delete latency.
 */

/** One consumer to watch (a stage, or a stage's low lane). */
export interface WatchedConsumer {
  readonly name: string;
  readonly poller: EventSourcePoller;
  readonly queueUrl: string;
  readonly deadLetterQueueUrl: string;
}

/** One second of one consumer. */
export interface Sample {
  /** Epoch milliseconds. */
  readonly at: number;
  readonly depth: number;
  readonly inFlight: number;
  readonly deadLettered: number;
  /** Seconds: the oldest message picked up in the last second (0 when none was). */
  readonly oldestAgeSeconds: number;
  /** Messages received per second. */
  readonly inPerSecond: number;
  /** Messages deleted (done) per second. */
  readonly outPerSecond: number;
  /** Records reported failed per second. */
  readonly retriesPerSecond: number;
  /** Send-to-delete milliseconds of the messages deleted in the last second. */
  readonly latencyP50Ms: number | null;
  readonly latencyP99Ms: number | null;
}

/** The ring buffers the dashboard serves. */
export interface Metrics {
  readonly sampledAt: number;
  readonly ingress: IngressStats | undefined;
  readonly consumers: Record<string, Sample[]>;
}

/** Samples kept per consumer: five minutes. */
export const SAMPLES_KEPT = 300;

/** Starts sampling every `intervalMs`. */
export function startSampler(
  sqs: SQSClient,
  consumers: readonly WatchedConsumer[],
  ingress: { readonly stats: IngressStats } | undefined,
  intervalMs = 1_000,
): { metrics(): Metrics; stop(): void } {
  const buffers: Record<string, Sample[]> = Object.fromEntries(consumers.map((consumer) => [consumer.name, []]));
  const previous = new Map(consumers.map((consumer) => [consumer.name, { ...consumer.poller.stats, at: Date.now() }]));
  let sampledAt = Date.now();
  let busy = false;
  const attributes = async (queueUrl: string) => {
    const result = await sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl: queueUrl,
        AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
      }),
    );
    return {
      visible: Number(result.Attributes?.ApproximateNumberOfMessages ?? 0),
      inFlight: Number(result.Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0),
    };
  };
  const sample = async () => {
    if (busy) return;
    busy = true;
    try {
      const at = Date.now();
      await Promise.all(
        consumers.map(async (consumer) => {
          const [queue, dlq] = await Promise.all([
            attributes(consumer.queueUrl),
            attributes(consumer.deadLetterQueueUrl),
          ]);
          const stats = consumer.poller.stats;
          const before = previous.get(consumer.name) ?? { ...stats, at };
          const seconds = Math.max(0.001, (at - before.at) / 1000);
          const { oldestAgeMs, latenciesMs } = consumer.poller.takeSample();
          latenciesMs.sort((a, b) => a - b);
          const buffer = buffers[consumer.name] as Sample[];
          buffer.push({
            at,
            depth: queue.visible,
            inFlight: queue.inFlight,
            deadLettered: dlq.visible + dlq.inFlight,
            oldestAgeSeconds: Math.round(oldestAgeMs / 100) / 10,
            inPerSecond: Math.round((stats.received - before.received) / seconds),
            outPerSecond: Math.round((stats.deleted - before.deleted) / seconds),
            retriesPerSecond: Math.round((stats.failedRecords - before.failedRecords) / seconds),
            latencyP50Ms: latenciesMs.length > 0 ? (latenciesMs[Math.floor(latenciesMs.length * 0.5)] as number) : null,
            latencyP99Ms:
              latenciesMs.length > 0
                ? (latenciesMs[Math.min(latenciesMs.length - 1, Math.floor(latenciesMs.length * 0.99))] as number)
                : null,
          });
          if (buffer.length > SAMPLES_KEPT) buffer.splice(0, buffer.length - SAMPLES_KEPT);
          previous.set(consumer.name, { ...stats, at });
        }),
      );
      sampledAt = at;
    } catch {
      // An engine that is stopping: the next tick tries again.
    } finally {
      busy = false;
    }
  };
  const timer = setInterval(() => void sample(), intervalMs);
  return {
    metrics: () => ({ sampledAt, ingress: ingress ? { ...ingress.stats } : undefined, consumers: buffers }),
    stop: () => clearInterval(timer),
  };
}
