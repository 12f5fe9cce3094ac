import { randomUUID } from 'node:crypto';
import {
  createServer,
  request as httpRequest,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  ListQueuesCommand,
  type MessageAttributeValue,
  type QueueAttributeName,
  ReceiveMessageCommand,
  SendMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';

/**
 * An SQS endpoint in front of fauxqs that also speaks SQS's older **query protocol** (form-encoded `Action=…`
 * requests, XML answers), which fauxqs does not implement but older AWS CLIs (Debian 12's `awscli` 2.9) still use.
 * JSON-protocol requests pass through to fauxqs untouched; query-protocol requests for the actions an operator pokes
 * a queue with are translated to the JSON API and answered in the query protocol's XML.
 * (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-making-api-requests-xml.html)
 */

/** A running adapter. */
export interface SqsQueryAdapter {
  readonly url: string;
  stop(): Promise<void>;
}

type Params = URLSearchParams;
type Handler = (params: Params, sqs: SQSClient) => Promise<string>;

const HANDLERS: Record<string, Handler> = {
  async ListQueues(params, sqs) {
    const prefix = params.get('QueueNamePrefix');
    const result = await sqs.send(new ListQueuesCommand(prefix ? { QueueNamePrefix: prefix } : {}));
    return (result.QueueUrls ?? []).map((url) => element('QueueUrl', url)).join('');
  },
  async GetQueueUrl(params, sqs) {
    const result = await sqs.send(new GetQueueUrlCommand({ QueueName: required(params, 'QueueName') }));
    return element('QueueUrl', result.QueueUrl ?? '');
  },
  async SendMessage(params, sqs) {
    const attributes = messageAttributes(params);
    const delay = params.get('DelaySeconds');
    const result = await sqs.send(
      new SendMessageCommand({
        QueueUrl: required(params, 'QueueUrl'),
        MessageBody: required(params, 'MessageBody'),
        ...(delay ? { DelaySeconds: Number(delay) } : {}),
        ...(Object.keys(attributes).length > 0 ? { MessageAttributes: attributes } : {}),
        ...(params.get('MessageGroupId') ? { MessageGroupId: params.get('MessageGroupId') as string } : {}),
        ...(params.get('MessageDeduplicationId')
          ? { MessageDeduplicationId: params.get('MessageDeduplicationId') as string }
          : {}),
      }),
    );
    return (
      element('MD5OfMessageBody', result.MD5OfMessageBody ?? '') +
      (result.MD5OfMessageAttributes ? element('MD5OfMessageAttributes', result.MD5OfMessageAttributes) : '') +
      element('MessageId', result.MessageId ?? '') +
      (result.SequenceNumber ? element('SequenceNumber', result.SequenceNumber) : '')
    );
  },
  async ReceiveMessage(params, sqs) {
    const max = params.get('MaxNumberOfMessages');
    const wait = params.get('WaitTimeSeconds');
    const visibility = params.get('VisibilityTimeout');
    const result = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: required(params, 'QueueUrl'),
        ...(max ? { MaxNumberOfMessages: Number(max) } : {}),
        ...(wait ? { WaitTimeSeconds: Number(wait) } : {}),
        ...(visibility ? { VisibilityTimeout: Number(visibility) } : {}),
        MessageSystemAttributeNames: list(params, 'AttributeName') as never,
        MessageAttributeNames: list(params, 'MessageAttributeName'),
      }),
    );
    return (result.Messages ?? [])
      .map((message) =>
        nest(
          'Message',
          element('MessageId', message.MessageId ?? '') +
            element('ReceiptHandle', message.ReceiptHandle ?? '') +
            element('MD5OfBody', message.MD5OfBody ?? '') +
            element('Body', message.Body ?? '') +
            Object.entries(message.Attributes ?? {})
              .map(([name, value]) => nest('Attribute', element('Name', name) + element('Value', value)))
              .join('') +
            Object.entries(message.MessageAttributes ?? {})
              .map(([name, value]) =>
                nest(
                  'MessageAttribute',
                  element('Name', name) +
                    nest(
                      'Value',
                      element('DataType', value.DataType ?? 'String') + element('StringValue', value.StringValue ?? ''),
                    ),
                ),
              )
              .join(''),
        ),
      )
      .join('');
  },
  async DeleteMessage(params, sqs) {
    await sqs.send(
      new DeleteMessageCommand({
        QueueUrl: required(params, 'QueueUrl'),
        ReceiptHandle: required(params, 'ReceiptHandle'),
      }),
    );
    return '';
  },
  async GetQueueAttributes(params, sqs) {
    const names = list(params, 'AttributeName');
    const result = await sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl: required(params, 'QueueUrl'),
        AttributeNames: (names.length > 0 ? names : ['All']) as QueueAttributeName[],
      }),
    );
    return Object.entries(result.Attributes ?? {})
      .map(([name, value]) => nest('Attribute', element('Name', name) + element('Value', value)))
      .join('');
  },
};

class QueryError extends Error {
  readonly code: string;
  readonly status: number;
  constructor(code: string, message: string, status = 400) {
    super(message);
    this.name = 'QueryError';
    this.code = code;
    this.status = status;
  }
}

/** Starts the adapter on 127.0.0.1 in front of `targetEndpoint`, using `sqs` (a client on the target) for translation. */
export async function startSqsQueryAdapter(options: {
  readonly targetEndpoint: string;
  readonly sqs: SQSClient;
  readonly port?: number;
}): Promise<SqsQueryAdapter> {
  const target = new URL(options.targetEndpoint);
  const server: Server = createServer((request, response) => {
    const type = request.headers['content-type'] ?? '';
    if (!type.includes('x-www-form-urlencoded')) {
      proxy(request, response, target);
      return;
    }
    void answerQuery(request, response, options.sqs);
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function answerQuery(request: IncomingMessage, response: ServerResponse, sqs: SQSClient): Promise<void> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  const params = new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
  const action = params.get('Action') ?? '';
  const requestId = randomUUID();
  try {
    const handler = HANDLERS[action];
    if (!handler) {
      throw new QueryError(
        'InvalidAction',
        `${action || '(no Action)'} is not translated by sluice's query-protocol adapter (it handles ${Object.keys(HANDLERS).join(', ')}); use an SQS client that speaks the JSON protocol (AWS CLI v2.13+ or v1.29+) for it`,
      );
    }
    const result = await handler(params, sqs);
    response.writeHead(200, { 'content-type': 'text/xml' });
    response.end(
      `<?xml version="1.0"?><${action}Response xmlns="http://queue.amazonaws.com/doc/2012-11-05/">${result === '' ? '' : `<${action}Result>${result}</${action}Result>`}<ResponseMetadata><RequestId>${requestId}</RequestId></ResponseMetadata></${action}Response>`,
    );
  } catch (error) {
    const query = error instanceof QueryError ? error : undefined;
    const sdk = error as { name?: string; message?: string; $metadata?: { httpStatusCode?: number } };
    const status = query?.status ?? sdk.$metadata?.httpStatusCode ?? 400;
    const code = query?.code ?? sdk.name ?? 'InternalError';
    response.writeHead(status, { 'content-type': 'text/xml' });
    response.end(
      `<?xml version="1.0"?><ErrorResponse xmlns="http://queue.amazonaws.com/doc/2012-11-05/"><Error><Type>Sender</Type><Code>${escapeXml(code)}</Code><Message>${escapeXml(sdk.message ?? String(error))}</Message></Error><RequestId>${requestId}</RequestId></ErrorResponse>`,
    );
  }
}

function proxy(request: IncomingMessage, response: ServerResponse, target: URL): void {
  const upstream = httpRequest(
    {
      host: target.hostname,
      port: target.port,
      method: request.method,
      path: request.url,
      headers: { ...request.headers, host: target.host },
    },
    (answer) => {
      response.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(response);
    },
  );
  upstream.on('error', (error) => {
    response.writeHead(502, { 'content-type': 'application/x-amz-json-1.0' });
    response.end(JSON.stringify({ __type: 'com.amazonaws.sqs#ServiceUnavailable', message: error.message }));
  });
  request.pipe(upstream);
}

function required(params: Params, name: string): string {
  const value = params.get(name);
  if (value === null || value === '') {
    throw new QueryError('MissingParameter', `The request must contain the parameter ${name}.`);
  }
  return value;
}

/** `Name.1`, `Name.2`, … as a list. */
function list(params: Params, name: string): string[] {
  const values: string[] = [];
  for (let index = 1; params.has(`${name}.${index}`); index++) values.push(params.get(`${name}.${index}`) as string);
  return values;
}

function messageAttributes(params: Params): Record<string, MessageAttributeValue> {
  const attributes: Record<string, MessageAttributeValue> = {};
  for (let index = 1; params.has(`MessageAttribute.${index}.Name`); index++) {
    const prefix = `MessageAttribute.${index}`;
    const dataType = params.get(`${prefix}.Value.DataType`) ?? 'String';
    const binary = params.get(`${prefix}.Value.BinaryValue`);
    attributes[params.get(`${prefix}.Name`) as string] = {
      DataType: dataType,
      ...(binary
        ? { BinaryValue: Buffer.from(binary, 'base64') }
        : { StringValue: params.get(`${prefix}.Value.StringValue`) ?? '' }),
    };
  }
  return attributes;
}

/** An element holding text (escaped). */
function element(name: string, text: string): string {
  return `<${name}>${escapeXml(text)}</${name}>`;
}

/** An element holding other elements (already XML). */
function nest(name: string, xml: string): string {
  return `<${name}>${xml}</${name}>`;
}

function escapeXml(value: string): string {
  return value
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}
