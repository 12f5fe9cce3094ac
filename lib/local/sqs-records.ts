import type { Message, MessageAttributeValue } from '@aws-sdk/client-sqs';
import type { SQSEvent, SQSMessageAttributes, SQSRecord, SQSRecordAttributes } from 'aws-lambda';

/**
 * Turns messages from `ReceiveMessage` into the `SQSEvent` Lambda's SQS event source mapping delivers
 * (https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html#example-standard-queue-message-event): the same record
 * fields, attribute names and message attribute shape, so a handler cannot tell the local runtime from AWS.
 *
 * Receive with `MessageSystemAttributeNames: ['All']` and `MessageAttributeNames: ['All']`, as the mapping does.
 */

/** Where the messages came from. */
export interface RecordSource {
  /** ARN of the queue, `eventSourceARN` of every record. */
  readonly queueArn: string;
  readonly region: string;
}

/** The attributes Lambda receives for every message (`MessageSystemAttributeNames`). */
export const RECEIVE_ATTRIBUTE_NAMES = ['All'] as const;

/** One record of an `SQSEvent`, from one received message. */
export function toSqsRecord(message: Message, source: RecordSource): SQSRecord {
  if (!message.MessageId || !message.ReceiptHandle || message.Body === undefined) {
    throw new Error(`A received message lacks MessageId, ReceiptHandle or Body: ${JSON.stringify(message)}`);
  }
  const system = message.Attributes ?? {};
  const attributes: SQSRecordAttributes = {
    ApproximateReceiveCount: system.ApproximateReceiveCount ?? '1',
    SentTimestamp: system.SentTimestamp ?? String(Date.now()),
    SenderId: system.SenderId ?? 'local',
    ApproximateFirstReceiveTimestamp: system.ApproximateFirstReceiveTimestamp ?? String(Date.now()),
    ...(system.AWSTraceHeader ? { AWSTraceHeader: system.AWSTraceHeader } : {}),
    ...(system.SequenceNumber ? { SequenceNumber: system.SequenceNumber } : {}),
    ...(system.MessageGroupId ? { MessageGroupId: system.MessageGroupId } : {}),
    ...(system.MessageDeduplicationId ? { MessageDeduplicationId: system.MessageDeduplicationId } : {}),
    ...(system.DeadLetterQueueSourceArn ? { DeadLetterQueueSourceArn: system.DeadLetterQueueSourceArn } : {}),
  };
  return {
    messageId: message.MessageId,
    receiptHandle: message.ReceiptHandle,
    body: message.Body,
    attributes,
    messageAttributes: toRecordMessageAttributes(message.MessageAttributes),
    md5OfBody: message.MD5OfBody ?? '',
    ...(message.MD5OfMessageAttributes ? { md5OfMessageAttributes: message.MD5OfMessageAttributes } : {}),
    eventSource: 'aws:sqs',
    eventSourceARN: source.queueArn,
    awsRegion: source.region,
  };
}

/** An `SQSEvent` of the given messages, in the order received. */
export function toSqsEvent(messages: readonly Message[], source: RecordSource): SQSEvent {
  return { Records: messages.map((message) => toSqsRecord(message, source)) };
}

/** Lambda's lower-camel-case message attributes: binary values base64-encoded, empty list fields present. */
function toRecordMessageAttributes(
  attributes: Record<string, MessageAttributeValue> | undefined,
): SQSMessageAttributes {
  const result: SQSMessageAttributes = {};
  for (const [name, value] of Object.entries(attributes ?? {})) {
    result[name] = {
      ...(value.StringValue === undefined ? {} : { stringValue: value.StringValue }),
      ...(value.BinaryValue === undefined ? {} : { binaryValue: Buffer.from(value.BinaryValue).toString('base64') }),
      stringListValues: value.StringListValues ?? [],
      binaryListValues: (value.BinaryListValues ?? []).map((item) => Buffer.from(item).toString('base64')),
      dataType: value.DataType ?? 'String',
    };
  }
  return result;
}
