import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';

/**
 * How sluice bundles a function's handler (NodejsFunction, esbuild on the host): one minified ESM file with a source
 * map for Node 24 (`nodejs24.x`), the AWS SDK left out because the Lambda runtime provides it
 * (https://docs.aws.amazon.com/lambda/latest/dg/lambda-nodejs.html), and a `require` for the CommonJS dependencies an
 * ESM bundle still calls it from.
 */
export function sluiceBundling(overrides: nodejs.BundlingOptions = {}): nodejs.BundlingOptions {
  return {
    forceDockerBundling: false,
    format: nodejs.OutputFormat.ESM,
    minify: true,
    sourceMap: true,
    target: 'node24',
    mainFields: ['module', 'main'],
    externalModules: ['@aws-sdk/*'],
    banner:
      "import { createRequire as __sluiceCreateRequire } from 'node:module'; const require = __sluiceCreateRequire(import.meta.url);",
    ...overrides,
  };
}
