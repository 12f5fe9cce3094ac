import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { freePort } from '../../lib/local/engines.ts';
import { EndpointUnreachableError } from '../../lib/local/errors.ts';
import { assertLocalStackReachable, localStackDeployment, s3EndpointFor } from '../../lib/local/localstack.ts';

const run = promisify(execFile);

describe('deploy:local (LocalStack with aws-cdk-local)', () => {
  it('sets AWS_ENDPOINT_URL_S3 with an .s3. host next to the README’s AWS_ENDPOINT_URL, as cdklocal 3 requires', () => {
    // GIVEN the README's environment
    const env = {
      AWS_ENDPOINT_URL: 'http://localhost:4566',
      AWS_REGION: 'eu-west-1',
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
    };
    // WHEN the deployment is prepared
    const deployment = localStackDeployment(env);
    // THEN cdklocal gets an S3 endpoint it accepts, the region survives its AWS_* filter, and the account is named
    expect(deployment.env).toMatchObject({
      AWS_ENDPOINT_URL: 'http://localhost:4566',
      AWS_ENDPOINT_URL_S3: 'http://s3.localhost.localstack.cloud:4566',
      AWS_REGION: 'eu-west-1',
      AWS_DEFAULT_REGION: 'eu-west-1',
      AWS_ENVAR_ALLOWLIST: 'AWS_REGION,AWS_DEFAULT_REGION',
      CDK_DEFAULT_ACCOUNT: '000000000000',
      CDK_DEFAULT_REGION: 'eu-west-1',
    });
    expect(deployment.commands).toEqual([
      ['bootstrap', 'aws://000000000000/eu-west-1'],
      ['deploy', '--all', '--require-approval', 'never'],
    ]);
  });

  it('keeps an AWS_ENDPOINT_URL_S3 the user set, and defaults to LocalStack’s own host name', () => {
    expect(localStackDeployment({ AWS_ENDPOINT_URL_S3: 'http://s3.example.test:4566' }).env).toMatchObject({
      AWS_ENDPOINT_URL: 'http://localhost.localstack.cloud:4566',
      AWS_ENDPOINT_URL_S3: 'http://s3.example.test:4566',
      AWS_REGION: 'us-east-1',
    });
    expect(s3EndpointFor('https://abc.sandbox.localstack.cloud')).toBe('https://s3.abc.sandbox.localstack.cloud');
  });

  it('fails in one line saying how to start LocalStack when nothing answers', async () => {
    const port = await freePort();
    await expect(assertLocalStackReachable(`http://127.0.0.1:${port}`)).rejects.toThrow(EndpointUnreachableError);
    await expect(assertLocalStackReachable(`http://127.0.0.1:${port}`)).rejects.toThrow(
      /^LocalStack does not answer at http:\/\/127\.0\.0\.1:\d+ \(ECONNREFUSED\): start it \('localstack start -d'/,
    );
  });

  it('npm run deploy:local exits 1 with that line before running cdklocal', async () => {
    const port = await freePort();
    const result = await run('npm', ['run', '--silent', 'deploy:local'], {
      env: { ...process.env, AWS_ENDPOINT_URL: `http://127.0.0.1:${port}` },
    }).catch((error: { code: number; stdout: string; stderr: string }) => error);
    expect('code' in result && result.code).toBe(1);
    expect(result.stderr.trim()).toMatch(
      /^deploy:local: LocalStack does not answer at http:\/\/127\.0\.0\.1:\d+ \(ECONNREFUSED\)/,
    );
  });
});
