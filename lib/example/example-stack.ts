import { Stack, type StackProps, Validations } from 'aws-cdk-lib';
import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import * as iam from 'aws-cdk-lib/aws-iam';
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
  /**
   * Set API Gateway's CloudWatch role for the account and Region (`AWS::ApiGateway::Account`), which the API's
   * execution and access logs need (https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-logging.html).
   * It is one setting shared by every API there, so the app changes it only when asked:
   * `npx cdk deploy -c sluice:apiGatewayCloudWatchRole=true` on an account that has none yet.
   * @default - the `sluice:apiGatewayCloudWatchRole` context value, else false
   */
  readonly apiGatewayCloudWatchRole?: boolean;
}

/** The context key that opts the example app into setting API Gateway's account-level CloudWatch role. */
export const API_GATEWAY_CLOUDWATCH_ROLE_CONTEXT = 'sluice:apiGatewayCloudWatchRole';

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
    const context = this.node.tryGetContext(API_GATEWAY_CLOUDWATCH_ROLE_CONTEXT);
    if (ingress && (props.apiGatewayCloudWatchRole ?? (context === true || context === 'true'))) {
      const role = new iam.Role(this, 'ApiGatewayCloudWatchRole', {
        assumedBy: new iam.ServicePrincipal('apigateway.amazonaws.com'),
        description: "API Gateway's account-level role for writing CloudWatch Logs",
        managedPolicies: [
          iam.ManagedPolicy.fromAwsManagedPolicyName('service-role/AmazonAPIGatewayPushToCloudWatchLogs'),
        ],
      });
      const account = new apigateway.CfnAccount(this, 'ApiGatewayAccount', { cloudWatchRoleArn: role.roleArn });
      // The stage turns logging on, which API Gateway refuses until the account has the role.
      ingress.api.api.deploymentStage.node.addDependency(account);
      Validations.of(role).acknowledge({
        id: 'AwsSolutions::AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]',
        reason:
          "API Gateway's account-level CloudWatch role uses the AWS-managed AmazonAPIGatewayPushToCloudWatchLogs policy, which AWS maintains for exactly this purpose.",
      });
    }
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
      );
    }
  }
}
