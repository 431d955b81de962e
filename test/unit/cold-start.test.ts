import { describe, expect, it } from 'vitest';

/**
 * Every handler reads its configuration once, at cold start: with variables missing it
 * must fail right there, with one message naming them, not at the first event.
 */
describe('cold start with a bad environment', () => {
  const handlers = [
    ['order-api', ['KAFKA_BROKERS', 'ORDERS_TABLE', 'IDEMPOTENCY_TABLE']],
    ['order-events', ['KAFKA_BROKERS', 'ORDERS_TABLE']],
    ['payment', ['KAFKA_BROKERS', 'PAYMENTS_TABLE', 'GATEWAY_DECLINE_ALL']],
    ['dlq-reprocessor', ['KAFKA_BROKERS', 'DEAD_LETTERS_TABLE']],
  ] as const;

  it.each(handlers)('%s fails to load, naming %j', async (file, variables) => {
    // Prepare: nothing configured, and one malformed value.
    for (const name of [
      'KAFKA_BROKERS',
      'MSK_CLUSTER_ARN',
      'ORDERS_TABLE',
      'PAYMENTS_TABLE',
      'DEAD_LETTERS_TABLE',
      'IDEMPOTENCY_TABLE',
    ]) {
      delete process.env[name];
    }
    process.env.GATEWAY_DECLINE_ALL = 'maybe';

    // Act
    const load = import(`../../functions/${file}.ts`);

    // Assess
    await expect(load).rejects.toThrow(/^invalid configuration: /);
    const message = await load.catch((error: Error) => error.message);
    for (const variable of variables) expect(message).toContain(variable);
  });
});
