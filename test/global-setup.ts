import type { TestProject } from 'vitest/node';
import { type Engines, startEngines } from '../lib/local/engines.ts';

/**
 * Starts the embedded SQS and DynamoDB engines once for the whole run and hands their endpoints to the tests
 * (read them with `engineEndpoints()` from `test/helpers/engines.ts`).
 */
let engines: Engines | undefined;

export async function setup(project: TestProject): Promise<void> {
  engines = await startEngines();
  project.provide('sqsEndpoint', engines.sqsEndpoint);
  project.provide('dynamoEndpoint', engines.dynamoEndpoint);
  project.provide('awsRegion', engines.region);
}

export async function teardown(): Promise<void> {
  await engines?.stop();
}

declare module 'vitest' {
  export interface ProvidedContext {
    sqsEndpoint: string;
    dynamoEndpoint: string;
    awsRegion: string;
  }
}
