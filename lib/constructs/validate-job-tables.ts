import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type { JobTablesProps } from './job-tables.ts';

/** Every problem with a {@link JobTablesProps}, each naming the prop, what is allowed and what was given. */
export function jobTablesProblems(props: JobTablesProps): string[] {
  const problems: string[] = [];
  const encryption = props.encryption ?? dynamodb.TableEncryption.AWS_MANAGED;
  const customerManaged = encryption === dynamodb.TableEncryption.CUSTOMER_MANAGED;
  if (customerManaged && !props.encryptionKey) {
    problems.push('encryptionKey is required when encryption is CUSTOMER_MANAGED, but none was provided');
  }
  if (!customerManaged && props.encryptionKey) {
    problems.push(`encryptionKey is only used with encryption CUSTOMER_MANAGED, but encryption is ${encryption}`);
  }
  return problems;
}
