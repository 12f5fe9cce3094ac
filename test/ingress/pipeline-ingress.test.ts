import { describe, expect, it } from 'vitest';
import { DocumentJob } from '../../functions/examples/schemas.ts';
import { PipelineIngress } from '../../lib/constructs/pipeline-ingress.ts';
import { Stage } from '../../lib/constructs/stage.ts';
import { definePipeline, requestJsonSchema } from '../../lib/definition/index.ts';
import { ECHO_ENTRY, templateOf, testStack } from '../helpers/stacks.ts';

function ingressWith(cloudWatchRole: boolean | undefined) {
  const stack = testStack();
  const pipeline = definePipeline({
    name: 'docs',
    stages: [{ name: 'take', consumer: { entry: ECHO_ENTRY } }],
    ingress: {},
  });
  const stageDefinition = pipeline.stages[0] ?? expect.fail('no stage');
  new PipelineIngress(stack, 'Ingress', {
    ingress: pipeline.ingress ?? expect.fail('no ingress'),
    stageDefinition,
    stage: new Stage(stack, 'Take', { stage: stageDefinition }),
    pipelineName: 'docs',
    requestSchema: requestJsonSchema(DocumentJob).schema,
    ...(cloudWatchRole === undefined ? {} : { cloudWatchRole }),
  });
  return templateOf(stack);
}

describe('PipelineIngress', () => {
  it("sets API Gateway's account-level CloudWatch role only when asked", () => {
    ingressWith(undefined).resourceCountIs('AWS::ApiGateway::Account', 0);
    ingressWith(true).resourceCountIs('AWS::ApiGateway::Account', 1);
  });
});
