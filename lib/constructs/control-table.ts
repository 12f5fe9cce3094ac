import { RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { CONTROL_TABLE, ENV } from '../definition/index.ts';

/** Props of a {@link ControlTable}. */
export interface ControlTableProps {
  /**
   * Removal policy of the table. Its items are short-lived (token buckets, breaker states, leases), so losing them
   * costs nothing but a cold start of the limiters.
   * @default RemovalPolicy.DESTROY
   */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * The control table of a pipeline: the shared state of its pressure mechanisms (rate limiters' token buckets,
 * circuit breakers, tenant leases), one item per key, read and written with conditional updates by every container
 * of the pipeline's stages and by its valve. On-demand capacity, point-in-time recovery, AWS-managed encryption and
 * TTL on `expiresAt` (leases of crashed containers expire).
 *
 * @example
 * const control = new ControlTable(this, 'Control');
 * consumer.addEnvironment(ENV.controlTableName, control.grantReadWrite(consumer.function));
 */
export class ControlTable extends Construct {
  readonly table: dynamodb.Table;

  constructor(scope: Construct, id: string, props: ControlTableProps = {}) {
    super(scope, id);
    this.table = new dynamodb.Table(this, 'Table', {
      partitionKey: { name: CONTROL_TABLE.partitionKey, type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      timeToLiveAttribute: CONTROL_TABLE.ttlAttribute,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      encryption: dynamodb.TableEncryption.AWS_MANAGED,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.DESTROY,
    });
  }

  /**
   * Lets `grantee` read and conditionally write items (dynamodb:GetItem, PutItem, UpdateItem, DeleteItem,
   * ConditionCheckItem, BatchGetItem, BatchWriteItem, Query, Scan, DescribeTable) and returns the table's name, the
   * value of `SLUICE_CONTROL_TABLE`.
   */
  grantReadWrite(grantee: iam.IGrantable): string {
    this.table.grantReadWriteData(grantee);
    return this.table.tableName;
  }

  /** Lets `grantee` read items (dynamodb:GetItem, BatchGetItem, Query, Scan, ConditionCheckItem, DescribeTable). */
  grantRead(grantee: iam.IGrantable): iam.Grant {
    return this.table.grantReadData(grantee);
  }

  /** The environment variable naming the table. */
  get environment(): Record<string, string> {
    return { [ENV.controlTableName]: this.table.tableName };
  }
}
