import { createInterface } from 'node:readline/promises';
import { opsClients } from '../ops/clients.ts';
import {
  depthOf,
  listDeadLetters,
  peekDeadLetters,
  purgeDeadLetters,
  REDRIVE_RATE,
  redriveDeadLetters,
} from '../ops/dlq.ts';
import { stageNamed } from '../ops/resources.ts';
import { defineCommand } from './command.ts';
import { UsageError } from './errors.ts';
import { clientSettings, reportingOpsErrors, resolveResources, TARGET_HELP, TARGET_OPTIONS } from './status.ts';

/** `sluice dlq`: dead letters, listed, peeked at, redriven or purged. */
export const dlqCommand = defineCommand({
  name: 'dlq',
  summary: 'dead letters: list, peek at their reasons, redrive them at a rate, or purge them',
  description: [
    'list      each stage’s dead-letter queue and how many messages it holds',
    'peek      up to --max messages of a stage’s DLQ with their reasons (sluice-error-class, -message, …); they stay',
    'redrive   move a stage’s dead letters back to its queue at --rate a second (1–500): SQS’s StartMessageMoveTask',
    '          where the endpoint has it, else a paced receive → send → delete loop; --error-class moves only that class',
    '          (always the loop: a move task cannot filter)',
    'purge     delete every message of a stage’s DLQ; asks first unless --yes, and refuses without a terminal',
    TARGET_HELP,
  ].join('\n'),
  positionals: '<list | peek | redrive | purge>',
  options: {
    stage: { type: 'string', value: 'NAME', description: 'the stage whose dead-letter queue (peek, redrive, purge)' },
    max: { type: 'string', value: 'N', description: 'messages peek shows', default: '10' },
    rate: { type: 'string', value: 'N', description: 'messages a second redrive moves (1–500)', default: '10' },
    'error-class': {
      type: 'string',
      value: 'CLASS',
      description: 'redrive only messages whose sluice-error-class is CLASS',
    },
    yes: { type: 'boolean', description: 'purge without asking' },
    json: { type: 'boolean', description: 'JSON instead of text' },
    ...TARGET_OPTIONS,
  },
  examples: [
    'sluice dlq list --stack Documents',
    'sluice dlq peek --stage extract --stack Documents',
    'sluice dlq redrive --stage extract --rate 50 --error-class TransientError --stack Documents',
  ],
  run: async (values, positionals) => {
    const [action, ...extra] = positionals;
    if (action === undefined) throw new UsageError('say what to do: sluice dlq list | peek | redrive | purge');
    if (!['list', 'peek', 'redrive', 'purge'].includes(action) || extra.length > 0) {
      throw new UsageError(`unknown action '${positionals.join(' ')}'; the actions are: list, peek, redrive, purge`);
    }
    if (action !== 'list' && !values.stage) {
      throw new UsageError(`dlq ${action} needs --stage NAME (sluice dlq list shows the stages)`);
    }
    const max = integer('--max', values.max, 10, 1, 1_000);
    const rate = integer('--rate', values.rate, 10, REDRIVE_RATE.min, REDRIVE_RATE.max);
    const print = (value: unknown, text: string) => console.log(values.json ? JSON.stringify(value, null, 2) : text);
    await reportingOpsErrors(async () => {
      const clients = opsClients(clientSettings(values));
      try {
        const resources = await resolveResources(clients, values);
        if (action === 'list') {
          const list = await listDeadLetters(clients.sqs, resources);
          print(
            list,
            list
              .map(
                (entry) =>
                  `${entry.stage.padEnd(16)} ${String(entry.messages).padStart(8)} waiting ${String(entry.inFlight).padStart(6)} held   ${entry.deadLetterQueueUrl}`,
              )
              .join('\n'),
          );
          return;
        }
        const stage = stageNamed(resources, values.stage as string);
        if (action === 'peek') {
          const messages = await peekDeadLetters(clients.sqs, stage.deadLetterQueueUrl, max);
          print(
            messages,
            messages.length === 0
              ? `the dead-letter queue of ${stage.stage} is empty`
              : messages
                  .map(
                    (message) =>
                      `${message.messageId}  ${message.errorClass ?? '(no class)'}: ${message.errorMessage ?? '(no reason recorded)'}  receives ${message.receiveCount ?? '?'}\n  ${message.body.slice(0, 200)}`,
                  )
                  .join('\n'),
          );
          return;
        }
        if (action === 'redrive') {
          const result = await redriveDeadLetters(clients.sqs, {
            stage,
            ratePerSecond: rate,
            ...(values['error-class'] ? { errorClass: values['error-class'] } : {}),
          });
          print(
            result.mode === 'loop' ? { ...result, schedule: undefined } : result,
            result.mode === 'move-task'
              ? `started an SQS message move task at ${rate}/s (task handle ${result.taskHandle}); follow it with aws sqs list-message-move-tasks`
              : `moved ${result.moved} dead letters back to ${stage.stage} at ${rate}/s${result.skipped > 0 ? `; ${result.skipped} of other error classes left in the DLQ` : ''}`,
          );
          return;
        }
        const { messages, inFlight } = await depthOf(clients.sqs, stage.deadLetterQueueUrl);
        if (!values.yes) await confirm(stage.stage, messages + inFlight);
        await purgeDeadLetters(clients.sqs, stage);
        print(
          { purged: stage.deadLetterQueueUrl, messages: messages + inFlight },
          `purged the dead-letter queue of ${stage.stage} (${messages + inFlight} messages)`,
        );
      } finally {
        clients.destroy();
      }
    });
  },
});

/** Asks on the terminal; refuses without one (CI, pipes): purging cannot be undone. */
async function confirm(stage: string, count: number): Promise<void> {
  if (!process.stdin.isTTY) {
    throw new UsageError(
      `purge deletes all ${count} messages of the dead-letter queue of ${stage} for good and asks first, but there is no terminal to ask on; run it again with --yes to confirm`,
    );
  }
  const prompt = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = await prompt.question(
      `delete all ${count} messages of the dead-letter queue of ${stage} for good? type the stage name to confirm: `,
    );
    if (answer.trim() !== stage)
      throw new UsageError(`not confirmed ('${answer.trim()}' is not '${stage}'); nothing was purged`);
  } finally {
    prompt.close();
  }
}

function integer(flag: string, text: string | undefined, fallback: number, min: number, max: number): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new UsageError(`${flag} must be an integer between ${min} and ${max}, but '${text}' was provided`);
  }
  return value;
}
