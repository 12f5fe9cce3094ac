import { afterEach, describe, expect, it, vi } from 'vitest';
import { handler as authorizerHandler, authorizerOptionsFromEnvironment } from '../../functions/authorizer/handler.ts';
import { handler as drainerHandler } from '../../functions/drainer/handler.ts';
import { authorizerSettingsOf, definePipeline, ENV } from '../../lib/definition/index.ts';
import { engineEndpoints, localSqsClient } from '../helpers/engines.ts';
import { authorizerEvent, createQueue, fillQueue } from '../helpers/ingress.ts';

/** The Lambda entry points, configured only by the environment the constructs set, on the embedded SQS engine. */

function useEngineEnvironment(): void {
  const { sqsEndpoint, region } = engineEndpoints();
  vi.stubEnv(ENV.awsEndpointUrl, sqsEndpoint);
  vi.stubEnv('AWS_REGION', region);
  vi.stubEnv('AWS_ACCESS_KEY_ID', 'local');
  vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'local');
}

afterEach(() => {
  vi.unstubAllEnvs();
});

describe('Lambda entry points', () => {
  it('runs the authorizer from the settings the IngestApi writes to SLUICE_ADMISSION', async () => {
    // GIVEN a definition whose hard limit is 3, and a queue holding 3 messages
    const pipeline = definePipeline({
      name: 'docs',
      stages: [{ name: 'ingest', consumer: { entry: 'x.ts' }, flow: { depthLimit: 3 } }],
      ingress: {},
    });
    const sqs = localSqsClient();
    const queueUrl = await createQueue(sqs, 'entry-authz');
    await fillQueue(sqs, queueUrl, 3);
    useEngineEnvironment();
    vi.stubEnv(ENV.queueUrl, queueUrl);
    vi.stubEnv(ENV.admission, JSON.stringify(authorizerSettingsOf(pipeline.ingress ?? expect.fail('no ingress'))));

    // WHEN
    const result = await authorizerHandler(authorizerEvent());

    // THEN
    expect(result.policyDocument.Statement[0]?.Effect).toBe('Deny');
    expect(result.context).toMatchObject({ reason: 'over-hard-limit', status: 503 });
  });

  it('fails if the authorizer environment lacks its settings', () => {
    expect(() => authorizerOptionsFromEnvironment({ [ENV.queueUrl]: 'http://q' })).toThrow(
      /misconfigured: SLUICE_ADMISSION is not set/,
    );
  });

  it('runs the drainer from SLUICE_DRAIN and the queue URLs, stopping before the function times out', async () => {
    // GIVEN
    const sqs = localSqsClient();
    const overflowQueueUrl = await createQueue(sqs, 'entry-overflow');
    const queueUrl = await createQueue(sqs, 'entry-main');
    await fillQueue(sqs, overflowQueueUrl, 4);
    useEngineEnvironment();
    vi.stubEnv(ENV.overflowQueueUrl, overflowQueueUrl);
    vi.stubEnv(ENV.queueUrl, queueUrl);
    vi.stubEnv(ENV.drain, JSON.stringify({ ratePerSecond: 100, lowWatermark: 50 }));

    // WHEN
    const report = await drainerHandler({}, { getRemainingTimeInMillis: () => 60_000 });

    // THEN
    expect(report).toMatchObject({ moved: 4, stoppedBecause: 'empty' });
  });
});
