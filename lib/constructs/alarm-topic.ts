import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';

/** Props of an {@link AlarmTopic}. */
export interface AlarmTopicProps {
  /**
   * Display name of the topic.
   * @default - none
   */
  readonly displayName?: string;
}

/**
 * An SNS topic for alarms: TLS-only, encrypted with a key of its own (with rotation) that CloudWatch may use —
 * CloudWatch cannot publish to a topic encrypted with the AWS-managed `aws/sns` key.
 */
export class AlarmTopic extends Construct {
  readonly topic: sns.Topic;
  readonly key: kms.Key;

  constructor(scope: Construct, id: string, props: AlarmTopicProps = {}) {
    super(scope, id);
    this.key = new kms.Key(this, 'Key', { description: 'Encrypts the sluice alarm topic', enableKeyRotation: true });
    this.key.grant(new iam.ServicePrincipal('cloudwatch.amazonaws.com'), 'kms:Decrypt', 'kms:GenerateDataKey*');
    this.topic = new sns.Topic(this, 'Topic', {
      masterKey: this.key,
      enforceSSL: true,
      ...(props.displayName === undefined ? {} : { displayName: props.displayName }),
    });
  }
}
