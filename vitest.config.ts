import { defineConfig } from 'vitest/config';

export default defineConfig({
  // `import … from 'sluice/runtime'` resolves to the TypeScript sources in this repository (see package.json exports).
  resolve: { conditions: ['sluice-source', 'node', 'import', 'default'] },
  ssr: {
    resolve: { conditions: ['sluice-source', 'node', 'import', 'default'], externalConditions: ['sluice-source'] },
  },
  test: {
    include: ['test/**/*.test.ts'],
    // fauxqs (SQS) and DynamoDB Local, started once per run; tests create uniquely named queues and tables.
    globalSetup: ['test/global-setup.ts'],
    // The JSON report is what .ci/run reads for its final "N passed, N failed" line.
    reporters: ['default', ['json', { outputFile: 'test-results/vitest.json' }]],
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
