import { defineConfig } from 'vitest/config';

/**
 * The fault suite (`npm run test:faults`, docs/fault-suite.md), apart from the
 * root config so that `npm test` never runs it. Each file is one experiment with a
 * broker and DynamoDB Local of its own, which it kills or freezes: one file at a
 * time, never beside another JVM-heavy run.
 */
export default defineConfig({
  test: {
    name: 'faults',
    include: ['test/faults/**/*.test.ts'],
    fileParallelism: false,
    // One experiment: start (16 s loaded), warm-up, ~30-50 s of load and fault,
    // recovery (at most RECOVERY_MS, 120 s), the checks.
    testTimeout: 420_000,
    hookTimeout: 180_000,
  },
});
