import { JOB_TABLE, MESSAGE_GROUP_ID_MAX_LENGTH } from '../definition/index.ts';

/**
 * The API Gateway mapping templates (VTL) of the `IngestApi`. Kept apart from the construct so that the local ingress
 * server's behaviour can be compared with them line by line.
 */

/**
 * `$util.escapeJavaScript` of a VTL expression, minus its escaping of `'` (valid in JavaScript, invalid in JSON):
 * AWS's documented idiom for putting a string into a JSON template.
 */
function jsonString(expression: string): string {
  return `$util.escapeJavaScript(${expression}).replaceAll("\\\\'","'")`;
}

/** Header a producer may set to carry its own correlation id through every stage; the request id otherwise. */
export const CORRELATION_HEADER = 'x-correlation-id';

/**
 * The SQS `SendMessage` request (query protocol) for an accepted body: the sluice envelope
 * `{ jobId, schemaVersion, data, correlationId, acceptedAt, priority }` with `jobId` = the API Gateway request id,
 * `acceptedAt` = the request time (epoch ms) and `priority` = the lane the authorizer chose.
 */
export function sendMessageTemplate(schemaVersion: number, tenantKey?: string): string {
  return [
    "#set($q = '\"')",
    // "$!…" reads an absent header as "" whether API Gateway answers "" or null for it.
    `#set($correlationHeader = "$!input.params('${CORRELATION_HEADER}')")`,
    `#set($correlation = ${jsonString('$correlationHeader')})`,
    '#if($correlation == "")#set($correlation = $context.requestId)#end',
    '#set($lane = $context.authorizer.lane)',
    '#if("$!lane" == "")#set($lane = "high")#end',
    `#set($envelope = "{\${q}jobId\${q}:\${q}$context.requestId\${q},\${q}schemaVersion\${q}:${schemaVersion},\${q}data\${q}:$input.json('$'),\${q}correlationId\${q}:\${q}$correlation\${q},\${q}acceptedAt\${q}:$context.requestTimeEpoch,\${q}priority\${q}:\${q}$lane\${q}}")`,
    ...(tenantKey === undefined ? [] : tenantGroupLines(tenantKey)),
    `Action=SendMessage&MessageBody=$util.urlEncode($envelope)${tenantKey === undefined ? '' : '$tenantParameter'}`,
  ].join('\n');
}

/**
 * The tenant as the message's group id on the standard queue, so SQS fair queues keep one tenant's backlog from
 * raising the others' dwell time (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-fair-queues.html).
 * The same rule as `tenantGroupIdOf` (the local ingress and the accept function): a string, or an integer of at most
 * 15 digits, of 1 to 128 printable ASCII characters (MessageGroupId's alphabet,
 * https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SendMessage.html); anything else sends no
 * group id. `$input.json` gives the field's JSON text, so a string is told from a number, an object or `true`.
 */
function tenantGroupLines(tenantKey: string): string[] {
  return [
    `#set($tenantJson = "$!input.json('$.${tenantKey}')")`,
    '#set($tenant = "")',
    `#if($tenantJson.startsWith('"'))#set($tenant = "$!input.path('$.${tenantKey}')")#elseif($tenantJson.matches('-?(0|[1-9][0-9]{0,14})'))#set($tenant = $tenantJson)#end`,
    '#set($tenantParameter = "")',
    `#if($tenant.length() > 0 && $tenant.length() <= ${MESSAGE_GROUP_ID_MAX_LENGTH} && $tenant.matches('[\\x21-\\x7e]+'))#set($tenantParameter = "&MessageGroupId=$util.urlEncode($tenant)")#end`,
  ];
}

/** The 202 body of an accepted job, with `Location` set to its status route. */
export function acceptedResponseTemplate(): string {
  return [
    '#set($context.responseOverride.header.Location = "/$context.stage/jobs/$context.requestId")',
    '{"jobId":"$context.requestId","status":"accepted","statusUrl":"https://$context.domainName/$context.stage/jobs/$context.requestId"}',
  ].join('\n');
}

/** The body when SQS could not take the job for now: a 503 with Retry-After, never enqueued. */
export const ENQUEUE_UNAVAILABLE_TEMPLATE = '{"error":"unavailable","retryAfterSeconds":1}';

/**
 * SQS error codes (query protocol) that are the job's own fault: a body above the queue's maximum message size
 * (`InvalidParameterValue`: "Message must be shorter than … bytes"; the envelope is the only parameter the template
 * sends besides `Action`) or characters SQS does not accept (`InvalidMessageContents`).
 * https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SendMessage.html#API_SendMessage_Errors
 */
export const SQS_REJECTED_JOB_CODES = ['InvalidParameterValue', 'InvalidMessageContents'] as const;

/**
 * SQS error codes that mean "too many requests right now" (SQS's own throttling, the KMS key's, or a quota):
 * https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/CommonErrors.html and the SendMessage errors.
 */
export const SQS_THROTTLING_CODES = [
  'RequestThrottled',
  'ThrottlingException',
  'Throttling',
  'KMS.ThrottlingException',
  'OverLimit',
] as const;

function anyOf(variable: string, values: readonly string[]): string {
  return values.map((value) => `${variable} == "${value}"`).join(' || ');
}

/**
 * The answer when SQS refuses `SendMessage` with a 4XX (API Gateway selects integration responses of AWS
 * integrations by HTTP status only, so the error code is read here and the status overridden):
 * - the job itself (too large, invalid characters): `400 rejected_by_queue`, never enqueued;
 * - throttling: `503 unavailable` + `Retry-After: 1`;
 * - anything else (access denied, KMS key disabled or missing, queue gone, unknown codes): `500 enqueue_failed`
 *   with the code — the producer did nothing wrong, an operator has to act.
 * SQS answers API Gateway's query-protocol call (which accepts JSON) with `{ Error: { Code, Message, Type } }`; the
 * `ErrorResponse` wrapper of the XML form is read too.
 * https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-override-request-response-parameters.html
 */
export function enqueueErrorTemplate(maxMessageSizeBytes: number): string {
  return [
    `#set($code = "$!input.path('$.Error.Code')")`,
    `#if($code == "")#set($code = "$!input.path('$.ErrorResponse.Error.Code')")#end`,
    `#if(${anyOf('$code', SQS_REJECTED_JOB_CODES)})`,
    '#set($context.responseOverride.status = 400)',
    `{"error":"rejected_by_queue","message":"The queue refused the job; a job envelope must stay under ${maxMessageSizeBytes} bytes of characters SQS accepts."}`,
    `#elseif(${anyOf('$code', SQS_THROTTLING_CODES)})`,
    '#set($context.responseOverride.status = 503)',
    '#set($context.responseOverride.header.Retry-After = "1")',
    ENQUEUE_UNAVAILABLE_TEMPLATE,
    '#else',
    `{"error":"enqueue_failed","message":"The queue could not take the job (${jsonString('$code')}); it was not enqueued."}`,
    '#end',
  ].join('\n');
}

/** The DynamoDB `GetItem` request of the status route (strongly consistent: a record just written is seen). */
export function getJobTemplate(tableName: string): string {
  return `{"TableName":"${tableName}","Key":{"${JOB_TABLE.partitionKey}":{"S":"${jsonString("$input.params('id')")}"}},"ConsistentRead":true}`;
}

/**
 * The status route's body: the job's state and timestamps, or, with no record, `{ jobId, status: "unknown" }`:
 * `200` in direct mode (API Gateway writes no record when it accepts, so "queued, not picked up yet", "expired" and
 * "never issued" look alike), `404` in function mode (the accept function records every id it issues first).
 */
export function jobStatusTemplate(noRecordStatus: 200 | 404): string {
  const numbers = ['attempts', 'acceptedAt', 'startedAt', 'updatedAt', 'completedAt', 'deadLetteredAt'];
  const strings = ['stage', 'correlationId'];
  // Attributes are read with .get('name'): Velocity 1.7 resolves $map.name to a getter first, so $map.class is
  // getClass() (https://velocity.apache.org/engine/1.7/user-guide.html#propertylookuprules).
  const attribute = (name: string, type: 'S' | 'N') => `$item.get('${name}').${type}`;
  const quiet = (name: string, type: 'S' | 'N') => `$!${attribute(name, type).slice(1)}`;
  const error = (name: string) => `$item.get('lastError').M.get('${name}').S`;
  return [
    "#set($item = $input.path('$.Item'))",
    `#set($id = ${jsonString("$input.params('id')")})`,
    '#if("$!item" == "")',
    ...(noRecordStatus === 404 ? ['#set($context.responseOverride.status = 404)'] : []),
    '{"jobId":"$id","status":"unknown"}',
    '#else',
    `{"jobId":"$id","status":"${jsonString(attribute('state', 'S'))}"${strings.map((name) => `#if("${quiet(name, 'S')}" != ""),"${name}":"${jsonString(attribute(name, 'S'))}"#end`).join('')}${numbers.map((name) => `#if("${quiet(name, 'N')}" != ""),"${name}":${attribute(name, 'N')}#end`).join('')}#if("$!item.get('lastError').M" != ""),"lastError":{"class":"${jsonString(error('class'))}","message":"${jsonString(error('message'))}"}#end}`,
    '#end',
  ].join('\n');
}

/** Body of the rejections the authorizer decides (ACCESS_DENIED gateway response). */
export const OVERLOADED_TEMPLATE =
  '{"error":"overloaded","retryAfterSeconds":$context.authorizer.retryAfterSeconds,"reason":"$context.authorizer.reason"}';
/** Body of API Gateway's throttle (stage or usage plan rate). */
export const THROTTLED_TEMPLATE = '{"error":"throttled","retryAfterSeconds":1}';
/** Body of an exhausted usage plan quota. */
export const QUOTA_EXCEEDED_TEMPLATE = '{"error":"quota_exceeded","message":$context.error.messageString}';
/**
 * Body of a request the model rejected. Gateway response templates are not run by VTL, only substituted
 * (https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-swagger-extensions-gateway-responses.responseTemplates.html),
 * so nothing can escape `$context.error.validationErrorString` (it quotes the client's input); `messageString` is
 * API Gateway's own message, already quoted
 * (https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-mapping-template-reference.html#context-variable-reference).
 */
export const BAD_REQUEST_BODY_TEMPLATE = '{"error":"invalid_request","message":$context.error.messageString}';
/** Body of a request whose Content-Type has no mapping template (passthrough NEVER: 415). */
export const UNSUPPORTED_MEDIA_TYPE_TEMPLATE =
  '{"error":"unsupported_media_type","message":"Send the job as JSON with Content-Type: application/json."}';
/** Body when the authorizer itself failed or could not be invoked (e.g. throttled): retry soon. */
export const AUTHORIZER_UNAVAILABLE_TEMPLATE = '{"error":"unavailable","retryAfterSeconds":1}';

/** Headers of the ACCESS_DENIED gateway response: `Retry-After` from the authorizer's decision. */
export const ACCESS_DENIED_RESPONSE_HEADERS = { 'Retry-After': 'context.authorizer.retryAfterSeconds' } as const;
