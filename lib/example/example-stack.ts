import { Stack, type StackProps, Validations } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { DocumentJob } from '../../functions/examples/schemas.ts';
import { Pipeline } from '../constructs/pipeline.ts';
import { type Pipeline as PipelineDefinition, requestJsonSchema } from '../definition/index.ts';
import { DocumentIndex } from './document-index.ts';
import { examplePipeline } from './pipeline.ts';

/** Props of the {@link ExampleStack}. */
export interface ExampleStackProps extends StackProps {
  /**
   * The pipeline to build.
   * @default examplePipeline
   */
  readonly definition?: PipelineDefinition;
}

/**
 * The example app's stack: one pipeline from one definition. It passes cdk-nag's AwsSolutions checks with no
 * acknowledgement; a finding added later must be fixed, or acknowledged here with its reason.
 */
export class ExampleStack extends Stack {
  readonly pipeline: Pipeline;

  constructor(scope: Construct, id: string, props: ExampleStackProps = {}) {
    super(scope, id, props);
    this.pipeline = new Pipeline(this, 'Pipeline', {
      definition: props.definition ?? examplePipeline,
      requestSchema: requestJsonSchema(DocumentJob, { title: 'DocumentJob' }).schema,
    });
    if (!props.definition) new DocumentIndex(this, 'Index', { writer: this.pipeline.stage('index') });
    const ingress = this.pipeline.ingress;
    if (ingress) {
      Validations.of(ingress.api).acknowledge(
        {
          id: 'AwsSolutions::AwsSolutions-COG4',
          reason:
            'Producers are identified by API keys and usage plans; the Lambda authorizer is the depth check (backpressure), not user authentication.',
        },
        {
          id: 'AwsSolutions::AwsSolutions-APIG3',
          reason: 'WAF is deployment-specific (rules, cost); the example leaves attaching a web ACL to the operator.',
        },
        {
          id: 'AwsSolutions::AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]',
          reason:
            "API Gateway's account-level CloudWatch role uses the AWS-managed AmazonAPIGatewayPushToCloudWatchLogs policy, which AWS maintains for exactly this purpose.",
        },
      );
    }
  }
}
