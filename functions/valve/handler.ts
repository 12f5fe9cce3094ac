import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetEventSourceMappingCommand, LambdaClient, UpdateEventSourceMappingCommand } from '@aws-sdk/client-lambda';
import { GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { ENV } from '../../lib/definition/environment.ts';
import { DEPTH_ATTRIBUTES } from '../../lib/definition/limits.ts';
import { readBreaker } from '../runtime/circuit-breaker.ts';
import { runValve, type ValvePorts, type ValveStage } from './valve.ts';

/**
 * The deployed valve: an EventBridge rule invokes it every minute, and it runs passes every few seconds for about
 * 50 s, so a stage is paused or resumed within seconds of its breaker or its next stage changing. It switches each
 * stage's SQS event source mapping with `UpdateEventSourceMapping` (`Enabled`); a mapping that is still `Enabling`
 * or `Disabling` counts as the state it is moving to
 * (https://docs.aws.amazon.com/lambda/latest/api/API_GetEventSourceMapping.html).
 */

/** A watched stage and its mapping, as the `PipelineValve` construct writes them into `SLUICE_VALVE`. */
export interface ValveStageConfig extends ValveStage {
  /** The UUID of the stage's event source mapping. */
  readonly mappingId: string;
}

/** The valve's settings (`SLUICE_VALVE`, JSON). */
export interface ValveConfig {
  readonly pipeline: string;
  readonly stages: readonly ValveStageConfig[];
  readonly intervalSeconds: number;
  readonly runSeconds: number;
}

/** Environment variable holding the {@link ValveConfig}. */
export const VALVE_ENV = 'SLUICE_VALVE';

/** Ports on AWS: DynamoDB for the breakers, SQS for depths, Lambda for the mappings. */
export function awsValvePorts(args: {
  readonly config: ValveConfig;
  readonly controlTableName: string | undefined;
  readonly lambda: LambdaClient;
  readonly sqs: SQSClient;
  readonly dynamo: DynamoDBClient;
}): ValvePorts {
  const mappings = new Map(args.config.stages.map((stage) => [stage.stage, stage.mappingId]));
  const mappingOf = (stage: string) => {
    const id = mappings.get(stage);
    if (!id) throw new Error(`The valve has no event source mapping for stage '${stage}'.`);
    return id;
  };
  return {
    async readBreaker(stage) {
      if (!args.controlTableName)
        throw new Error(`${ENV.controlTableName} is not set: the valve cannot read breakers.`);
      return readBreaker(args.dynamo, args.controlTableName, args.config.pipeline, stage);
    },
    async readDepth(queueUrl) {
      const result = await args.sqs.send(
        new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: [...DEPTH_ATTRIBUTES] }),
      );
      return DEPTH_ATTRIBUTES.reduce((sum, name) => sum + Number(result.Attributes?.[name] ?? 0), 0);
    },
    async isEnabled(stage) {
      const mapping = await args.lambda.send(new GetEventSourceMappingCommand({ UUID: mappingOf(stage) }));
      return mapping.State === 'Enabled' || mapping.State === 'Enabling' || mapping.State === 'Updating';
    },
    async setEnabled(stage, enabled, decision) {
      await args.lambda.send(new UpdateEventSourceMappingCommand({ UUID: mappingOf(stage), Enabled: enabled }));
      console.log(
        JSON.stringify({ level: 'INFO', message: 'Event source switched', stage, enabled, reason: decision.reason }),
      );
    },
  };
}

/** Reads the valve's settings from its environment. */
export function valveConfigFromEnvironment(env: NodeJS.ProcessEnv = process.env): ValveConfig {
  const raw = env[VALVE_ENV];
  if (!raw) throw new Error(`${VALVE_ENV} is not set: the valve does not know its stages.`);
  try {
    return JSON.parse(raw) as ValveConfig;
  } catch (error) {
    throw new Error(`${VALVE_ENV} is not valid JSON.`, { cause: error });
  }
}

let ports: ValvePorts | undefined;

/** The Lambda entry point: passes every `intervalSeconds` for `runSeconds`. */
export async function handler(): Promise<{ switches: number }> {
  const config = valveConfigFromEnvironment();
  ports ??= awsValvePorts({
    config,
    controlTableName: process.env[ENV.controlTableName],
    lambda: new LambdaClient({}),
    sqs: new SQSClient({ useQueueUrlAsEndpoint: false }),
    dynamo: new DynamoDBClient({}),
  });
  const switches = await runValve({
    stages: config.stages,
    ports,
    intervalMs: config.intervalSeconds * 1000,
    durationMs: config.runSeconds * 1000,
    onError: (stage, error) =>
      console.warn(
        JSON.stringify({ level: 'WARN', message: 'Valve pass failed for a stage', stage, error: String(error) }),
      ),
  });
  return { switches };
}
