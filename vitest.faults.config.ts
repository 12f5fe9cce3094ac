import { defineConfig } from 'vitest/config';

/**
 * The fault matrix (`npm run test:faults`): test/faults/*.fault.ts, faults one after another on engines the file
 * starts itself (with data on disk, so a fault can restart them). Not part of `npm test`; `.ci/run` runs it as its own
 * step after it, and adds this JSON report to the final count. A fault waits for its ledger up to 7 minutes
 * (test/faults/harness.ts `settle`), hence the test timeout.
 */
export default defineConfig({
  resolve: { conditions: ['sluice-source', 'node', 'import', 'default'] },
  ssr: {
    resolve: { conditions: ['sluice-source', 'node', 'import', 'default'], externalConditions: ['sluice-source'] },
  },
  test: {
    include: ['test/faults/**/*.fault.ts'],
    reporters: ['default', ['json', { outputFile: 'test-results/faults.json' }]],
    testTimeout: 600_000,
    hookTimeout: 120_000,
    fileParallelism: false,
  },
});
