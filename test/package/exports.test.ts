import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { SQSBatchResponse } from 'aws-lambda';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { LOCAL_CREDENTIALS } from '../../lib/local/engines.ts';
import { engineEndpoints, localSqsClient } from '../helpers/engines.ts';
import { createQueuePair, fakeContext } from '../helpers/runtime-fixture.ts';

describe('package exports', () => {
  it('exposes the constructs and the pipeline definition as sluice', async () => {
    const sluice = await import('sluice');
    expect(typeof sluice.Pipeline).toBe('function');
    expect(typeof sluice.definePipeline).toBe('function');
  });

  it('exposes the runtime as sluice/runtime', async () => {
    const runtime = await import('sluice/runtime');
    expect(typeof runtime.consumer).toBe('function');
    expect(new runtime.PermanentError('x')).toBeInstanceOf(Error);
  });

  it('bundles another app handler that imports sluice/runtime, and the bundle runs', async () => {
    // GIVEN the handler of another CDK app, bundled as NodejsFunction would (ESM, AWS SDK external)
    const outdir = mkdtempSync(join(tmpdir(), 'sluice-bundle-'));
    await build({
      entryPoints: ['test/fixtures/other-app/handler.ts'],
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node24',
      external: ['@aws-sdk/*'],
      conditions: ['sluice-source'],
      outfile: join(outdir, 'index.mjs'),
      logLevel: 'silent',
    });
    // The bundle's own SDK client finds the embedded engine through AWS_ENDPOINT_URL, as on LocalStack.
    const queue = await createQueuePair(localSqsClient());
    const { sqsEndpoint, region } = engineEndpoints();
    Object.assign(process.env, {
      AWS_ENDPOINT_URL: sqsEndpoint,
      AWS_REGION: region,
      AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
      SLUICE_QUEUE_URL: queue.queueUrl,
    });
    const { handler } = await import(pathToFileURL(join(outdir, 'index.mjs')).href);
    // WHEN it gets a batch with a good and a flaky record
    const record = (messageId: string, data: unknown) => ({
      messageId,
      receiptHandle: messageId,
      body: JSON.stringify({ jobId: messageId, schemaVersion: 1, data }),
      attributes: {
        ApproximateReceiveCount: '1',
        SentTimestamp: '0',
        SenderId: 'x',
        ApproximateFirstReceiveTimestamp: '0',
      },
      messageAttributes: {},
      md5OfBody: '',
      eventSource: 'aws:sqs',
      eventSourceARN: 'arn:aws:sqs:eu-west-1:000000000000:thumbnails',
      awsRegion: 'eu-west-1',
    });
    const result: SQSBatchResponse = await handler(
      { Records: [record('good', { imageId: 'a', width: 100 }), record('flaky', { imageId: 'flaky', width: 100 })] },
      fakeContext(),
    );
    // THEN only the flaky record is reported for retry
    expect(result.batchItemFailures).toEqual([{ itemIdentifier: 'flaky' }]);
  });
});
