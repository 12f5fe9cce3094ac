import { type CloudFormationClient, DescribeStacksCommand, type Output } from '@aws-sdk/client-cloudformation';
import { GetQueueAttributesCommand, GetQueueUrlCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { localQueueNames } from '../local/queue-names.ts';
import { ResourcesNotFoundError } from './errors.ts';

/** One stage's resources. */
export interface StageResources {
  readonly stage: string;
  readonly queueUrl: string;
  readonly queueArn?: string;
  /** The queue's name: CloudWatch's SQS metrics are keyed by it (dimension `QueueName`). */
  readonly queueName: string;
  readonly deadLetterQueueUrl: string;
  readonly deadLetterQueueArn?: string;
  readonly deadLetterQueueName: string;
  /** The consumer function (Lambda metrics' `FunctionName`), when deployed. */
  readonly functionName?: string;
  readonly ageSloSeconds: number;
}

/** A pipeline's resources. */
export interface PipelineResources {
  readonly pipeline: string;
  readonly stages: readonly StageResources[];
  readonly jobTable?: string;
}

/** Description prefix of the outputs `PipelineMonitoring` writes (the construct's `SLUICE_OUTPUT_DESCRIPTION`). */
const OUTPUT_DESCRIPTION = 'sluice:';

/**
 * The pipeline in a stack's outputs: `PipelineMonitoring` writes one JSON output per stage and one for the pipeline,
 * each described `sluice:…` (DescribeStacks: https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_DescribeStacks.html).
 */
export function resourcesFromOutputs(
  stackName: string,
  outputs: readonly Output[],
  pipeline?: string,
): PipelineResources {
  const parsed = outputs
    .filter((output) => output.Description?.startsWith(OUTPUT_DESCRIPTION) && output.OutputValue)
    .map((output) => JSON.parse(output.OutputValue as string) as Record<string, unknown>);
  const pipelines = parsed.filter((value) => value.kind === 'pipeline');
  const names = pipelines.map((value) => String(value.pipeline));
  if (names.length === 0) {
    throw new ResourcesNotFoundError(
      `stack ${stackName} has no sluice outputs; deploy it with a Pipeline (or PipelineMonitoring) from this version of sluice`,
    );
  }
  const chosen = pipeline ?? (names.length === 1 ? names[0] : undefined);
  if (chosen === undefined || !names.includes(chosen)) {
    throw new ResourcesNotFoundError(
      `stack ${stackName} holds pipelines ${names.join(', ')}; ${pipeline === undefined ? 'choose one' : `it has no pipeline '${pipeline}'; choose one`} with --pipeline-name`,
    );
  }
  const head = pipelines.find((value) => value.pipeline === chosen) as Record<string, unknown>;
  const order = (head.stages as string[]) ?? [];
  const stages = parsed
    .filter((value) => value.kind === 'stage' && value.pipeline === chosen)
    .map(
      (value): StageResources => ({
        stage: String(value.stage),
        queueUrl: String(value.queueUrl),
        queueArn: String(value.queueArn),
        queueName: String(value.queueName),
        deadLetterQueueUrl: String(value.deadLetterQueueUrl),
        deadLetterQueueArn: String(value.deadLetterQueueArn),
        deadLetterQueueName: String(value.deadLetterQueueName),
        functionName: String(value.functionName),
        ageSloSeconds: Number(value.ageSloSeconds),
      }),
    )
    .sort((a, b) => order.indexOf(a.stage) - order.indexOf(b.stage));
  return { pipeline: chosen, stages, ...(typeof head.jobTable === 'string' ? { jobTable: head.jobTable } : {}) };
}

/** Reads a stack's outputs. */
export async function resourcesFromStack(
  cloudFormation: CloudFormationClient,
  stackName: string,
  pipeline?: string,
): Promise<PipelineResources> {
  let outputs: Output[];
  try {
    const result = await cloudFormation.send(new DescribeStacksCommand({ StackName: stackName }));
    outputs = result.Stacks?.[0]?.Outputs ?? [];
  } catch (error) {
    throw new ResourcesNotFoundError(
      `cannot read stack ${stackName}: ${(error as Error).message} (check --stack, the region and your credentials)`,
      { cause: error },
    );
  }
  return resourcesFromOutputs(stackName, outputs, pipeline);
}

/** The stages of a pipeline run by `sluice dev` (or on LocalStack), found by the names the local runtime gives them. */
export async function resourcesByName(
  sqs: SQSClient,
  pipeline: {
    readonly name: string;
    readonly stages: readonly { readonly name: string; readonly fifo: boolean; readonly ageSloSeconds: number }[];
    readonly jobTable?: string;
  },
  prefix: string = pipeline.name,
): Promise<PipelineResources> {
  const stages: StageResources[] = [];
  for (const stage of pipeline.stages) {
    const { queueName, deadLetterQueueName } = localQueueNames(prefix, stage.name, stage.fifo);
    const [queueUrl, deadLetterQueueUrl] = await Promise.all([
      queueUrlOf(sqs, queueName),
      queueUrlOf(sqs, deadLetterQueueName),
    ]);
    const [queueArn, deadLetterQueueArn] = await Promise.all([arnOf(sqs, queueUrl), arnOf(sqs, deadLetterQueueUrl)]);
    stages.push({
      stage: stage.name,
      queueUrl,
      queueArn,
      queueName,
      deadLetterQueueUrl,
      deadLetterQueueArn,
      deadLetterQueueName,
      ageSloSeconds: stage.ageSloSeconds,
    });
  }
  return { pipeline: pipeline.name, stages, ...(pipeline.jobTable ? { jobTable: pipeline.jobTable } : {}) };
}

/** The stage called `name`; the error lists the stages there are. */
export function stageNamed(resources: PipelineResources, name: string): StageResources {
  const stage = resources.stages.find((candidate) => candidate.stage === name);
  if (!stage) {
    throw new ResourcesNotFoundError(
      `pipeline ${resources.pipeline} has no stage '${name}'; its stages are: ${resources.stages.map((candidate) => candidate.stage).join(', ')}`,
    );
  }
  return stage;
}

async function queueUrlOf(sqs: SQSClient, queueName: string): Promise<string> {
  try {
    const result = await sqs.send(new GetQueueUrlCommand({ QueueName: queueName }));
    return result.QueueUrl as string;
  } catch (error) {
    throw new ResourcesNotFoundError(
      `queue ${queueName} not found at the endpoint (${(error as Error).message}); is 'sluice dev' running with this pipeline, and is --endpoint its SQS endpoint?`,
      { cause: error },
    );
  }
}

async function arnOf(sqs: SQSClient, queueUrl: string): Promise<string> {
  const result = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }));
  return result.Attributes?.QueueArn as string;
}
