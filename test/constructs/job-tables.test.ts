import { App, aws_iam as iam, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { describe, expect, test } from 'vitest';
import { JobTables } from '../../lib/constructs/job-tables.ts';
import { ENV, IDEMPOTENCY_TABLE, JOB_TABLE } from '../../lib/definition/index.ts';

function unbundledStack(): Stack {
  return new Stack(new App(), 'Test');
}

describe('JobTables', () => {
  test('creates the job table from lib/definition with on-demand capacity, PITR, encryption and TTL', () => {
    // GIVEN
    const stack = unbundledStack();
    // WHEN
    new JobTables(stack, 'Tables', { idempotency: false });
    // THEN
    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::DynamoDB::Table', 1);
    template.hasResource('AWS::DynamoDB::Table', {
      DeletionPolicy: 'Retain',
      Properties: {
        KeySchema: [{ AttributeName: JOB_TABLE.partitionKey, KeyType: 'HASH' }],
        BillingMode: 'PAY_PER_REQUEST',
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        SSESpecification: { SSEEnabled: true },
        TimeToLiveSpecification: { AttributeName: JOB_TABLE.ttlAttribute, Enabled: true },
      },
    });
  });

  test('creates the idempotency table keyed as lib/definition says', () => {
    // GIVEN
    const stack = unbundledStack();
    // WHEN
    new JobTables(stack, 'Tables', { jobs: false, removalPolicy: RemovalPolicy.DESTROY });
    // THEN
    Template.fromStack(stack).hasResource('AWS::DynamoDB::Table', {
      DeletionPolicy: 'Delete',
      Properties: { KeySchema: [{ AttributeName: IDEMPOTENCY_TABLE.partitionKey, KeyType: 'HASH' }] },
    });
  });

  test('grants read/write on both tables and names them in the environment', () => {
    // GIVEN
    const stack = unbundledStack();
    const tables = new JobTables(stack, 'Tables');
    const role = new iam.Role(stack, 'Role', { assumedBy: new iam.AccountRootPrincipal() });
    // WHEN
    const environment = tables.grantTo(role);
    // THEN
    expect(Object.keys(environment).sort()).toEqual([ENV.idempotencyTableName, ENV.jobTableName].sort());
    Template.fromStack(stack).hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Action: Match.arrayWith(['dynamodb:PutItem', 'dynamodb:UpdateItem']) }),
        ]),
      },
    });
  });
});
