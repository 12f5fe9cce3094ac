import { resolve } from 'node:path';
import { CreateTableCommand, PutItemCommand, ResourceInUseException } from '@aws-sdk/client-dynamodb';
import { CreateQueueCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { main } from '../../lib/cli/main.ts';
import { depthOf } from '../../lib/ops/dlq.ts';
import { engineEndpoints, localDynamoClient, localSqsClient } from '../helpers/engines.ts';

const FIXTURE = resolve(import.meta.dirname, 'fixtures/cli-pipeline.ts');
const sqs = localSqsClient();
const dynamo = localDynamoClient();
let deadLetterQueueUrl = '';

/** Runs the CLI in-process; returns its exit code and what it printed. */
async function run(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  vi.spyOn(console, 'log').mockImplementation((line: string) => void out.push(line));
  vi.spyOn(console, 'error').mockImplementation((line: string) => void err.push(line));
  const code = await main(argv);
  vi.restoreAllMocks();
  return { code, out: out.join('\n'), err: err.join('\n') };
}
const target = () => [
  '--endpoint',
  engineEndpoints().sqsEndpoint,
  '--dynamodb-endpoint',
  engineEndpoints().dynamoEndpoint,
  '--pipeline',
  FIXTURE,
];

beforeAll(async () => {
  // GIVEN the fixture pipeline's queues and job table as sluice dev names them, on the embedded engines
  await sqs.send(new CreateQueueCommand({ QueueName: 'opscli-work' }));
  deadLetterQueueUrl = (await sqs.send(new CreateQueueCommand({ QueueName: 'opscli-work-dlq' }))).QueueUrl as string;
  try {
    await dynamo.send(
      new CreateTableCommand({
        TableName: 'opscli-jobs',
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [{ AttributeName: 'jobId', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'jobId', KeyType: 'HASH' }],
      }),
    );
  } catch (error) {
    if (!(error instanceof ResourceInUseException)) throw error;
  }
  const now = Date.now();
  for (const [jobId, state, updatedAt] of [
    ['job-old', 'dead-lettered', now - 3 * 3_600_000],
    ['job-new', 'dead-lettered', now - 60_000],
    ['job-done', 'completed', now - 30_000],
  ] as const) {
    await dynamo.send(
      new PutItemCommand({
        TableName: 'opscli-jobs',
        Item: {
          jobId: { S: jobId },
          state: { S: state },
          stage: { S: 'work' },
          attempts: { N: '3' },
          updatedAt: { N: String(updatedAt) },
          ...(state === 'dead-lettered'
            ? { lastError: { M: { class: { S: 'SchemaError' }, message: { S: 'n: expected int' } } } }
            : {}),
        },
      }),
    );
  }
});
afterEach(() => {
  vi.restoreAllMocks();
  process.exitCode = undefined;
});
afterAll(() => {
  sqs.destroy();
  dynamo.destroy();
});

describe('sluice status, dlq and jobs on the command line', () => {
  it('print their help with exit code 0', async () => {
    for (const command of [
      ['status', '--help'],
      ['dlq', '--help'],
      ['jobs', '--help'],
    ]) {
      const { code, out } = await run(...command);
      expect(code).toBe(0);
      expect(out).toMatch(/^usage: sluice (status|dlq|jobs)/);
      expect(out).toMatch(/--stack NAME +a deployed stack/);
      expect(out).toMatch(/--endpoint URL +one endpoint for every service/);
    }
  });

  it('fail with exit code 2 when status is not told where the pipeline is', async () => {
    const { code, err } = await run('status');
    expect(code).toBe(2);
    expect(err).toMatch(/say where the pipeline is: --url <dashboard URL printed by sluice dev>, or --stack/);
  });

  it('fail with exit code 1 pointing at --url when status reads CloudWatch from sluice dev’s engines', async () => {
    const { code, err } = await run('status', ...target());
    expect(code).toBe(1);
    expect(err).toMatch(/against sluice dev, use --url with the dashboard URL it prints/);
  });

  it('fail with exit code 2 naming the flag, range and value of a bad --rate', async () => {
    const { code, err } = await run('dlq', 'redrive', '--stage', 'work', '--rate', '900', ...target());
    expect(code).toBe(2);
    expect(err).toMatch(/--rate must be an integer between 1 and 500, but '900' was provided/);
  });

  it('fail with exit code 1 naming the stages there are when --stage is unknown', async () => {
    const { code, err } = await run('dlq', 'peek', '--stage', 'nope', ...target());
    expect(code).toBe(1);
    expect(err).toMatch(/pipeline opscli has no stage 'nope'; its stages are: work/);
  });

  it('redrive dead letters through the CLI, and purge refuses without --yes when there is no terminal', async () => {
    // GIVEN 3 dead letters
    for (const n of [1, 2, 3]) {
      await sqs.send(new SendMessageCommand({ QueueUrl: deadLetterQueueUrl, MessageBody: JSON.stringify({ n }) }));
    }
    expect((await run('dlq', 'list', '--json', ...target())).out).toMatch(/"messages": 3/);
    // WHEN redriven at 100 a second
    const redrive = await run('dlq', 'redrive', '--stage', 'work', '--rate', '100', '--json', ...target());
    // THEN
    expect(redrive.code).toBe(0);
    expect(JSON.parse(redrive.out)).toMatchObject({ mode: 'loop', moved: 3, skipped: 0, ratePerSecond: 100 });
    // GIVEN another dead letter; WHEN purged without --yes and without a terminal
    await sqs.send(new SendMessageCommand({ QueueUrl: deadLetterQueueUrl, MessageBody: '{"n":4}' }));
    const refused = await run('dlq', 'purge', '--stage', 'work', ...target());
    expect(refused.code).toBe(2);
    expect(refused.err).toMatch(/no terminal to ask on; run it again with --yes to confirm/);
    expect((await depthOf(sqs, deadLetterQueueUrl)).messages).toBe(1);
    // WHEN confirmed with --yes
    const purged = await run('dlq', 'purge', '--stage', 'work', '--yes', ...target());
    expect(purged.code).toBe(0);
    expect((await depthOf(sqs, deadLetterQueueUrl)).messages).toBe(0);
  });

  it('get a job by id, and exit 1 saying so when there is none', async () => {
    const found = await run('jobs', 'get', 'job-new', '--json', ...target());
    expect(found.code).toBe(0);
    expect(JSON.parse(found.out)).toMatchObject({
      jobId: 'job-new',
      state: 'dead-lettered',
      attempts: 3,
      lastError: { class: 'SchemaError', message: 'n: expected int' },
    });
    const missing = await run('jobs', 'get', 'job-none', ...target());
    expect(missing.code).toBe(1);
    expect(missing.err).toMatch(/no job job-none in table opscli-jobs/);
  });

  it('list jobs in a state since a time', async () => {
    const listed = await run('jobs', 'list', '--status', 'dead-lettered', '--since', '1h', '--json', ...target());
    expect(listed.code).toBe(0);
    const result = JSON.parse(listed.out);
    expect(result.jobs.map((job: { jobId: string }) => job.jobId)).toEqual(['job-new']);
    expect(result.scanned).toBeGreaterThanOrEqual(3);
    const bad = await run('jobs', 'list', '--status', 'lost', ...target());
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(
      /--status must be one of accepted, processing, completed, failed, dead-lettered, but 'lost'/,
    );
  });
});
