/**
 * The shared rate limiter (`functions/runtime/rate-limiter.ts`) on DynamoDB Local: takes per second granted, next to
 * its peer measured in the same run — a single unconditional `UpdateItem` (`ADD hits :one`) on one item, the least a
 * shared counter can cost. Both at 1 and at 16 requests in flight (4 clients × 4, as 4 containers would), on:
 * - a busy bucket (its `tat` stays ahead of the clock, a huge burst so every take is granted): the steady state of a
 *   limiter under load, one `SET tat = tat + :cost` per take;
 * - an idle bucket (a rate far above what the machine can do, so `tat` is always behind the clock): one
 *   `SET tat = :now + :cost` per take;
 * - a bucket limited to 600/min: most takes are refused, answered from the failed condition.
 *
 * npm run bench -- limiter
 */
import { CreateTableCommand, DynamoDBClient, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { limiterKey, takeTokens } from '../functions/runtime/rate-limiter.ts';
import { CONTROL_TABLE } from '../lib/definition/tables.ts';
import { LOCAL_CREDENTIALS, startEngines } from '../lib/local/engines.ts';

const SECONDS = Number(process.env.LIMITER_SECONDS ?? 3);
const engines = await startEngines();
try {
  const client = () =>
    new DynamoDBClient({ endpoint: engines.dynamoEndpoint, region: engines.region, credentials: LOCAL_CREDENTIALS });
  const setup = client();
  const table = 'bench-control';
  await setup.send(
    new CreateTableCommand({
      TableName: table,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [{ AttributeName: CONTROL_TABLE.partitionKey, AttributeType: 'S' }],
      KeySchema: [{ AttributeName: CONTROL_TABLE.partitionKey, KeyType: 'HASH' }],
    }),
  );

  type Operation = (client: DynamoDBClient) => Promise<boolean>;

  /** Runs `operation` from `pool.length × perClient` loops for `ms`; returns operations and grants. */
  async function burst(pool: DynamoDBClient[], perClient: number, operation: Operation, ms: number) {
    let operations = 0;
    let granted = 0;
    const started = performance.now();
    const deadline = started + ms;
    await Promise.all(
      pool.flatMap((c) =>
        Array.from({ length: perClient }, async () => {
          while (performance.now() < deadline) {
            if (await operation(c)) granted++;
            operations++;
          }
        }),
      ),
    );
    const seconds = (performance.now() - started) / 1_000;
    return { perSecond: operations / seconds, grantedPerSecond: granted / seconds };
  }

  const median = (values: number[]) => [...values].sort((a, b) => a - b)[values.length >> 1] as number;

  // One token a second with a huge burst: every take is granted and tat runs ahead of the clock at any throughput.
  const busy = { ratePerMinute: 60, burst: 1_000_000 };
  // Tokens far faster than the machine takes them: tat stays behind the clock (measured with one taker only; with
  // several, their clocks interleave and "idle" stops being a stable state).
  const idle = { ratePerMinute: 60_000_000, burst: 1_000 };
  const limited = { ratePerMinute: 600, burst: 10 };
  const ROUNDS = Math.max(3, SECONDS);
  const rows: string[][] = [];
  for (const [clients, perClient] of [
    [1, 1],
    [4, 4],
  ] as const) {
    const pool = Array.from({ length: clients }, client);
    const operations: [string, Operation][] = [
      [
        'peer: unconditional UpdateItem (ADD)',
        async (c) => {
          await c.send(
            new UpdateItemCommand({
              TableName: table,
              Key: { [CONTROL_TABLE.partitionKey]: { S: `peer#${clients}` } },
              UpdateExpression: 'ADD hits :one',
              ExpressionAttributeValues: { ':one': { N: '1' } },
            }),
          );
          return true;
        },
      ],
      [
        'take on a busy bucket',
        async (c) =>
          (await takeTokens(c, table, limiterKey('bench', `busy-${clients}`), busy, 1, Date.now(), true)).granted,
      ],
      ...(clients === 1
        ? ([
            [
              'take on an idle bucket',
              async (c) =>
                (await takeTokens(c, table, limiterKey('bench', 'idle'), idle, 1, Date.now(), false)).granted,
            ],
          ] as [string, Operation][])
        : []),
      [
        'take on a 600/min bucket',
        async (c) =>
          (await takeTokens(c, table, limiterKey('bench', `limited-${clients}`), limited, 1, Date.now(), true)).granted,
      ],
    ];
    // Warm-up (connections, both JITs: Node's and DynamoDB Local's JVM), then rounds of 1 s per operation,
    // interleaved so that the machine's load drifts over all of them alike; medians of the rounds.
    for (const [, operation] of operations) await burst(pool, perClient, operation, 500);
    const perSecond = operations.map(() => [] as number[]);
    const grantedPerSecond = operations.map(() => [] as number[]);
    for (let round = 0; round < ROUNDS; round++) {
      for (const [index, [, operation]] of operations.entries()) {
        const result = await burst(pool, perClient, operation, 1_000);
        perSecond[index]?.push(result.perSecond);
        grantedPerSecond[index]?.push(result.grantedPerSecond);
      }
    }
    const peer = median(perSecond[0] as number[]);
    for (const [index, [name]] of operations.entries()) {
      const value = median(perSecond[index] as number[]);
      const granted = median(grantedPerSecond[index] as number[]);
      rows.push([
        String(clients * perClient),
        index === 0 ? name : `${name} (granted ${granted.toFixed(granted < 20 ? 1 : 0)}/s)`,
        value.toFixed(0),
        (value / peer).toFixed(2),
      ]);
    }
  }
  console.log(`DynamoDB Local, medians of ${ROUNDS} interleaved rounds of 1 s per row\n`);
  console.log('| in flight | operation | per second | ratio to peer |');
  console.log('| --: | --- | --: | --: |');
  for (const row of rows) console.log(`| ${row.join(' | ')} |`);
} finally {
  await engines.stop();
}
