import { Token } from 'aws-cdk-lib';
import type { IngestApiProps } from './ingest-api.ts';

/** Authorizer result TTL sluice allows: a shed decision must not outlive a few seconds in API Gateway's cache. */
const MAX_AUTHORIZER_TTL_SECONDS = 10;

/** Every problem with an {@link IngestApiProps}, each naming the prop, what is allowed and what was given. */
export function ingestApiProblems(props: IngestApiProps): string[] {
  const problems: string[] = [];
  const { ingress } = props;
  if (ingress.priority.enabled && !props.lowLaneQueue) {
    problems.push('lowLaneQueue is required when ingress.priority.enabled is true, but none was provided');
  }
  if (ingress.overflow.enabled && !props.overflowQueue) {
    problems.push("overflowQueue is required when ingress.backpressure.overload is 'buffer', but none was provided");
  }
  if (ingress.integration === 'function') {
    if (!props.acceptEntry) {
      problems.push("acceptEntry is required when ingress.integration is 'function', but none was provided");
    }
    if (!props.jobTable) {
      problems.push(
        "jobTable is required when ingress.integration is 'function' (the accept function records every job it issues), but none was provided",
      );
    }
  }
  // The direct integration's SendMessage carries no MessageGroupId, which a FIFO queue requires
  // (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SendMessage.html#SQS-SendMessage-request-MessageGroupId),
  // and the accept function sends none either.
  for (const [name, queue] of [
    ['queue', props.queue],
    ['lowLaneQueue', props.lowLaneQueue],
    ['overflowQueue', props.overflowQueue],
  ] as const) {
    if (queue?.fifo) {
      problems.push(
        `${name} must be a standard queue (the ingress sends no MessageGroupId, which a FIFO queue requires), but a FIFO queue was provided`,
      );
    }
  }
  const ttl = ingress.backpressure.authorizerResultTtlSeconds;
  if (!Token.isUnresolved(ttl) && (!Number.isInteger(ttl) || ttl < 0 || ttl > MAX_AUTHORIZER_TTL_SECONDS)) {
    problems.push(
      `ingress.backpressure.authorizerResultTtlSeconds must be an integer between 0 and ${MAX_AUTHORIZER_TTL_SECONDS} seconds, but ${ttl} was provided`,
    );
  }
  const schema = props.requestSchema as Record<string, unknown>;
  const version = schema.$schema;
  if (version !== undefined && version !== 'http://json-schema.org/draft-04/schema#') {
    problems.push(
      `requestSchema must be a draft-04 JSON schema (API Gateway models are draft-04; use requestJsonSchema), but ${JSON.stringify(version)} was provided`,
    );
  }
  const size = props.maxMessageSizeBytes;
  if (size !== undefined && !Token.isUnresolved(size) && (size < 1024 || size > 1_048_576)) {
    problems.push(`maxMessageSizeBytes must be between 1024 and 1048576 bytes, but ${size} was provided`);
  }
  return problems;
}
