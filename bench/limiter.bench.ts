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

  /** Runs `operation` from `clients × perClient` loops for SECONDS; returns operations/s and granted/s. */
  async function measure(clients: number, perClient: number, operation: (client: DynamoDBClient) => Promise<boolean>) {
    const pool = Array.from({ length: clients }, client);
    // Warm-up: connections open, both JITs (Node's and DynamoDB Local's JVM) warm.
    const warm = performance.now() + 1_000;
    await Promise.all(
      pool.map(async (c) => {
        while (performance.now() < warm) await operation(c);
      }),
    );
    let operations = 0;
    let granted = 0;
    const started = performance.now();
    const deadline = started + SECONDS * 1_000;
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

  // One token a second with a huge burst: every take is granted and tat runs ahead of the clock at any throughput.
  const busy = { ratePerMinute: 60, burst: 1_000_000 };
  // Tokens far faster than the machine takes them: tat stays behind the clock (measured with one taker only; with
  // several, their clocks interleave and "idle" stops being a stable state).
  const idle = { ratePerMinute: 60_000_000, burst: 1_000 };
  const limited = { ratePerMinute: 600, burst: 10 };
  const rows: string[][] = [];
  for (const [clients, perClient] of [
    [1, 1],
    [4, 4],
  ] as const) {
    const peerKey = `peer#${clients}`;
    const peer = await measure(clients, perClient, async (c) => {
      await c.send(
        new UpdateItemCommand({
          TableName: table,
          Key: { [CONTROL_TABLE.partitionKey]: { S: peerKey } },
          UpdateExpression: 'ADD hits :one',
          ExpressionAttributeValues: { ':one': { N: '1' } },
        }),
      );
      return true;
    });
    const busyKey = limiterKey('bench', `busy-${clients}`);
    const busyTake = await measure(
      clients,
      perClient,
      async (c) => (await takeTokens(c, table, busyKey, busy, 1, Date.now(), true)).granted,
    );
    const idleKey = limiterKey('bench', `idle-${clients}`);
    const idleTake =
      clients === 1
        ? await measure(
            clients,
            perClient,
            async (c) => (await takeTokens(c, table, idleKey, idle, 1, Date.now(), false)).granted,
          )
        : undefined;
    const limitedKey = limiterKey('bench', `limited-${clients}`);
    const refused = await measure(
      clients,
      perClient,
      async (c) => (await takeTokens(c, table, limitedKey, limited, 1, Date.now(), true)).granted,
    );
    const inFlight = String(clients * perClient);
    rows.push([inFlight, 'peer: unconditional UpdateItem (ADD)', peer.perSecond.toFixed(0), '1']);
    const ratio = (value: number) => (value / peer.perSecond).toFixed(2);
    rows.push([
      inFlight,
      `take on a busy bucket (granted ${busyTake.grantedPerSecond.toFixed(0)}/s)`,
      busyTake.perSecond.toFixed(0),
      ratio(busyTake.perSecond),
    ]);
    if (idleTake) {
      rows.push([
        inFlight,
        `take on an idle bucket (granted ${idleTake.grantedPerSecond.toFixed(0)}/s)`,
        idleTake.perSecond.toFixed(0),
        ratio(idleTake.perSecond),
      ]);
    }
    rows.push([
      inFlight,
      `take on a 600/min bucket (granted ${refused.grantedPerSecond.toFixed(1)}/s)`,
      refused.perSecond.toFixed(0),
      ratio(refused.perSecond),
    ]);
  }
  console.log(`DynamoDB Local, ${SECONDS} s per row\n`);
  console.log('| in flight | operation | per second | ratio to peer |');
  console.log('| --: | --- | --: | --: |');
  for (const row of rows) console.log(`| ${row.join(' | ')} |`);
} finally {
  await engines.stop();
}
