import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { afterAll, describe, expect, it } from 'vitest';
import { type Clock, depthOf, listDeadLetters, peekDeadLetters, redriveDeadLetters } from '../../lib/ops/dlq.ts';
import type { StageResources } from '../../lib/ops/resources.ts';
import { localSqsClient, uniqueName } from '../helpers/engines.ts';

const sqs: SQSClient = localSqsClient();
afterAll(() => sqs.destroy());

/** A stage's queue and DLQ on the embedded engine, the DLQ holding `count` dead letters (every third a SchemaError). */
async function stageWithDeadLetters(count: number): Promise<{ stage: StageResources; bodies: string[] }> {
  const name = uniqueName('dlq');
  const create = async (queueName: string) => {
    const url = (await sqs.send(new CreateQueueCommand({ QueueName: queueName }))).QueueUrl as string;
    const arn = (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['QueueArn'] })))
      .Attributes?.QueueArn as string;
    return { url, arn };
  };
  const dlq = await create(`${name}-dlq`);
  const queue = await create(name);
  const bodies: string[] = [];
  for (let index = 0; index < count; index++) {
    const body = JSON.stringify({ n: index });
    bodies.push(body);
    await sqs.send(
      new SendMessageCommand({
        QueueUrl: dlq.url,
        MessageBody: body,
        MessageAttributes: {
          'sluice-error-class': { DataType: 'String', StringValue: index % 3 === 0 ? 'SchemaError' : 'TransientError' },
          'sluice-error-message': { DataType: 'String', StringValue: `failure of ${index}` },
          'sluice-stage': { DataType: 'String', StringValue: 'work' },
        },
      }),
    );
  }
  return {
    stage: {
      stage: 'work',
      queueUrl: queue.url,
      queueArn: queue.arn,
      queueName: name,
      deadLetterQueueUrl: dlq.url,
      deadLetterQueueArn: dlq.arn,
      deadLetterQueueName: `${name}-dlq`,
      ageSloSeconds: 60,
    },
    bodies,
  };
}

/** Every message now in `queueUrl` (received and left hidden, so each is read once). */
async function drain(queueUrl: string): Promise<{ body: string; errorClass: string | undefined }[]> {
  const found: { body: string; errorClass: string | undefined }[] = [];
  for (;;) {
    const result = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: 10,
        VisibilityTimeout: 300,
        WaitTimeSeconds: 1,
        MessageAttributeNames: ['All'],
      }),
    );
    if (!result.Messages?.length) return found;
    for (const message of result.Messages) {
      found.push({
        body: message.Body ?? '',
        errorClass: message.MessageAttributes?.['sluice-error-class']?.StringValue,
      });
    }
  }
}

/** A clock that moves only when the loop sleeps: the schedule it records is the rate limiter's, not the machine's. */
function virtualClock(): Clock & { sleeps: number[] } {
  let now = 1_000_000;
  const sleeps: number[] = [];
  return {
    sleeps,
    now: () => now,
    sleep: async (ms) => {
      sleeps.push(ms);
      now += ms;
    },
  };
}

describe('sluice dlq on the embedded engine', () => {
  it('redrives every dead letter back to its queue exactly once, paced by the schedule at the given rate', async () => {
    // GIVEN 23 dead letters (more than two receives' worth) and a rate of 4 a second
    const { stage, bodies } = await stageWithDeadLetters(23);
    const clock = virtualClock();
    // WHEN (the engine lacks StartMessageMoveTask, so the loop runs)
    const result = await redriveDeadLetters(sqs, { stage, ratePerSecond: 4, clock });
    // THEN every body is back once, with its reason attributes, and the DLQ is empty
    expect(result.mode).toBe('loop');
    const back = await drain(stage.queueUrl);
    expect(back.map((message) => message.body).sort()).toEqual([...bodies].sort());
    expect(back.every((message) => message.errorClass !== undefined)).toBe(true);
    expect(await depthOf(sqs, stage.deadLetterQueueUrl)).toEqual({ messages: 0, inFlight: 0 });
    // and message k was sent at its slot, start + k × 250 ms, after sleeping until it
    if (result.mode !== 'loop') throw new Error('expected the loop');
    expect(result.moved).toBe(23);
    const start = 1_000_000;
    expect(result.schedule.map((entry) => entry.slotAt - start)).toEqual(bodies.map((_, k) => k * 250));
    expect(result.schedule.map((entry) => entry.sentAt)).toEqual(result.schedule.map((entry) => entry.slotAt));
    expect(clock.sleeps.reduce((sum, ms) => sum + ms, 0)).toBe(22 * 250);
    expect(new Set(result.schedule.map((entry) => entry.messageId)).size).toBe(23);
  });

  it('redrives only the error class asked for and leaves the others in the DLQ, visible again', async () => {
    // GIVEN 12 dead letters, 4 of them SchemaError
    const { stage } = await stageWithDeadLetters(12);
    // WHEN
    const result = await redriveDeadLetters(sqs, {
      stage,
      ratePerSecond: 500,
      errorClass: 'SchemaError',
      clock: virtualClock(),
    });
    // THEN
    expect(result).toMatchObject({ mode: 'loop', moved: 4, skipped: 8 });
    const back = await drain(stage.queueUrl);
    expect(back.map((message) => message.errorClass)).toEqual([
      'SchemaError',
      'SchemaError',
      'SchemaError',
      'SchemaError',
    ]);
    expect(await depthOf(sqs, stage.deadLetterQueueUrl)).toEqual({ messages: 8, inFlight: 0 });
  });

  it('starts an SQS message move task at the rate where the endpoint has StartMessageMoveTask', async () => {
    // GIVEN an SQS that answers StartMessageMoveTask as AWS's API reference shapes it ({ TaskHandle })
    const calls: unknown[] = [];
    const withMoveTask = {
      send: async (command: { constructor: { name: string }; input: unknown }) => {
        calls.push({ name: command.constructor.name, input: command.input });
        return { TaskHandle: 'task-1' };
      },
    } as unknown as SQSClient;
    const { stage } = await stageWithDeadLetters(0);
    // WHEN
    const result = await redriveDeadLetters(withMoveTask, { stage, ratePerSecond: 50 });
    // THEN
    expect(result).toEqual({ mode: 'move-task', taskHandle: 'task-1', ratePerSecond: 50 });
    expect(calls).toEqual([
      {
        name: 'StartMessageMoveTaskCommand',
        input: {
          SourceArn: stage.deadLetterQueueArn,
          DestinationArn: stage.queueArn,
          MaxNumberOfMessagesPerSecond: 50,
        },
      },
    ]);
  });

  it('fails, without falling back, when SQS refuses the move task for another reason', async () => {
    const busy = {
      send: async () => {
        throw Object.assign(new Error('the queue has an active message move task'), {
          name: 'InvalidParameterValueException',
          $metadata: { httpStatusCode: 400 },
        });
      },
    } as unknown as SQSClient;
    const { stage } = await stageWithDeadLetters(0);
    await expect(redriveDeadLetters(busy, { stage, ratePerSecond: 5 })).rejects.toThrow(
      /StartMessageMoveTask failed: the queue has an active message move task/,
    );
  });

  it('falls back to the loop when the endpoint does not know StartMessageMoveTask', async () => {
    // GIVEN an endpoint that answers UnknownOperationException to the move task and holds an empty DLQ
    const calls: string[] = [];
    const withoutMoveTask = {
      send: async (command: { constructor: { name: string } }) => {
        calls.push(command.constructor.name);
        if (command.constructor.name === 'StartMessageMoveTaskCommand') {
          throw Object.assign(new Error('Unknown operation'), { name: 'UnknownOperationException' });
        }
        return { Attributes: { ApproximateNumberOfMessages: '0', ApproximateNumberOfMessagesNotVisible: '0' } };
      },
    } as unknown as SQSClient;
    const { stage } = await stageWithDeadLetters(0);
    // WHEN
    const result = await redriveDeadLetters(withoutMoveTask, { stage, ratePerSecond: 5 });
    // THEN
    expect(result).toMatchObject({ mode: 'loop', moved: 0 });
    expect(calls).toEqual(['StartMessageMoveTaskCommand', 'GetQueueAttributesCommand']);
  });

  it('fails if the rate is outside StartMessageMoveTask’s 1–500 a second', async () => {
    const { stage } = await stageWithDeadLetters(1);
    await expect(redriveDeadLetters(sqs, { stage, ratePerSecond: 501 })).rejects.toThrow(
      /rate must be an integer between 1 and 500 messages per second .*but 501 was provided/,
    );
  });

  it('peeks at messages with their reasons and leaves them in the DLQ', async () => {
    // GIVEN
    const { stage } = await stageWithDeadLetters(3);
    // WHEN
    const peeked = await peekDeadLetters(sqs, stage.deadLetterQueueUrl, 10);
    // THEN
    expect(peeked.map((message) => message.errorMessage).sort()).toEqual([
      'failure of 0',
      'failure of 1',
      'failure of 2',
    ]);
    expect(peeked.find((message) => message.errorMessage === 'failure of 0')).toMatchObject({
      errorClass: 'SchemaError',
      stage: 'work',
      body: '{"n":0}',
    });
    expect(await depthOf(sqs, stage.deadLetterQueueUrl)).toEqual({ messages: 3, inFlight: 0 });
  });

  it('lists each stage’s dead letters', async () => {
    const { stage } = await stageWithDeadLetters(2);
    const list = await listDeadLetters(sqs, { pipeline: 'p', stages: [stage] });
    expect(list).toEqual([{ stage: 'work', deadLetterQueueUrl: stage.deadLetterQueueUrl, messages: 2, inFlight: 0 }]);
  });
});
