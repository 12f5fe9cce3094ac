import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CloudAssembly } from 'aws-cdk-lib/cx-api';

/** A CloudFormation template as JSON. */
export interface TemplateJson {
  readonly Resources?: Record<string, { readonly Type: string; readonly Properties?: Record<string, unknown> }>;
}

/** Every template of an assembly: its stacks and the nested stacks' templates written next to them. */
export function allTemplates(
  assembly: CloudAssembly,
): Array<{ readonly name: string; readonly template: TemplateJson }> {
  const templates = assembly.stacks.map((stack) => ({
    name: stack.stackName,
    template: stack.template as TemplateJson,
  }));
  for (const file of readdirSync(assembly.directory)) {
    if (file.endsWith('.nested.template.json')) {
      templates.push({ name: file, template: JSON.parse(readFileSync(join(assembly.directory, file), 'utf8')) });
    }
  }
  return templates;
}

/** One IAM statement, with where it came from and its actions and resources written out as text. */
export interface IamStatement {
  /** `template/logicalId (Type)` */
  readonly source: string;
  readonly effect: string;
  readonly actions: readonly string[];
  readonly resources: readonly string[];
  readonly principal: string | undefined;
}

/** The policy documents each resource type holds. */
const DOCUMENTS: Record<string, readonly string[]> = {
  'AWS::IAM::Policy': ['PolicyDocument'],
  'AWS::IAM::ManagedPolicy': ['PolicyDocument'],
  'AWS::SQS::QueuePolicy': ['PolicyDocument'],
  'AWS::KMS::Key': ['KeyPolicy'],
  'AWS::ApiGateway::RestApi': ['Policy'],
  'AWS::SNS::TopicPolicy': ['PolicyDocument'],
};

/** Every statement of every identity and resource policy in the templates, including roles' inline policies. */
export function iamStatements(templates: ReturnType<typeof allTemplates>): IamStatement[] {
  const statements: IamStatement[] = [];
  for (const { name, template } of templates) {
    for (const [logicalId, resource] of Object.entries(template.Resources ?? {})) {
      const source = `${name}/${logicalId} (${resource.Type})`;
      const documents: unknown[] = (DOCUMENTS[resource.Type] ?? []).map((key) => resource.Properties?.[key]);
      if (resource.Type === 'AWS::IAM::Role') {
        for (const policy of (resource.Properties?.Policies as Array<{ PolicyDocument: unknown }> | undefined) ?? []) {
          documents.push(policy.PolicyDocument);
        }
      }
      for (const document of documents) {
        for (const statement of asList((document as { Statement?: unknown } | undefined)?.Statement)) {
          const entry = statement as Record<string, unknown>;
          statements.push({
            source,
            effect: String(entry.Effect),
            actions: asList(entry.Action).map(render),
            resources: asList(entry.Resource).map(render),
            principal: entry.Principal === undefined ? undefined : render(entry.Principal),
          });
        }
      }
    }
  }
  return statements;
}

/** An intrinsic written out as text: `{Ref X}`, `{X.Arn}`, joins joined; enough to see where a `*` is. */
export function render(value: unknown): string {
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) return value.map(render).join(',');
  if (value && typeof value === 'object') {
    const [key, argument] = Object.entries(value)[0] ?? [];
    if (key === 'Ref') return `{Ref ${String(argument)}}`;
    if (key === 'Fn::GetAtt') return `{${(argument as string[]).join('.')}}`;
    if (key === 'Fn::Join') {
      const [separator, parts] = argument as [string, unknown[]];
      return parts.map(render).join(separator);
    }
    if (key === 'Fn::Sub') return render(Array.isArray(argument) ? argument[0] : argument);
    if (key === 'Fn::ImportValue') return `{Import ${render(argument)}}`;
    return JSON.stringify(value);
  }
  return String(value);
}

function asList(value: unknown): unknown[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}
