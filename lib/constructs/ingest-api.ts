import { Duration, Stack } from 'aws-cdk-lib';
import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { authorizerSettingsOf, DEFAULTS, ENV, type JsonSchema, type ResolvedIngress } from '../definition/index.ts';
import { InvalidPropsError } from './errors.ts';
import {
  ACCESS_DENIED_RESPONSE_HEADERS,
  AUTHORIZER_UNAVAILABLE_TEMPLATE,
  acceptedResponseTemplate,
  BAD_REQUEST_BODY_TEMPLATE,
  ENQUEUE_UNAVAILABLE_TEMPLATE,
  enqueueErrorTemplate,
  getJobTemplate,
  jobStatusTemplate,
  OVERLOADED_TEMPLATE,
  QUOTA_EXCEEDED_TEMPLATE,
  sendMessageTemplate,
  THROTTLED_TEMPLATE,
  UNSUPPORTED_MEDIA_TYPE_TEMPLATE,
} from './ingest-templates.ts';
import { IngressFunction, sluiceFunctionEntry } from './ingress-function.ts';
import { ingestApiProblems } from './validate-ingest-api.ts';

/** Props of an {@link IngestApi}. */
export interface IngestApiProps {
  /** The pipeline's resolved ingress (`definePipeline(...).ingress`): throttles, clients, thresholds, lanes. */
  readonly ingress: ResolvedIngress;
  /** The stage's queue (the high lane when priority lanes are on). */
  readonly queue: sqs.IQueue;
  /**
   * The job data field naming the tenant (the pipeline's `tenantKey`): its value is sent as the message group id on
   * the standard queue (SQS fair queues). @default - no message group id
   */
  readonly tenantKey?: string;
  /**
   * The low lane's queue; required when `ingress.priority.enabled`.
   * @default - no low lane
   */
  readonly lowLaneQueue?: sqs.IQueue;
  /**
   * The overflow queue; required when `ingress.overflow.enabled` (overload policy `buffer`).
   * @default - no overflow
   */
  readonly overflowQueue?: sqs.IQueue;
  /** Draft-04 JSON schema of request bodies (`requestJsonSchema(zodSchema).schema`), the accept route's model. */
  readonly requestSchema: JsonSchema;
  /**
   * Largest message the target queues accept, for the 400 message when SQS refuses a job.
   * @default 262144
   */
  readonly maxMessageSizeBytes?: number;
  /**
   * The job status table: adds `GET /jobs/{id}`. Required in function mode (the accept function records each job).
   * @default - no status route
   */
  readonly jobTable?: dynamodb.ITable;
  /**
   * Function mode only: the accept handler's source file, exporting `handler = createAcceptHandler({ schema })`.
   * @default - none; required when `ingress.integration` is `function`
   */
  readonly acceptEntry?: string;
  /**
   * Name of the REST API.
   * @default - the construct's path
   */
  readonly apiName?: string;
  /**
   * Name of the deployment stage (the first path segment of every URL).
   * @default 'v1'
   */
  readonly stageName?: string;
  /**
   * Create the IAM role that lets API Gateway write to CloudWatch Logs and set it on the account
   * (`AWS::ApiGateway::Account`): one setting per account and Region, shared by every API there, so a library
   * construct changes it only when asked. API Gateway needs that role before it can write this API's execution and
   * access logs; leave this off when the account already has one
   * (https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-logging.html).
   * @default false
   */
  readonly cloudWatchRole?: boolean;
}

/**
 * The HTTP ingress of a pipeline: a REST API whose `POST /jobs` sends the request body, wrapped in the sluice
 * envelope, straight to SQS (no Lambda in the accept path) and answers `202 { jobId, status: "accepted", statusUrl }`
 * with a `Location` header.
 *
 * - The body is validated by API Gateway against a model generated from the stage's zod schema (400 otherwise).
 * - Stage throttle and one usage plan + API key per client (API Gateway's own 429).
 * - The depth-check REQUEST authorizer sheds with 503 + `Retry-After` + `{ error: "overloaded", retryAfterSeconds }`
 *   (ACCESS_DENIED gateway response), routes to the low lane or the overflow queue, and its result is cached by API
 *   Gateway for at most 10 s keyed by the request's second and method.
 * - Only JSON bodies: another Content-Type gets `415 { error: "unsupported_media_type" }` (passthrough NEVER).
 * - When SQS refuses the job, its error code decides: the job's size or characters → `400 rejected_by_queue`;
 *   throttling → `503` + `Retry-After`; access, KMS or a missing queue → `500 enqueue_failed`.
 * - The queues must be standard queues (no `MessageGroupId` is sent); a FIFO queue is rejected at synth.
 * - `GET /jobs/{id}` reads the job table directly (a DynamoDB integration).
 * - `integration: 'function'` puts an accept Lambda in the path instead: full zod validation and a job record
 *   written before the job is enqueued, at the price of a Lambda invocation per request.
 *
 * @example
 * new IngestApi(this, 'Ingest', {
 *   ingress: pipeline.ingress,
 *   queue: stage.queue.queue,
 *   requestSchema: requestJsonSchema(DocumentJob).schema,
 *   jobTable: tables.jobTable,
 * });
 */
export class IngestApi extends Construct {
  readonly api: apigateway.RestApi;
  readonly authorizer: apigateway.RequestAuthorizer;
  readonly authorizerFunction: IngressFunction;
  readonly acceptFunction?: IngressFunction;
  readonly acceptMethod: apigateway.Method;
  readonly statusMethod?: apigateway.Method;
  readonly requestModel: apigateway.Model;
  readonly apiKeys: readonly apigateway.IApiKey[];
  readonly usagePlans: readonly apigateway.UsagePlan[];

  constructor(scope: Construct, id: string, props: IngestApiProps) {
    super(scope, id);
    const problems = ingestApiProblems(props);
    if (problems.length > 0) throw new InvalidPropsError('IngestApi', this.node.path, problems);
    const { ingress } = props;
    const stageName = props.stageName ?? 'v1';

    const accessLogs = new logs.LogGroup(this, 'AccessLogs', { retention: logs.RetentionDays.ONE_MONTH });
    this.api = new apigateway.RestApi(this, 'Api', {
      restApiName: props.apiName ?? this.node.path.replace(/\//g, '-'),
      description: `sluice ingress of stage ${ingress.stage}`,
      endpointTypes: [apigateway.EndpointType.REGIONAL],
      cloudWatchRole: props.cloudWatchRole ?? false,
      apiKeySourceType: apigateway.ApiKeySourceType.HEADER,
      deployOptions: {
        stageName,
        throttlingRateLimit: ingress.throttle.rateLimitPerSecond,
        throttlingBurstLimit: ingress.throttle.burstLimit,
        loggingLevel: apigateway.MethodLoggingLevel.ERROR,
        metricsEnabled: true,
        accessLogDestination: new apigateway.LogGroupLogDestination(accessLogs),
        accessLogFormat: apigateway.AccessLogFormat.jsonWithStandardFields(),
      },
    });

    const queues = [props.queue, props.lowLaneQueue, props.overflowQueue].filter(
      (queue): queue is sqs.IQueue => queue !== undefined,
    );
    this.authorizerFunction = new IngressFunction(this, 'Authorizer', {
      entry: sluiceFunctionEntry('authorizer/handler.ts'),
      description: `sluice depth-check authorizer of stage ${ingress.stage}`,
      timeout: Duration.seconds(10),
      environment: {
        [ENV.queueUrl]: props.queue.queueUrl,
        ...(props.lowLaneQueue ? { [ENV.lowLaneQueueUrl]: props.lowLaneQueue.queueUrl } : {}),
        ...(props.overflowQueue ? { [ENV.overflowQueueUrl]: props.overflowQueue.queueUrl } : {}),
        [ENV.admission]: JSON.stringify(authorizerSettingsOf(ingress)),
      },
    });
    for (const queue of queues) queue.grant(this.authorizerFunction.function, 'sqs:GetQueueAttributes');

    // With priority lanes the lane comes from a header that may be absent; an absent identity source is a 401, so
    // the result is not cached. Otherwise the cache key changes every second and per method, so a shed decision
    // lives at most a second and never applies to the status route.
    const cacheTtlSeconds = ingress.priority.enabled ? 0 : ingress.backpressure.authorizerResultTtlSeconds;
    this.authorizer = new apigateway.RequestAuthorizer(this, 'DepthAuthorizer', {
      handler: this.authorizerFunction.function,
      identitySources:
        cacheTtlSeconds === 0
          ? []
          : [apigateway.IdentitySource.context('requestTime'), apigateway.IdentitySource.context('httpMethod')],
      resultsCacheTtl: Duration.seconds(cacheTtlSeconds),
    });

    this.requestModel = this.api.addModel('JobModel', {
      contentType: 'application/json',
      modelName: 'SluiceJob',
      schema: props.requestSchema as apigateway.JsonSchema,
    });
    const validator = this.api.addRequestValidator('BodyValidator', {
      requestValidatorName: 'sluice-body',
      validateRequestBody: true,
      validateRequestParameters: true,
    });

    const jobs = this.api.root.addResource('jobs');
    const apiKeyRequired = ingress.clients.length > 0;
    const methodOptions = {
      authorizer: this.authorizer,
      authorizationType: apigateway.AuthorizationType.CUSTOM,
      apiKeyRequired,
      requestValidator: validator,
      requestModels: { 'application/json': this.requestModel },
    };
    if (ingress.integration === 'function') {
      this.acceptFunction = this.createAcceptFunction(props);
      this.acceptMethod = jobs.addMethod(
        'POST',
        new apigateway.LambdaIntegration(this.acceptFunction.function, { proxy: true }),
        methodOptions,
      );
    } else {
      this.acceptMethod = jobs.addMethod('POST', this.sqsIntegration(props, queues), {
        ...methodOptions,
        methodResponses: [
          { statusCode: '202', responseParameters: { 'method.response.header.Location': true } },
          { statusCode: '400' },
          { statusCode: '500' },
          { statusCode: '503', responseParameters: { 'method.response.header.Retry-After': true } },
        ],
      });
    }

    if (props.jobTable) {
      const job = jobs.addResource('{id}');
      this.statusMethod = job.addMethod('GET', this.statusIntegration(props.jobTable, ingress), {
        authorizer: this.authorizer,
        authorizationType: apigateway.AuthorizationType.CUSTOM,
        apiKeyRequired,
        requestParameters: { 'method.request.path.id': true },
        methodResponses: [{ statusCode: '200' }, { statusCode: '404' }, { statusCode: '500' }],
      });
    }

    this.addGatewayResponses();
    const keys: apigateway.IApiKey[] = [];
    const plans: apigateway.UsagePlan[] = [];
    for (const client of ingress.clients) {
      const key = this.api.addApiKey(`Key-${client.name}`, { apiKeyName: `${this.api.restApiName}-${client.name}` });
      const plan = this.api.addUsagePlan(`Plan-${client.name}`, {
        name: `${this.api.restApiName}-${client.name}`,
        throttle: { rateLimit: client.rateLimitPerSecond, burstLimit: client.burstLimit },
        ...(client.quota
          ? { quota: { limit: client.quota.limit, period: apigateway.Period[client.quota.period] } }
          : {}),
        apiStages: [{ api: this.api, stage: this.api.deploymentStage }],
      });
      plan.addApiKey(key);
      keys.push(key);
      plans.push(plan);
    }
    this.apiKeys = keys;
    this.usagePlans = plans;
  }

  /** URL of the accept route (`POST`). */
  get acceptUrl(): string {
    return this.api.urlForPath('/jobs');
  }

  private sqsIntegration(props: IngestApiProps, queues: readonly sqs.IQueue[]): apigateway.AwsIntegration {
    const role = new iam.Role(this, 'SendRole', {
      assumedBy: new iam.ServicePrincipal('apigateway.amazonaws.com'),
      description: `Lets API Gateway send accepted jobs of stage ${props.ingress.stage} to its queues`,
    });
    for (const queue of queues) queue.grantSendMessages(role);
    return new apigateway.AwsIntegration({
      service: 'sqs',
      // The queue is chosen per request by the authorizer (lane or overflow) and mapped into the path.
      path: `${Stack.of(this).account}/{queue}`,
      integrationHttpMethod: 'POST',
      options: {
        credentialsRole: role,
        // Only JSON bodies are mapped: with NEVER, a body of any other Content-Type is refused with 415 before
        // anything is sent (a missing Content-Type counts as application/json). WHEN_NO_MATCH would pass a form or
        // text body to SQS untransformed, as the raw query request.
        // https://docs.aws.amazon.com/apigateway/latest/developerguide/integration-passthrough-behaviors.html
        passthroughBehavior: apigateway.PassthroughBehavior.NEVER,
        requestParameters: {
          'integration.request.header.Content-Type': "'application/x-www-form-urlencoded'",
          'integration.request.path.queue': 'context.authorizer.queue',
        },
        requestTemplates: { 'application/json': sendMessageTemplate(props.ingress.schemaVersion, props.tenantKey) },
        integrationResponses: [
          {
            statusCode: '202',
            selectionPattern: '2\\d{2}',
            responseTemplates: { 'application/json': acceptedResponseTemplate() },
          },
          {
            // AWS integrations select a response by the backend's HTTP status only
            // (https://docs.aws.amazon.com/apigateway/latest/api/API_IntegrationResponse.html, selectionPattern): the
            // template reads SQS's error code and overrides the status (400, 503) where 500 is not the answer.
            statusCode: '500',
            selectionPattern: '4\\d{2}',
            responseTemplates: {
              'application/json': enqueueErrorTemplate(props.maxMessageSizeBytes ?? DEFAULTS.maxMessageSizeBytes),
            },
          },
          {
            statusCode: '503',
            selectionPattern: '5\\d{2}',
            responseParameters: { 'method.response.header.Retry-After': "'1'" },
            responseTemplates: { 'application/json': ENQUEUE_UNAVAILABLE_TEMPLATE },
          },
        ],
      },
    });
  }

  private statusIntegration(table: dynamodb.ITable, ingress: ResolvedIngress): apigateway.AwsIntegration {
    const role = new iam.Role(this, 'StatusRole', {
      assumedBy: new iam.ServicePrincipal('apigateway.amazonaws.com'),
      description: `Lets API Gateway read job records for the status route of stage ${ingress.stage}`,
    });
    table.grant(role, 'dynamodb:GetItem');
    return new apigateway.AwsIntegration({
      service: 'dynamodb',
      action: 'GetItem',
      options: {
        credentialsRole: role,
        passthroughBehavior: apigateway.PassthroughBehavior.NEVER,
        requestTemplates: { 'application/json': getJobTemplate(table.tableName) },
        integrationResponses: [
          {
            statusCode: '200',
            selectionPattern: '2\\d{2}',
            responseTemplates: {
              'application/json': jobStatusTemplate(ingress.integration === 'function' ? 404 : 200),
            },
          },
          {
            statusCode: '500',
            selectionPattern: '[45]\\d{2}',
            responseTemplates: { 'application/json': '{"error":"status_unavailable"}' },
          },
        ],
      },
    });
  }

  private createAcceptFunction(props: IngestApiProps): IngressFunction {
    const accept = new IngressFunction(this, 'Accept', {
      entry: props.acceptEntry as string,
      description: `sluice accept function of stage ${props.ingress.stage}`,
      timeout: Duration.seconds(10),
      environment: {
        [ENV.queueUrl]: props.queue.queueUrl,
        ...(props.lowLaneQueue ? { [ENV.lowLaneQueueUrl]: props.lowLaneQueue.queueUrl } : {}),
        ...(props.overflowQueue ? { [ENV.overflowQueueUrl]: props.overflowQueue.queueUrl } : {}),
        ...(props.jobTable ? { [ENV.jobTableName]: props.jobTable.tableName } : {}),
        [ENV.schemaVersion]: String(props.ingress.schemaVersion),
      },
    });
    for (const queue of [props.queue, props.lowLaneQueue, props.overflowQueue]) {
      queue?.grantSendMessages(accept.function);
    }
    props.jobTable?.grant(accept.function, 'dynamodb:PutItem', 'dynamodb:DeleteItem');
    return accept;
  }

  private addGatewayResponses(): void {
    const json = { 'Content-Type': "'application/json'" };
    this.api.addGatewayResponse('Overloaded', {
      type: apigateway.ResponseType.ACCESS_DENIED,
      statusCode: '503',
      responseHeaders: { ...json, ...ACCESS_DENIED_RESPONSE_HEADERS },
      templates: { 'application/json': OVERLOADED_TEMPLATE },
    });
    this.api.addGatewayResponse('Throttled', {
      type: apigateway.ResponseType.THROTTLED,
      statusCode: '429',
      responseHeaders: { ...json, 'Retry-After': "'1'" },
      templates: { 'application/json': THROTTLED_TEMPLATE },
    });
    this.api.addGatewayResponse('QuotaExceeded', {
      type: apigateway.ResponseType.QUOTA_EXCEEDED,
      statusCode: '429',
      responseHeaders: json,
      templates: { 'application/json': QUOTA_EXCEEDED_TEMPLATE },
    });
    this.api.addGatewayResponse('BadRequestBody', {
      type: apigateway.ResponseType.BAD_REQUEST_BODY,
      statusCode: '400',
      responseHeaders: json,
      templates: { 'application/json': BAD_REQUEST_BODY_TEMPLATE },
    });
    this.api.addGatewayResponse('UnsupportedMediaType', {
      type: apigateway.ResponseType.UNSUPPORTED_MEDIA_TYPE,
      statusCode: '415',
      responseHeaders: json,
      templates: { 'application/json': UNSUPPORTED_MEDIA_TYPE_TEMPLATE },
    });
    for (const [id, type] of [
      ['AuthorizerFailure', apigateway.ResponseType.AUTHORIZER_FAILURE],
      ['AuthorizerConfigurationError', apigateway.ResponseType.AUTHORIZER_CONFIGURATION_ERROR],
    ] as const) {
      this.api.addGatewayResponse(id, {
        type,
        statusCode: '503',
        responseHeaders: { ...json, 'Retry-After': "'1'" },
        templates: { 'application/json': AUTHORIZER_UNAVAILABLE_TEMPLATE },
      });
    }
  }
}
