/**
 * The shared wiring of the entry points (#commons/wiring.ts): one pass over the
 * environment for the shared settings and an entry's own, the budgets of its kind.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ConfigError, DEFAULT_BUDGETS, tableName } from '#commons/config.ts';
import { wireFromEnvironment } from '#commons/wiring.ts';

afterEach(() => {
  vi.unstubAllEnvs();
});

describe('wireFromEnvironment', () => {
  it('names every missing variable, shared and its own, in one error', () => {
    // Prepare
    vi.stubEnv('KAFKA_BROKERS', undefined);
    vi.stubEnv('MSK_CLUSTER_ARN', undefined);
    vi.stubEnv('WIRING_TEST_TABLE', undefined);

    // Act
    const wire = () =>
      wireFromEnvironment({
        service: 'wiring-test',
        store: 'api',
        settings: { table: tableName('WIRING_TEST_TABLE') },
      });

    // Assess
    expect(wire).toThrow(ConfigError);
    expect(wire).toThrow(/KAFKA_BROKERS.*WIRING_TEST_TABLE/);
  });

  it('parses its own settings and takes the store budget of its kind', () => {
    // Prepare
    vi.stubEnv('KAFKA_BROKERS', '127.0.0.1:9');
    vi.stubEnv('WIRING_TEST_TABLE', 'things');
    vi.stubEnv('POWERTOOLS_LOG_LEVEL', 'SILENT');

    // Act
    const wiring = wireFromEnvironment({
      service: 'wiring-test',
      store: 'consumer',
      kafka: 'consumer',
      settings: { table: tableName('WIRING_TEST_TABLE') },
    });

    // Assess
    expect(wiring.settings).toEqual({ table: 'things' });
    expect(wiring.dynamodb.budget).toEqual(DEFAULT_BUDGETS.consumer.store);
    expect(wiring.clock.now()).toBeInstanceOf(Date);
  });
});
