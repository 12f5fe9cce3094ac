import { EndpointUnreachableError } from './errors.ts';

/**
 * What `npm run deploy:local` needs to deploy the CDK app to a running LocalStack with aws-cdk-local (`cdklocal`).
 *
 * aws-cdk-local 3 with aws-cdk ≥ 2.177 strips every `AWS_*` variable except `AWS_ENDPOINT_URL*` and an allowlist, and
 * refuses to run when `AWS_ENDPOINT_URL` is set without `AWS_ENDPOINT_URL_S3`, which must contain an `.s3.` host
 * component so it can tell S3 requests apart (https://github.com/localstack/aws-cdk-local#version-support). LocalStack
 * answers STS with its default account 000000000000 for the `test` credentials
 * (https://docs.localstack.cloud/references/credentials/), so the bootstrap target names it instead of relying on
 * account resolution.
 */

/** LocalStack's default account, for `test`/`test` credentials. */
export const LOCALSTACK_ACCOUNT = '000000000000';
/** Where LocalStack listens by default; `localhost.localstack.cloud` and its subdomains resolve to 127.0.0.1. */
export const LOCALSTACK_DEFAULT_ENDPOINT = 'http://localhost.localstack.cloud:4566';

/** The environment and commands of a LocalStack deployment. */
export interface LocalStackDeployment {
  readonly endpoint: string;
  readonly region: string;
  /** The environment `cdklocal` runs with. */
  readonly env: Readonly<Record<string, string>>;
  /** `cdklocal` argument lists, in order. */
  readonly commands: readonly (readonly string[])[];
}

/** The environment and commands for `cdklocal`, from the user's environment (`AWS_ENDPOINT_URL`, `AWS_REGION`…). */
export function localStackDeployment(env: Readonly<Record<string, string | undefined>>): LocalStackDeployment {
  const endpoint = (env.AWS_ENDPOINT_URL ?? LOCALSTACK_DEFAULT_ENDPOINT).replace(/\/+$/, '');
  const region = env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? 'us-east-1';
  const s3Endpoint = env.AWS_ENDPOINT_URL_S3 ?? s3EndpointFor(endpoint);
  const allowlist = new Set(['AWS_REGION', 'AWS_DEFAULT_REGION', ...(env.AWS_ENVAR_ALLOWLIST ?? '').split(',')]);
  allowlist.delete('');
  const passed = Object.fromEntries(
    Object.entries(env).filter((entry): entry is [string, string] => entry[1] !== undefined),
  );
  return {
    endpoint,
    region,
    env: {
      ...passed,
      AWS_ENDPOINT_URL: endpoint,
      AWS_ENDPOINT_URL_S3: s3Endpoint,
      AWS_REGION: region,
      AWS_DEFAULT_REGION: region,
      AWS_ENVAR_ALLOWLIST: [...allowlist].join(','),
      CDK_DEFAULT_ACCOUNT: LOCALSTACK_ACCOUNT,
      CDK_DEFAULT_REGION: region,
    },
    commands: [
      ['bootstrap', `aws://${LOCALSTACK_ACCOUNT}/${region}`],
      ['deploy', '--all', '--require-approval', 'never'],
    ],
  };
}

/**
 * The S3 endpoint for a LocalStack endpoint: `s3.` in front of a `localhost.localstack.cloud` host; for `localhost` or
 * `127.0.0.1` (whose subdomains the CDK CLI cannot resolve), `s3.localhost.localstack.cloud` on the same port.
 */
export function s3EndpointFor(endpoint: string): string {
  const url = new URL(endpoint);
  const host =
    url.hostname === 'localhost' || url.hostname === '127.0.0.1' ? 'localhost.localstack.cloud' : url.hostname;
  url.hostname = host.startsWith('s3.') ? host : `s3.${host}`;
  return url.toString().replace(/\/+$/, '');
}

/** Fails with one line when LocalStack's health endpoint does not answer at `endpoint`. */
export async function assertLocalStackReachable(endpoint: string, timeoutMs = 5_000): Promise<void> {
  try {
    const response = await fetch(`${endpoint}/_localstack/health`, { signal: AbortSignal.timeout(timeoutMs) });
    await response.body?.cancel();
  } catch (error) {
    const why = (error as { cause?: { code?: string } }).cause?.code ?? (error as Error).name;
    throw new EndpointUnreachableError(
      `LocalStack does not answer at ${endpoint} (${why}): start it ('localstack start -d', or 'docker run -d -p 4566:4566 localstack/localstack') or set AWS_ENDPOINT_URL to where it runs`,
      { cause: error },
    );
  }
}
