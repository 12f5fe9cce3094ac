// `npm run deploy:local`: checks that LocalStack answers, then runs cdklocal bootstrap and deploy with the environment
// aws-cdk-local needs (see lib/local/localstack.ts).
import { spawnSync } from 'node:child_process';
import { LocalRuntimeError } from '../lib/local/errors.ts';
import { assertLocalStackReachable, localStackDeployment } from '../lib/local/localstack.ts';

const deployment = localStackDeployment(process.env);
try {
  await assertLocalStackReachable(deployment.endpoint);
} catch (error) {
  if (!(error instanceof LocalRuntimeError)) throw error;
  console.error(`deploy:local: ${error.message}`);
  process.exit(1);
}
console.error(`deploy:local: LocalStack at ${deployment.endpoint}, region ${deployment.region}`);
for (const args of deployment.commands) {
  const result = spawnSync('cdklocal', args, { stdio: 'inherit', env: deployment.env, shell: false });
  if (result.error) {
    console.error(`deploy:local: cannot run cdklocal (${result.error.message}); run npm install first`);
    process.exit(1);
  }
  if (result.status !== 0) process.exit(result.status ?? 1);
}
