import { JOB_TABLE } from '../definition/index.ts';

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
export function sendMessageTemplate(schemaVersion: number): string {
  return [
    "#set($q = '\"')",
    `#set($correlation = ${jsonString(`$input.params('${CORRELATION_HEADER}')`)})`,
    '#if($correlation == "")#set($correlation = $context.requestId)#end',
    '#set($lane = $context.authorizer.lane)',
    '#if("$!lane" == "")#set($lane = "high")#end',
    `#set($envelope = "{\${q}jobId\${q}:\${q}$context.requestId\${q},\${q}schemaVersion\${q}:${schemaVersion},\${q}data\${q}:$input.json('$'),\${q}correlationId\${q}:\${q}$correlation\${q},\${q}acceptedAt\${q}:$context.requestTimeEpoch,\${q}priority\${q}:\${q}$lane\${q}}")`,
    'Action=SendMessage&MessageBody=$util.urlEncode($envelope)',
  ].join('\n');
}

/** The 202 body of an accepted job, with `Location` set to its status route. */
export function acceptedResponseTemplate(): string {
  return [
    '#set($context.responseOverride.header.Location = "/$context.stage/jobs/$context.requestId")',
    '{"jobId":"$context.requestId","status":"accepted","statusUrl":"https://$context.domainName/$context.stage/jobs/$context.requestId"}',
  ].join('\n');
}

/** The body of a job SQS refused (e.g. above the queue's maximum message size): a 400, never enqueued. */
export function enqueueRejectedTemplate(maxMessageSizeBytes: number): string {
  return `{"error":"rejected_by_queue","message":"The queue refused the job; a job envelope must stay under ${maxMessageSizeBytes} bytes."}`;
}

/** The body when SQS could not be reached: a 503 with Retry-After, never enqueued. */
export const ENQUEUE_UNAVAILABLE_TEMPLATE = '{"error":"unavailable","retryAfterSeconds":1}';

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
  return [
    "#set($item = $input.path('$.Item'))",
    `#set($id = ${jsonString("$input.params('id')")})`,
    '#if("$!item" == "")',
    ...(noRecordStatus === 404 ? ['#set($context.responseOverride.status = 404)'] : []),
    '{"jobId":"$id","status":"unknown"}',
    '#else',
    `{"jobId":"$id","status":"$item.state.S"${strings.map((name) => `#if("$!item.${name}.S" != ""),"${name}":"${jsonString(`$item.${name}.S`)}"#end`).join('')}${numbers.map((name) => `#if("$!item.${name}.N" != ""),"${name}":$item.${name}.N#end`).join('')}#if("$!item.lastError.M" != ""),"lastError":{"class":"${jsonString('$item.lastError.M.class.S')}","message":"${jsonString('$item.lastError.M.message.S')}"}#end}`,
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
/** Body of a request the model rejected. */
export const BAD_REQUEST_BODY_TEMPLATE = '{"error":"invalid_request","message":"$context.error.validationErrorString"}';
/** Body when the authorizer itself failed or could not be invoked (e.g. throttled): retry soon. */
export const AUTHORIZER_UNAVAILABLE_TEMPLATE = '{"error":"unavailable","retryAfterSeconds":1}';

/** Headers of the ACCESS_DENIED gateway response: `Retry-After` from the authorizer's decision. */
export const ACCESS_DENIED_RESPONSE_HEADERS = { 'Retry-After': 'context.authorizer.retryAfterSeconds' } as const;
