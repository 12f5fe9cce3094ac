import { RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import { ENV, IDEMPOTENCY_TABLE, JOB_TABLE, type TableShape } from '../definition/index.ts';
import { InvalidPropsError } from './errors.ts';
import { jobTablesProblems } from './validate-job-tables.ts';

/** Props of {@link JobTables}. */
export interface JobTablesProps {
  /**
   * Create the job status table (one item per job: state, timestamps, attempts, last error).
   * @default true
   */
  readonly jobs?: boolean;
  /**
   * Create the idempotency table (one item per processed key, with an owner token and a lease).
   * @default true
   */
  readonly idempotency?: boolean;
  /**
   * What happens to the tables when they leave the stack. Job history and idempotency keys are lost on DESTROY.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
  /**
   * How both tables are encrypted at rest (DynamoDB always encrypts; this picks the key):
   * - `AWS_MANAGED`: the `aws/dynamodb` KMS key in your account — its use shows in CloudTrail, at KMS request
   *   prices (DynamoDB caches the table key, so calls are few);
   * - `DEFAULT`: an AWS owned key — no KMS charges, no CloudTrail record of its use;
   * - `CUSTOMER_MANAGED`: `encryptionKey` — your key policy, rotation and audit.
   * https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/EncryptionAtRest.html
   * @default dynamodb.TableEncryption.AWS_MANAGED
   */
  readonly encryption?: dynamodb.TableEncryption;
  /**
   * The KMS key of both tables; required with `encryption: CUSTOMER_MANAGED`, not allowed otherwise.
   * @default - none
   */
  readonly encryptionKey?: kms.IKey;
}

/**
 * The DynamoDB tables the consumer runtime uses for job status and idempotency: on-demand capacity, point-in-time
 * recovery, encryption with the AWS managed `aws/dynamodb` key unless `encryption` says otherwise (stated explicitly
 * in the template), and TTL on the attribute the runtime writes.
 *
 * @example
 * const tables = new JobTables(this, 'Tables');
 * tables.grantTo(consumer.function);
 */
export class JobTables extends Construct {
  readonly jobTable?: dynamodb.Table;
  readonly idempotencyTable?: dynamodb.Table;
  /** The encryption both tables use. */
  readonly encryption: dynamodb.TableEncryption;
  private readonly encryptionKey?: kms.IKey;

  constructor(scope: Construct, id: string, props: JobTablesProps = {}) {
    super(scope, id);
    const problems = jobTablesProblems(props);
    if (problems.length > 0) throw new InvalidPropsError('JobTables', this.node.path, problems);
    this.encryption = props.encryption ?? dynamodb.TableEncryption.AWS_MANAGED;
    if (props.encryptionKey) this.encryptionKey = props.encryptionKey;
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    if (props.jobs ?? true) {
      this.jobTable = this.createTable('JobTable', JOB_TABLE, removalPolicy);
    }
    if (props.idempotency ?? true) {
      this.idempotencyTable = this.createTable('IdempotencyTable', IDEMPOTENCY_TABLE, removalPolicy);
    }
  }

  /**
   * Lets `grantee` read and write both tables (dynamodb:GetItem, PutItem, UpdateItem, DeleteItem, ConditionCheckItem,
   * BatchGetItem, BatchWriteItem, Query, Scan, DescribeTable) and returns the environment variables that name them.
   */
  grantTo(grantee: iam.IGrantable): Record<string, string> {
    const environment: Record<string, string> = {};
    if (this.jobTable) {
      this.jobTable.grantReadWriteData(grantee);
      environment[ENV.jobTableName] = this.jobTable.tableName;
    }
    if (this.idempotencyTable) {
      this.idempotencyTable.grantReadWriteData(grantee);
      environment[ENV.idempotencyTableName] = this.idempotencyTable.tableName;
    }
    return environment;
  }

  private createTable(id: string, shape: TableShape, removalPolicy: RemovalPolicy): dynamodb.Table {
    return new dynamodb.Table(this, id, {
      partitionKey: { name: shape.partitionKey, type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      timeToLiveAttribute: shape.ttlAttribute,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      encryption: this.encryption,
      ...(this.encryptionKey ? { encryptionKey: this.encryptionKey } : {}),
      removalPolicy,
    });
  }
}
