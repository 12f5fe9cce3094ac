import { Duration } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { ENV } from '../definition/index.ts';
import { InvalidPropsError } from './errors.ts';
import { IngressFunction, sluiceFunctionEntry } from './ingress-function.ts';

/** Props of an {@link OverflowDrainer}. */
export interface OverflowDrainerProps {
  /** The overflow queue requests are parked on; nothing else consumes it. */
  readonly overflowQueue: sqs.IQueue;
  /** The stage's queue the parked requests go back to (the high lane with priority lanes on). */
  readonly queue: sqs.IQueue;
  /**
   * The low lane's queue: parked low-priority envelopes go back there.
   * @default - everything goes back to `queue`
   */
  readonly lowLaneQueue?: sqs.IQueue;
  /** Messages moved per second at most (1–10,000). */
  readonly ratePerSecond: number;
  /** Moves only while the stage's depth (all lanes) is below this. */
  readonly lowWatermark: number;
  /**
   * How often the drainer runs; each run lasts until the overflow queue is empty, the watermark is reached, or the
   * function times out (the schedule's period, at most 15 minutes).
   * @default Duration.minutes(1)
   */
  readonly schedule?: Duration;
}

/**
 * Moves requests parked on the overflow queue back to the stage at a bounded rate, only while the stage is below its
 * low watermark: a Lambda function on an EventBridge schedule, with reserved concurrency 1 so two runs never overlap
 * (and the rate bound holds). Send first, delete after: nothing parked is lost.
 *
 * @example
 * new OverflowDrainer(this, 'Drainer', { overflowQueue, queue, ratePerSecond: 50, lowWatermark: 1000 });
 */
export class OverflowDrainer extends Construct {
  readonly function: IngressFunction;
  readonly rule: events.Rule;

  constructor(scope: Construct, id: string, props: OverflowDrainerProps) {
    super(scope, id);
    const schedule = props.schedule ?? Duration.minutes(1);
    const problems: string[] = [];
    if (!Number.isInteger(props.ratePerSecond) || props.ratePerSecond < 1 || props.ratePerSecond > 10_000) {
      problems.push(`ratePerSecond must be an integer between 1 and 10000, but ${props.ratePerSecond} was provided`);
    }
    if (!Number.isInteger(props.lowWatermark) || props.lowWatermark < 0) {
      problems.push(`lowWatermark must be an integer of at least 0, but ${props.lowWatermark} was provided`);
    }
    const periodSeconds = schedule.toSeconds();
    if (periodSeconds < 60 || periodSeconds > 900) {
      problems.push(`schedule must be between 1 and 15 minutes, but ${periodSeconds} seconds was provided`);
    }
    if (problems.length > 0) throw new InvalidPropsError('OverflowDrainer', this.node.path, problems);

    this.function = new IngressFunction(this, 'Drainer', {
      entry: sluiceFunctionEntry('drainer/handler.ts'),
      description: 'sluice overflow drainer',
      timeout: schedule,
      reservedConcurrency: 1,
      environment: {
        [ENV.overflowQueueUrl]: props.overflowQueue.queueUrl,
        [ENV.queueUrl]: props.queue.queueUrl,
        ...(props.lowLaneQueue ? { [ENV.lowLaneQueueUrl]: props.lowLaneQueue.queueUrl } : {}),
        [ENV.drain]: JSON.stringify({ ratePerSecond: props.ratePerSecond, lowWatermark: props.lowWatermark }),
      },
    });
    const fn = this.function.function;
    props.overflowQueue.grantConsumeMessages(fn);
    for (const queue of [props.queue, props.lowLaneQueue]) {
      queue?.grantSendMessages(fn);
      queue?.grant(fn, 'sqs:GetQueueAttributes');
    }
    this.rule = new events.Rule(this, 'Schedule', {
      description: 'Runs the sluice overflow drainer',
      schedule: events.Schedule.rate(schedule),
      targets: [new targets.LambdaFunction(fn, { retryAttempts: 0 })],
    });
  }
}
