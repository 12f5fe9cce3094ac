import { RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';
import { INDEX_TABLE_ENV, INDEX_TABLE_KEY } from '../../functions/examples/index-table.ts';
import type { Stage } from '../constructs/stage.ts';

/** Props of a {@link DocumentIndex}. */
export interface DocumentIndexProps {
  /** The stage whose consumer writes into the index. */
  readonly writer: Stage;
  /**
   * Removal policy of the table.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * The example's index: a DynamoDB table (on-demand, point-in-time recovery, encrypted) of embedded chunks, written by
 * the `index` stage, which finds its name in `EXAMPLE_INDEX_TABLE`.
 */
export class DocumentIndex extends Construct {
  readonly table: dynamodb.TableV2;

  constructor(scope: Construct, id: string, props: DocumentIndexProps) {
    super(scope, id);
    this.table = new dynamodb.TableV2(this, 'Table', {
      partitionKey: { name: INDEX_TABLE_KEY, type: dynamodb.AttributeType.STRING },
      billing: dynamodb.Billing.onDemand(),
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      encryption: dynamodb.TableEncryptionV2.awsManagedKey(),
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    });
    this.table.grantWriteData(props.writer.consumer.function);
    props.writer.consumer.addEnvironment(INDEX_TABLE_ENV, this.table.tableName);
  }
}
