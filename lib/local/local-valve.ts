import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetQueueAttributesCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { readBreaker } from '../../functions/runtime/circuit-breaker.ts';
import type { ValveDecision } from '../../functions/valve/decide.ts';
import { runValve, type ValvePorts, type ValveStage, type ValveStep } from '../../functions/valve/valve.ts';
import type { Pipeline } from '../definition/index.ts';
import { DEPTH_ATTRIBUTES } from '../definition/limits.ts';
import type { EventSourcePoller } from './event-source-poller.ts';
import type { ProvisionedPipeline } from './provision.ts';

/**
 * The valve of a local pipeline: the deployed valve's passes (`functions/valve`), with the local event source
 * pollers' pause and resume in place of `UpdateEventSourceMapping`. It runs every {@link LOCAL_VALVE_INTERVAL_MS}
 * instead of every 5 s, since a local run is short.
 */

/** Milliseconds between two passes of the local valve. */
export const LOCAL_VALVE_INTERVAL_MS = 500;

/** One switch of a stage's pollers, for the dashboard, the scenarios and tests. */
export interface ValveSwitch {
  readonly stage: string;
  readonly enabled: boolean;
  readonly reason: ValveDecision['reason'];
  readonly atMs: number;
}

/** A running local valve. */
export interface LocalValve {
  /** Every switch so far, in order. */
  readonly switches: readonly ValveSwitch[];
  stop(): Promise<void>;
}

/** The stages the valve watches: those with a breaker or a next stage. */
export function valveStagesOf(pipeline: Pipeline, provisioned: ProvisionedPipeline): ValveStage[] {
  return pipeline.stages
    .filter((stage) => stage.breaker !== undefined || stage.next !== undefined)
    .map((stage) => {
      const next = stage.next === undefined ? undefined : provisioned.stages.get(stage.next);
      return {
        stage: stage.name,
        ...(stage.breaker === undefined ? {} : { openSeconds: stage.breaker.openSeconds }),
        ...(next === undefined ? {} : { nextQueueUrl: next.queueUrl, nextDepthLimit: next.stage.flow.depthLimit }),
      };
    });
}

/** Ports on the local engines: the control table for breakers, SQS for depths, the pollers for the switch. */
export function localValvePorts(args: {
  readonly pipeline: string;
  readonly controlTableName: string | undefined;
  readonly sqs: SQSClient;
  readonly dynamo: DynamoDBClient;
  /** A stage's pollers (the ingress stage has one per priority lane). */
  readonly pollersOf: (stage: string) => readonly EventSourcePoller[];
  readonly onSwitch?: (change: ValveSwitch) => void;
}): ValvePorts {
  return {
    async readBreaker(stage) {
      if (!args.controlTableName) return { status: 'closed', openedAtMs: 0 };
      return readBreaker(args.dynamo, args.controlTableName, args.pipeline, stage);
    },
    async readDepth(queueUrl) {
      const result = await args.sqs.send(
        new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: [...DEPTH_ATTRIBUTES] }),
      );
      return DEPTH_ATTRIBUTES.reduce((sum, name) => sum + Number(result.Attributes?.[name] ?? 0), 0);
    },
    async isEnabled(stage) {
      return args.pollersOf(stage).every((poller) => poller.enabled);
    },
    async setEnabled(stage, enabled, decision) {
      for (const poller of args.pollersOf(stage)) {
        if (enabled) poller.resume();
        else poller.pause();
      }
      args.onSwitch?.({ stage, enabled, reason: decision.reason, atMs: Date.now() });
    },
  };
}

/** Starts the valve of a local pipeline; it runs until stopped. */
export function startLocalValve(args: {
  readonly pipeline: Pipeline;
  readonly provisioned: ProvisionedPipeline;
  readonly sqs: SQSClient;
  readonly dynamo: DynamoDBClient;
  readonly pollersOf: (stage: string) => readonly EventSourcePoller[];
  readonly intervalMs?: number;
  readonly onStep?: (step: ValveStep) => void;
}): LocalValve {
  const switches: ValveSwitch[] = [];
  const stages = valveStagesOf(args.pipeline, args.provisioned);
  let stopped = false;
  const ports = localValvePorts({
    pipeline: args.pipeline.name,
    controlTableName: args.provisioned.controlTableName,
    sqs: args.sqs,
    dynamo: args.dynamo,
    pollersOf: args.pollersOf,
    onSwitch: (change) => switches.push(change),
  });
  const running =
    stages.length === 0
      ? Promise.resolve(0)
      : runValve({
          stages,
          ports,
          intervalMs: args.intervalMs ?? LOCAL_VALVE_INTERVAL_MS,
          durationMs: Number.POSITIVE_INFINITY,
          stopped: () => stopped,
          ...(args.onStep ? { onStep: args.onStep } : {}),
        });
  return {
    switches,
    async stop() {
      stopped = true;
      await running;
    },
  };
}
