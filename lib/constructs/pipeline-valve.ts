import { Duration, Stack } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { ENV } from '../definition/index.ts';
import type { ControlTable } from './control-table.ts';
import type { DurableQueue } from './durable-queue.ts';
import { InvalidPropsError } from './errors.ts';
import { IngressFunction, sluiceFunctionEntry } from './ingress-function.ts';
import type { QueueConsumer } from './queue-consumer.ts';

/** A stage the valve watches. */
export interface ValveStageProps {
  /** The stage's name (its breaker's key). */
  readonly stage: string;
  /** The stage's consumer, whose event source mapping the valve switches. */
  readonly consumer: QueueConsumer;
  /**
   * The stage breaker's open time: while it is open the mapping is disabled.
   * @default - the stage has no breaker
   */
  readonly breakerOpen?: Duration;
  /**
   * The next stage's queue and hard depth limit: while its depth is at or over the limit the mapping is disabled.
   * @default - the stage has no next stage
   */
  readonly next?: { readonly queue: DurableQueue; readonly depthLimit: number };
}

/** Props of a {@link PipelineValve}. */
export interface PipelineValveProps {
  readonly pipelineName: string;
  readonly stages: readonly ValveStageProps[];
  /**
   * The control table holding the stages' breakers.
   * @default - none (only valid when no stage has a breaker)
   */
  readonly controlTable?: ControlTable;
  /**
   * Time between two passes over the stages.
   * @default Duration.seconds(5)
   */
  readonly interval?: Duration;
}

/** How long one run of the valve lasts: most of its one-minute schedule, leaving time to end before the next. */
export const VALVE_RUN_SECONDS = 50;

/**
 * The valve of a pipeline: a function an EventBridge rule runs every minute, which loops for ~50 s and, every few
 * seconds, reads each watched stage's circuit breaker and its next stage's depth and switches the stage's SQS event
 * source mapping with `UpdateEventSourceMapping` (`Enabled: false` while the breaker is open or the next stage is
 * over its hard limit; `Enabled: true` again, half-open first, when it allows). A disabled mapping polls no more, so
 * no record is received (and no retry budget spent) while the stage could not do its work.
 *
 * Its role may call `lambda:GetEventSourceMapping` and `lambda:UpdateEventSourceMapping` on the watched mappings'
 * ARNs only (https://docs.aws.amazon.com/lambda/latest/dg/lambda-api-permissions-ref.html), read the control table,
 * and call `sqs:GetQueueAttributes` on the next stages' queues. The mappings do not depend on the valve, so the
 * valve depending on them creates no cycle.
 *
 * @example
 * new PipelineValve(this, 'Valve', { pipelineName: 'documents', stages: [{ stage: 'embed', consumer, breakerOpen: Duration.seconds(30) }], controlTable });
 */
export class PipelineValve extends Construct {
  readonly function: IngressFunction;
  readonly rule: events.Rule;

  constructor(scope: Construct, id: string, props: PipelineValveProps) {
    super(scope, id);
    const interval = props.interval ?? Duration.seconds(5);
    const problems: string[] = [];
    const intervalSeconds = interval.toSeconds();
    if (!Number.isInteger(intervalSeconds) || intervalSeconds < 1 || intervalSeconds > 30) {
      problems.push(`interval must be between 1 and 30 seconds, but ${intervalSeconds} seconds was provided`);
    }
    if (props.stages.length === 0) {
      problems.push('stages must hold at least 1 stage with a breaker or a next stage, but none was provided');
    }
    if (!props.controlTable && props.stages.some((stage) => stage.breakerOpen !== undefined)) {
      problems.push('controlTable is required when a watched stage has a breaker, but none was provided');
    }
    if (problems.length > 0) throw new InvalidPropsError('PipelineValve', this.node.path, problems);

    const config = {
      pipeline: props.pipelineName,
      intervalSeconds,
      runSeconds: VALVE_RUN_SECONDS,
      stages: props.stages.map((stage) => ({
        stage: stage.stage,
        mappingId: stage.consumer.eventSource.eventSourceMappingId,
        ...(stage.breakerOpen === undefined ? {} : { openSeconds: stage.breakerOpen.toSeconds() }),
        ...(stage.next === undefined
          ? {}
          : { nextQueueUrl: stage.next.queue.queue.queueUrl, nextDepthLimit: stage.next.depthLimit }),
      })),
    };
    this.function = new IngressFunction(this, 'Valve', {
      entry: sluiceFunctionEntry('valve/handler.ts'),
      description: `sluice valve of pipeline ${props.pipelineName}`,
      // One run at a time: two valves would fight over the same mappings.
      reservedConcurrency: 1,
      timeout: Duration.seconds(VALVE_RUN_SECONDS + 10),
      environment: {
        SLUICE_VALVE: Stack.of(this).toJsonString(config),
        ...(props.controlTable ? { [ENV.controlTableName]: props.controlTable.table.tableName } : {}),
      },
    });
    const fn = this.function.function;
    fn.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['lambda:GetEventSourceMapping', 'lambda:UpdateEventSourceMapping'],
        resources: props.stages.map((stage) => stage.consumer.eventSource.eventSourceMappingArn),
      }),
    );
    props.controlTable?.grantRead(fn);
    for (const stage of props.stages) stage.next?.queue.queue.grant(fn, 'sqs:GetQueueAttributes');
    this.rule = new events.Rule(this, 'Schedule', {
      description: `Runs the sluice valve of pipeline ${props.pipelineName}`,
      schedule: events.Schedule.rate(Duration.minutes(1)),
      targets: [new targets.LambdaFunction(fn, { retryAttempts: 0 })],
    });
  }
}
