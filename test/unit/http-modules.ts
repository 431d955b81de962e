/**
 * The two HTTP functions' modules, for the unit tests that call their factories
 * (`createOrderApi`, `createAdminHandler`) with fakes: the HTTP fuzz and the OpenAPI
 * contract tests. The modules wire their real handlers at load; the stubbed
 * variables only let them load (nothing connects until a wired handler runs, and
 * these tests never run those). The caller undoes the stubs: `vi.unstubAllEnvs()`.
 */
import { vi } from 'vitest';

export type OrderApiModule = typeof import('../../functions/order-api.ts');
export type ReprocessorModule =
  typeof import('../../functions/dlq-reprocessor.ts');

/**
 * @example
 * ```ts
 * beforeAll(async () => ({ orderApi, reprocessor } = await importHttpModules()));
 * afterAll(() => vi.unstubAllEnvs());
 * ```
 */
export async function importHttpModules(): Promise<{
  orderApi: OrderApiModule;
  reprocessor: ReprocessorModule;
}> {
  vi.stubEnv('KAFKA_BROKERS', '127.0.0.1:9');
  vi.stubEnv('ORDERS_TABLE', 'orders');
  vi.stubEnv('IDEMPOTENCY_TABLE', 'idempotency');
  vi.stubEnv('DEAD_LETTERS_TABLE', 'dead-letters');
  vi.stubEnv('POWERTOOLS_LOG_LEVEL', 'SILENT');
  vi.stubEnv('POWERTOOLS_METRICS_DISABLED', 'true');
  return {
    orderApi: await import('../../functions/order-api.ts'),
    reprocessor: await import('../../functions/dlq-reprocessor.ts'),
  };
}
