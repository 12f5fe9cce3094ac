import { App, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { beforeAll, describe, expect, it } from 'vitest';
import { ExampleStack } from '../../lib/example/example-stack.ts';
import { allTemplates, type IamStatement, iamStatements, render } from './iam-statements.ts';

/**
 * Security properties of the example stack, read from its synthesized templates (nested stacks included), so every
 * resource a later change adds is covered without touching this file.
 */

const NO_BUNDLING = { 'aws:cdk:bundling-stacks': [] };

/** A wildcard an Allow statement may hold, and why it is required. */
interface AllowedWildcard {
  readonly resourceType: string;
  /** Every wildcard action of the statement must be listed here. */
  readonly actions: readonly string[];
  /** Every wildcard resource of the statement must match. */
  readonly resource: RegExp;
  readonly principal: RegExp;
  readonly reason: string;
}

const ALLOWED_WILDCARDS: readonly AllowedWildcard[] = [
  {
    resourceType: 'AWS::KMS::Key',
    actions: ['kms:*'],
    resource: /^\*$/,
    principal: /:root/,
    reason:
      'The default key policy: it gives the account (not anyone else) control of the key so IAM policies can grant its use; in a key policy, Resource "*" means this key. https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-default.html',
  },
  {
    resourceType: 'AWS::KMS::Key',
    actions: ['kms:GenerateDataKey*'],
    resource: /^\*$/,
    principal: /cloudwatch\.amazonaws\.com/,
    reason:
      'CloudWatch alarms publish to the encrypted alarm topic, which needs kms:Decrypt and kms:GenerateDataKey* on its key for the CloudWatch service principal; Resource "*" in a key policy means this key. https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/AlarmThatSendsEmail.html#alarm-sns-encryption',
  },
];

const isWildcard = (text: string) => text.includes('*');

/** The Allow statements holding a wildcard action or resource that no allow-list entry covers. */
function undocumentedWildcards(
  statements: readonly IamStatement[],
  allowed: readonly AllowedWildcard[],
): { statement: IamStatement; wildcards: string[] }[] {
  const problems: { statement: IamStatement; wildcards: string[] }[] = [];
  for (const statement of statements) {
    if (statement.effect !== 'Allow') continue;
    const wildcardActions = statement.actions.filter(isWildcard);
    const wildcardResources = statement.resources.filter(isWildcard);
    if (wildcardActions.length === 0 && wildcardResources.length === 0) continue;
    const covered = allowed.some(
      (entry) =>
        statement.source.endsWith(`(${entry.resourceType})`) &&
        entry.principal.test(statement.principal ?? '') &&
        wildcardActions.every((action) => entry.actions.includes(action)) &&
        wildcardResources.every((resource) => entry.resource.test(resource)),
    );
    if (!covered) problems.push({ statement, wildcards: [...wildcardActions, ...wildcardResources] });
  }
  return problems;
}

function resourcesOf(templates: ReturnType<typeof allTemplates>, type: string) {
  return templates.flatMap(({ name, template }) =>
    Object.entries(template.Resources ?? {})
      .filter(([, resource]) => resource.Type === type)
      .map(([logicalId, resource]) => ({
        id: `${name}/${logicalId}`,
        logicalId,
        template,
        props: resource.Properties ?? {},
      })),
  );
}

describe('example stack security', () => {
  let templates: ReturnType<typeof allTemplates>;
  let statements: IamStatement[];
  beforeAll(() => {
    const app = new App({ context: NO_BUNDLING });
    new ExampleStack(app, 'Example');
    templates = allTemplates(app.synth());
    statements = iamStatements(templates);
  });

  it('lists every IAM statement and finds no wildcard action or resource that is not documented as required', () => {
    // GIVEN every identity and resource policy statement of every template
    expect(statements.length).toBeGreaterThan(10);
    console.log(
      `${statements.length} IAM statements:\n${statements
        .map((s) => `  ${s.effect} ${s.actions.join(' ')} on ${s.resources.join(' ')} — ${s.source}`)
        .join('\n')}`,
    );
    // WHEN the wildcards are checked against the allow-list
    const problems = undocumentedWildcards(statements, ALLOWED_WILDCARDS);
    // THEN there are none without a documented reason
    expect(problems.map(({ statement, wildcards }) => `${wildcards.join(', ')} in ${statement.source}`)).toEqual([]);
  });

  it('uses every allow-list entry, so none outlives the statement it excuses', () => {
    for (const entry of ALLOWED_WILDCARDS) {
      expect(undocumentedWildcards(statements, [entry]).length, entry.reason).toBeLessThan(
        undocumentedWildcards(statements, []).length,
      );
    }
  });

  it('fails if a grant with a wildcard resource is added', () => {
    // GIVEN a stack with a role allowed sqs:SendMessage on every queue
    const app = new App({ context: NO_BUNDLING });
    const stack = new Stack(app, 'Wild');
    new iam.Role(stack, 'Role', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') }).addToPolicy(
      new iam.PolicyStatement({ actions: ['sqs:SendMessage'], resources: ['*'] }),
    );
    // WHEN / THEN the checker reports it
    const problems = undocumentedWildcards(iamStatements(allTemplates(app.synth())), ALLOWED_WILDCARDS);
    expect(problems.map((problem) => problem.wildcards.join())).toEqual(['*']);
  });

  it('encrypts every queue at rest (SQS-managed SSE or KMS)', () => {
    // https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-server-side-encryption.html
    const queues = resourcesOf(templates, 'AWS::SQS::Queue');
    expect(queues.length).toBeGreaterThan(0);
    const unencrypted = queues.filter(({ props }) => props.SqsManagedSseEnabled !== true && !props.KmsMasterKeyId);
    expect(unencrypted.map((queue) => queue.id)).toEqual([]);
  });

  it('encrypts every table with a KMS key and every topic with a KMS key', () => {
    // https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/EncryptionAtRest.html (SSEEnabled: a KMS key,
    // auditable in CloudTrail, rather than the AWS owned key); https://docs.aws.amazon.com/sns/latest/dg/sns-server-side-encryption.html
    const tables = resourcesOf(templates, 'AWS::DynamoDB::Table');
    expect(tables.length).toBeGreaterThan(0);
    const tablesWithout = tables.filter(
      ({ props }) => (props.SSESpecification as { SSEEnabled?: boolean } | undefined)?.SSEEnabled !== true,
    );
    const topicsWithout = resourcesOf(templates, 'AWS::SNS::Topic').filter(({ props }) => !props.KmsMasterKeyId);
    expect([...tablesWithout, ...topicsWithout].map((resource) => resource.id)).toEqual([]);
  });

  it('denies every queue action without TLS in each queue policy', () => {
    // https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-security-best-practices.html#enforce-encryption-data-in-transit
    const queues = resourcesOf(templates, 'AWS::SQS::Queue');
    const policies = resourcesOf(templates, 'AWS::SQS::QueuePolicy');
    const withoutTls = queues.filter(({ logicalId, template }) => {
      return !policies.some(({ props, template: policyTemplate }) => {
        if (policyTemplate !== template) return false;
        const covers = (props.Queues as unknown[]).some((queue) => render(queue) === `{Ref ${logicalId}}`);
        const statements = (props.PolicyDocument as { Statement: Record<string, unknown>[] }).Statement;
        return (
          covers &&
          statements.some(
            (statement) =>
              statement.Effect === 'Deny' &&
              render(statement.Action) === 'sqs:*' &&
              render(statement.Principal).includes('*') &&
              JSON.stringify(statement.Condition) === JSON.stringify({ Bool: { 'aws:SecureTransport': 'false' } }) &&
              render(statement.Resource) === `{${logicalId}.Arn}`,
          )
        );
      });
    });
    expect(queues.length).toBeGreaterThan(0);
    expect(withoutTls.map((queue) => queue.id)).toEqual([]);
  });

  it('keeps point-in-time recovery on every table (the job and idempotency tables among them)', () => {
    // https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/PointInTimeRecovery.html
    const tables = resourcesOf(templates, 'AWS::DynamoDB::Table');
    const keys = tables.map(({ props }) => render((props.KeySchema as { AttributeName: string }[])[0]?.AttributeName));
    // the job table (jobId) and the idempotency table (id) are there
    expect(keys).toEqual(expect.arrayContaining(['jobId', 'id']));
    const without = tables.filter(
      ({ props }) =>
        (props.PointInTimeRecoverySpecification as { PointInTimeRecoveryEnabled?: boolean } | undefined)
          ?.PointInTimeRecoveryEnabled !== true,
    );
    expect(without.map((table) => table.id)).toEqual([]);
  });

  it('writes access logs for every API stage', () => {
    // https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-logging.html
    const stages = resourcesOf(templates, 'AWS::ApiGateway::Stage');
    expect(stages.length).toBeGreaterThan(0);
    const without = stages.filter(({ props }) => {
      const setting = props.AccessLogSetting as { DestinationArn?: unknown; Format?: string } | undefined;
      return !setting?.DestinationArn || !setting.Format?.includes('$context.requestId');
    });
    expect(without.map((stage) => stage.id)).toEqual([]);
  });

  it('passes cdk-nag AwsSolutions, every acknowledgement with a reason', () => {
    // GIVEN the example stack under AwsSolutionsChecks
    const app = new App({ context: NO_BUNDLING });
    const stack = new ExampleStack(app, 'Example');
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
    // WHEN synthesized (an unacknowledged error throws)
    expect(() => app.synth()).not.toThrow();
    // THEN every acknowledgement says why, in a sentence
    const acknowledgements = collectAcknowledgements(stack);
    console.log(
      `cdk-nag acknowledgements:\n${acknowledgements.map((a) => `  ${a.id} at ${a.path}: ${a.reason}`).join('\n')}`,
    );
    for (const acknowledgement of acknowledgements) {
      expect(acknowledgement.reason.length, acknowledgement.id).toBeGreaterThanOrEqual(40);
    }
  });

  it('fails cdk-nag on a queue without a dead-letter queue or TLS, so the check above can fail', () => {
    const app = new App({ context: NO_BUNDLING });
    new sqs.Queue(new Stack(app, 'Bare'), 'Queue');
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
    expect(() => app.synth()).toThrow(/AwsSolutions-SQS/);
  });
});

function collectAcknowledgements(root: IConstruct): { id: string; reason: string; path: string }[] {
  const found: { id: string; reason: string; path: string }[] = [];
  for (const construct of root.node.findAll()) {
    for (const entry of construct.node.metadata) {
      if (entry.type !== Validations.ACKNOWLEDGED_RULES_METADATA_KEY) continue;
      for (const [id, reason] of Object.entries(entry.data as Record<string, string>)) {
        found.push({ id, reason: String(reason ?? ''), path: construct.node.path });
      }
    }
  }
  return found;
}
