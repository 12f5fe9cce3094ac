import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { ExampleStack } from '../lib/example/example-stack.ts';

/** The example CDK app (`cdk.json` points here): the example pipeline in one stack, checked by cdk-nag. */
const app = new App();
new ExampleStack(app, 'SluiceDocuments', {
  env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
});
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
