import { defineConfig } from 'vitest/config';

/**
 * Three projects, each runnable alone (`npm run test:unit` and friends):
 * - unit: pure logic, no servers, milliseconds;
 * - integration: a real Kafka broker and DynamoDB Local, started once by the global
 *   setup (or taken from KAFKA_BROKERS / DYNAMODB_ENDPOINT);
 * - infra: the CDK app, synthesized in-process, offline.
 */
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          globalSetup: ['test/integration/global-setup.ts'],
          testTimeout: 60_000,
          hookTimeout: 120_000,
        },
      },
      {
        test: {
          name: 'infra',
          include: ['test/infra/**/*.test.ts'],
          globalSetup: ['test/infra/global-setup.ts'],
          testTimeout: 120_000,
        },
      },
    ],
  },
});
