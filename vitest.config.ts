import { defineConfig } from 'vitest/config';

/**
 * Four projects, each runnable alone (`npm run test:unit` and friends):
 * - unit: pure logic, no servers, milliseconds;
 * - integration: a real Kafka broker and DynamoDB Local, started once by the global
 *   setup (or taken from KAFKA_BROKERS / DYNAMODB_ENDPOINT);
 * - browser: the local console in Debian's chromium (playwright-core), on a broker
 *   and DynamoDB Local of its own (docs/console-test.md);
 * - infra: the CDK app, synthesized in-process, offline.
 *
 * Timeouts are sized from measurement on the 2-core CI machine, quiet and with two
 * busy CPU loops beside the run, with room above the slowest time seen (a timeout
 * only bounds how long a broken test takes to fail). The waits inside integration
 * tests have their own deadlines, in test/integration/deadlines.ts.
 */
export default defineConfig({
  test: {
    // Coverage of our source by the unit and infra projects (`npm run
    // test:coverage`; docs/architecture.md, Coverage). The thresholds are what
    // those two projects reached when they were set (lines 49.97 %, functions
    // 49.38 %, branches 45.39 %, statements 49.09 %), rounded down: raise them as
    // coverage rises, never lower them.
    coverage: {
      provider: 'v8',
      // Our code only: not the console page's HTML, CSS and JSON, the launcher's
      // Java or the Maven poms beside it.
      include: ['functions/**/*.ts', 'infra/**/*.ts', 'local/**/*.{ts,js}'],
      exclude: [
        '**/*.test.ts',
        '**/*.d.ts',
        'test/**',
        'bench/**',
        'cdk.out/**',
      ],
      thresholds: {
        lines: 49,
        functions: 49,
        branches: 45,
        statements: 49,
      },
    },
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          // Slowest seen: 0.3 s a test quiet or loaded; the CDK synthesis in a
          // beforeAll, 1.5 s quiet and 6 s loaded.
          testTimeout: 30_000,
          hookTimeout: 60_000,
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          globalSetup: ['test/integration/global-setup.ts'],
          // One file at a time: each starts consumer threads, function sandboxes
          // and (system.test.ts, dev.test.ts) JVMs of its own; two such files side
          // by side on 2 cores starved each other's brokers and timed out.
          fileParallelism: false,
          // A test waits on at most a few pipeline deadlines (deadlines.ts); the
          // slowest passing test seen took 54 s loaded.
          testTimeout: 360_000,
          // Starting a broker and DynamoDB Local: 3-5 s quiet, 16 s loaded.
          hookTimeout: 180_000,
        },
      },
      {
        test: {
          name: 'browser',
          include: ['test/browser/**/*.test.ts'],
          // Its own broker and DynamoDB Local, like the integration project's; with
          // file parallelism off it joins that project's one-at-a-time queue, so a
          // browser and an integration file never run side by side.
          globalSetup: ['test/integration/global-setup.ts'],
          fileParallelism: false,
          // The whole story: 11 s quiet, 71 s beside two busy CPU loops (its
          // slowest step, the dead letter corrected and redriven, 32 s). The waits
          // inside have the integration deadlines; this only bounds a broken step.
          testTimeout: 360_000,
          // The system and Chromium started: 5 s quiet, 7 s loaded; the global
          // setup (a broker and DynamoDB Local) as the integration project's.
          hookTimeout: 180_000,
        },
      },
      {
        test: {
          name: 'infra',
          include: ['test/infra/**/*.test.ts'],
          globalSetup: ['test/infra/global-setup.ts'],
          // Synthesis without bundling: 1-2 s quiet, 4 s loaded; the one suite that
          // bundles (bundles.test.ts, every function), 6-10 s quiet.
          testTimeout: 120_000,
          hookTimeout: 120_000,
        },
      },
    ],
  },
});
