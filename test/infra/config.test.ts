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
