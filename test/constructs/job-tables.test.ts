import { App, aws_iam as iam, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as kms from 'aws-cdk-lib/aws-kms';
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

  test('encrypts both tables with the AWS managed key (aws/dynamodb) unless told otherwise', () => {
    // GIVEN
    const stack = unbundledStack();
    // WHEN
    const tables = new JobTables(stack, 'Tables');
    // THEN SSE with KMS and no key of ours: DynamoDB uses aws/dynamodb
    expect(tables.encryption).toBe(dynamodb.TableEncryption.AWS_MANAGED);
    const template = Template.fromStack(stack);
    template.resourcePropertiesCountIs('AWS::DynamoDB::Table', { SSESpecification: { SSEEnabled: true } }, 2);
    template.resourceCountIs('AWS::KMS::Key', 0);
  });

  test('encrypts both tables with a customer managed key, or an AWS owned key, when asked', () => {
    // GIVEN
    const stack = unbundledStack();
    const key = new kms.Key(stack, 'Key');
    // WHEN
    new JobTables(stack, 'Tables', { encryption: dynamodb.TableEncryption.CUSTOMER_MANAGED, encryptionKey: key });
    new JobTables(stack, 'Owned', { encryption: dynamodb.TableEncryption.DEFAULT, idempotency: false });
    // THEN SSEEnabled false is DynamoDB's AWS owned key
    const template = Template.fromStack(stack);
    template.resourcePropertiesCountIs(
      'AWS::DynamoDB::Table',
      { SSESpecification: { SSEEnabled: true, SSEType: 'KMS', KMSMasterKeyId: Match.anyValue() } },
      2,
    );
    template.resourcePropertiesCountIs('AWS::DynamoDB::Table', { SSESpecification: { SSEEnabled: false } }, 1);
  });

  test('fails if a customer managed key is asked for without a key', () => {
    expect(
      () => new JobTables(unbundledStack(), 'Tables', { encryption: dynamodb.TableEncryption.CUSTOMER_MANAGED }),
    ).toThrow(/encryptionKey is required when encryption is CUSTOMER_MANAGED, but none was provided/);
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
