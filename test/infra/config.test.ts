import { describe, expect, it } from 'vitest';
import { STAGE_DEFAULTS, stageConfig } from '../../infra/config.ts';

const context =
  (values: Record<string, unknown>) =>
  (key: string): unknown =>
    values[key];

describe('stageConfig', () => {
  it('gives dev its documented defaults when cdk.json says nothing else', () => {
    expect(stageConfig(context({}))).toEqual({
      stage: 'dev',
      ...STAGE_DEFAULTS.dev,
    });
  });

  it('merges overrides from context stages.<stage> and takes mskClusterArn', () => {
    // Act
    const config = stageConfig(
      context({
        stage: 'prod',
        mskClusterArn: 'arn:aws:kafka:eu-west-1:1:cluster/c/u',
        stages: {
          prod: { esm: { batchSize: 500 }, alarmEmail: 'ops@example.com' },
        },
      }),
    );

    // Assess
    expect(config.esm.batchSize).toBe(500);
    expect(config.esm.retryAttempts).toBe(
      STAGE_DEFAULTS.prod?.esm.retryAttempts,
    );
    expect(config.kafka.clusterArn).toBe(
      'arn:aws:kafka:eu-west-1:1:cluster/c/u',
    );
    expect(config.alarmEmail).toBe('ops@example.com');
  });

  it('tunes dev for interactive use: the order path without a batching window', () => {
    const config = stageConfig(context({}));
    expect(config.esm.orderPathBatchingWindowSeconds).toBe(0);
    expect(stageConfig(context({ stage: 'prod' })).esm).toMatchObject({
      orderPathBatchingWindowSeconds: 1,
    });
  });

  it.each([-1, 0.5, 301])(
    'refuses an order path window of %s s (AWS: whole seconds, 0-300)',
    (window) => {
      const bad = () =>
        stageConfig(
          context({
            stages: {
              dev: { esm: { orderPathBatchingWindowSeconds: window } },
            },
          }),
        );
      expect(bad).toThrow(
        /invalid configuration for stage dev: .*orderPathBatchingWindowSeconds/s,
      );
    },
  );

  it('starts the consumer groups at generation 1 and refuses a generation below 1', () => {
    expect(stageConfig(context({})).esm.consumerGroupGeneration).toBe(1);
    expect(
      stageConfig(context({ stage: 'prod' })).esm.consumerGroupGeneration,
    ).toBe(1);
    for (const generation of [0, 1.5]) {
      expect(() =>
        stageConfig(
          context({
            stages: { dev: { esm: { consumerGroupGeneration: generation } } },
          }),
        ),
      ).toThrow(
        /invalid configuration for stage dev: .*consumerGroupGeneration/s,
      );
    }
  });

  it('fails the synth with a message naming a bad setting', () => {
    const bad = () =>
      stageConfig(
        context({ stages: { dev: { esm: { maxRecordAgeSeconds: 10 } } } }),
      );
    expect(bad).toThrow(
      /invalid configuration for stage dev: .*maxRecordAgeSeconds/s,
    );
  });
});

describe('stageConfig: riding out a broker outage (docs/broker-outages.md)', () => {
  it.each(['dev', 'prod'])('%s rides out a 60 s outage', (stage) => {
    // Act
    const config = stageConfig(context({ stage }));

    // Assess
    expect(config.esm.outageToleranceSeconds).toBe(60);
    expect(config.esm.maxRecordAgeSeconds).toBeGreaterThanOrEqual(
      60 + (config.esm.retryAttempts + 1) * config.functions.timeoutSeconds,
    );
  });

  it('refuses retries and a timeout that cannot cover the outage', () => {
    // Prepare: one attempt of 60 s waits at least 23 s
    const bad = () =>
      stageConfig(context({ stages: { dev: { esm: { retryAttempts: 1 } } } }));

    // Act, Assess
    expect(bad).toThrow(
      /ride out 46 s of broker outage, not the 60 s.*esm\.retryAttempts/s,
    );
  });

  it('refuses a function timeout too short for the in-invocation waits', () => {
    // Prepare
    const bad = () =>
      stageConfig(
        context({ stages: { dev: { functions: { timeoutSeconds: 30 } } } }),
      );

    // Act, Assess
    expect(bad).toThrow(/ride out 0 s of broker outage/);
  });

  it('refuses a record age that would expire records still within their retries', () => {
    // Prepare: AWS's minimum, 60 s, would dead-letter what waited out the outage
    const bad = () =>
      stageConfig(
        context({ stages: { dev: { esm: { maxRecordAgeSeconds: 60 } } } }),
      );

    // Act, Assess
    expect(bad).toThrow(/at least .* = 300 s.*esm\.maxRecordAgeSeconds/s);
  });

  it('accepts a smaller tolerance with fewer retries', () => {
    // Act
    const config = stageConfig(
      context({
        stages: {
          dev: { esm: { retryAttempts: 0, outageToleranceSeconds: 20 } },
        },
      }),
    );

    // Assess
    expect(config.esm.retryAttempts).toBe(0);
  });
});
