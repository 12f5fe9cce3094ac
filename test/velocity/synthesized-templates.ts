import { App, type Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { DocumentJob } from '../../functions/examples/schemas.ts';
import { IngestApi } from '../../lib/constructs/ingest-api.ts';
import { definePipeline, type IngressInput, requestJsonSchema } from '../../lib/definition/index.ts';
import { ExampleStack } from '../../lib/example/example-stack.ts';
import { testStack } from '../helpers/stacks.ts';

/**
 * Every mapping template the constructs synthesize, read from the synthesized CloudFormation (never from the
 * source): the example app's stack and the IngestApi in direct mode, function mode, with priority lanes and with the
 * overflow buffer.
 */

/** Where a template sits in the API. */
export type TemplateSite =
  | { readonly kind: 'integration-request'; readonly httpMethod: string; readonly passthroughBehavior: string }
  | {
      readonly kind: 'integration-response';
      readonly httpMethod: string;
      readonly statusCode: string;
      readonly selectionPattern: string | undefined;
      /** `method.response.header.X` → `'static'` or a mapping expression. */
      readonly responseParameters: Readonly<Record<string, string>> | undefined;
    }
  | { readonly kind: 'gateway-response'; readonly responseType: string; readonly statusCode: string };

/** One synthesized template. */
export interface SynthesizedTemplate {
  /** `stack › site › content type`, for test names. */
  readonly name: string;
  readonly variant: string;
  readonly site: TemplateSite;
  readonly contentType: string;
  readonly template: string;
  /** The method's integration type (AWS, AWS_PROXY); gateway responses have none. */
  readonly integrationType?: string;
  /** The logical ids of the template's stack (what a resolved `Ref` names). */
  readonly resources: ReadonlySet<string>;
}

function ingressStack(variant: string, input: IngressInput): Stack {
  const stack = testStack();
  const pipeline = definePipeline({
    name: 'docs',
    stages: [{ name: 'ingest', consumer: { entry: 'x.ts' }, flow: { depthLimit: 1000 } }],
    jobs: { enabled: true },
    ingress: input,
  });
  if (!pipeline.ingress) throw new Error(`variant ${variant} has no ingress`);
  new IngestApi(stack, 'Ingest', {
    ingress: pipeline.ingress,
    queue: new sqs.Queue(stack, 'Queue'),
    ...(pipeline.ingress.priority.enabled ? { lowLaneQueue: new sqs.Queue(stack, 'Low') } : {}),
    ...(pipeline.ingress.overflow.enabled ? { overflowQueue: new sqs.Queue(stack, 'Overflow') } : {}),
    requestSchema: requestJsonSchema(DocumentJob).schema,
    jobTable: new dynamodb.Table(stack, 'Jobs', {
      partitionKey: { name: 'jobId', type: dynamodb.AttributeType.STRING },
    }),
    ...(input.integration === 'function' ? { acceptEntry: 'functions/examples/accept-document.ts' } : {}),
  });
  return stack;
}

/** The stacks whose templates the harness renders. */
export function templateStacks(): Readonly<Record<string, Stack>> {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  return {
    example: new ExampleStack(app, 'Example'),
    direct: ingressStack('direct', {}),
    function: ingressStack('function', { integration: 'function' }),
    'priority-lanes': ingressStack('priority-lanes', { priority: { enabled: true } }),
    overflow: ingressStack('overflow', { backpressure: { overload: 'buffer' } }),
  };
}

/** Resolves the intrinsic functions a template string can contain; a Ref becomes the logical id. */
export function resolveIntrinsics(value: unknown): string {
  if (typeof value === 'string') return value;
  const object = value as Record<string, unknown>;
  if ('Ref' in object) return String(object.Ref);
  if ('Fn::Join' in object) {
    const [separator, parts] = object['Fn::Join'] as [string, unknown[]];
    return parts.map(resolveIntrinsics).join(separator);
  }
  if ('Fn::GetAtt' in object) return (object['Fn::GetAtt'] as string[]).join('.');
  throw new Error(`unsupported intrinsic in a mapping template: ${JSON.stringify(value)}`);
}

interface CfnResource {
  readonly Type: string;
  readonly Properties: Record<string, unknown>;
}

/** Every template of `stack`. */
export function templatesOf(variant: string, stack: Stack): SynthesizedTemplate[] {
  const resources = Template.fromStack(stack).toJSON().Resources as Record<string, CfnResource>;
  const logicalIds = new Set(Object.keys(resources));
  const found: SynthesizedTemplate[] = [];
  const add = (site: TemplateSite, templates: unknown, extra: { integrationType?: string } = {}) => {
    for (const [contentType, template] of Object.entries((templates ?? {}) as Record<string, unknown>)) {
      const where =
        site.kind === 'gateway-response'
          ? `gateway response ${site.responseType}`
          : site.kind === 'integration-request'
            ? `${site.httpMethod} request`
            : `${site.httpMethod} ${site.statusCode} response`;
      found.push({
        name: `${variant} › ${where} › ${contentType}`,
        variant,
        site,
        contentType,
        template: resolveIntrinsics(template),
        resources: logicalIds,
        ...extra,
      });
    }
  };
  for (const resource of Object.values(resources)) {
    const properties = resource.Properties;
    if (resource.Type === 'AWS::ApiGateway::Method') {
      const httpMethod = properties.HttpMethod as string;
      const integration = properties.Integration as Record<string, unknown>;
      const integrationType = integration.Type as string;
      add(
        {
          kind: 'integration-request',
          httpMethod,
          passthroughBehavior: (integration.PassthroughBehavior as string | undefined) ?? 'WHEN_NO_MATCH',
        },
        integration.RequestTemplates,
        { integrationType },
      );
      for (const response of (integration.IntegrationResponses ?? []) as Record<string, unknown>[]) {
        add(
          {
            kind: 'integration-response',
            httpMethod,
            statusCode: response.StatusCode as string,
            selectionPattern: response.SelectionPattern as string | undefined,
            responseParameters: response.ResponseParameters as Record<string, string> | undefined,
          },
          response.ResponseTemplates,
          { integrationType },
        );
      }
    } else if (resource.Type === 'AWS::ApiGateway::GatewayResponse') {
      add(
        {
          kind: 'gateway-response',
          responseType: properties.ResponseType as string,
          statusCode: properties.StatusCode as string,
        },
        properties.ResponseTemplates,
      );
    }
  }
  return found;
}

/** Every template of every stack the harness covers. */
export function allSynthesizedTemplates(): SynthesizedTemplate[] {
  return Object.entries(templateStacks()).flatMap(([variant, stack]) => templatesOf(variant, stack));
}
