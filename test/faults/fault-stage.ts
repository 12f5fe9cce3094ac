import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { DynamoDBClient, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import type { Context, SQSEvent } from 'aws-lambda';
import { INDEX_TABLE_ENV } from '../../functions/examples/index-table.ts';
import { ENV } from '../../lib/definition/index.ts';
import { FAULT_STAGE_ENTRY_ENV, FAULT_SWITCH_DIR_ENV, type FaultSwitch } from './fault-pipeline.ts';

/**
 * The fault matrix's wrapper around an example stage (test only; the example's handlers stay as they are): loads the
 * stage's own handler (`FAULT_STAGE_ENTRY`) and runs every invocation through it, injecting what the fault switch
 * asks for (see {@link FaultSwitch}). The crash and the hang are injected below the handler, in the DynamoDB client the
 * index stage writes with, so they strike in the middle of a batch, after some of its records have run.
 */

const entry = process.env[FAULT_STAGE_ENTRY_ENV] as string;
const switchDir = process.env[FAULT_SWITCH_DIR_ENV] as string;
const stage = process.env[ENV.stageName] as string;
// The runtime imports the SQS client on its first send, inside the first invocation; on a busy machine that import
// alone can take seconds of a short timeout. Loaded here, in the environment's init (which the local Lambda, like
// Lambda's init phase, does not count against the function timeout), so a timeout in the matrix is the injected one.
await import('@aws-sdk/client-sqs');
const example = (await import(pathToFileURL(entry).href)) as {
  handler: (event: SQSEvent, context: Context) => Promise<unknown>;
};

function readSwitch(): FaultSwitch {
  try {
    return JSON.parse(readFileSync(join(switchDir, 'switch.json'), 'utf8')) as FaultSwitch;
  } catch {
    return {};
  }
}

/** True the first time it is asked for `name` (in any environment): the marker file is created exclusively. */
function once(name: string): boolean {
  try {
    writeFileSync(join(switchDir, `fired-${name.replace(/[^\w.-]/g, '_')}`), '', { flag: 'wx' });
    return true;
  } catch {
    return false;
  }
}

/** The document id of a producer's first attempt (a retry appends `-r<n>`, see harness.ts). */
function firstAttemptOf(documentId: string): string {
  return documentId.replace(/-r\d+$/, '');
}

type Send = (this: DynamoDBClient, command: unknown, ...rest: unknown[]) => Promise<unknown>;
const send = DynamoDBClient.prototype.send as unknown as Send;
const faultySend: Send = async function (command, ...rest) {
  const indexWrite = command instanceof UpdateItemCommand && command.input.TableName === process.env[INDEX_TABLE_ENV];
  const documentId = indexWrite ? (command.input.ExpressionAttributeValues?.[':documentId']?.S ?? '') : '';
  const faults = indexWrite ? readSwitch() : {};
  if (indexWrite && faults.hangIndexWrite?.includes(firstAttemptOf(documentId)) && once(`hang-${documentId}`)) {
    return new Promise<never>(() => undefined);
  }
  const result = await send.call(this, command, ...rest);
  if (indexWrite && faults.crashAfterIndexWrite?.includes(firstAttemptOf(documentId)) && once(`crash-${documentId}`)) {
    process.exit(137);
  }
  return result;
};
DynamoDBClient.prototype.send = faultySend as unknown as typeof DynamoDBClient.prototype.send;

export const handler = async (event: SQSEvent, context: Context): Promise<unknown> => {
  const slowMs = readSwitch().slowMs?.[stage];
  if (slowMs) await new Promise((resolve) => setTimeout(resolve, slowMs));
  return example.handler(event, context);
};
