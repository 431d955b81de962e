import { describe, expect, it } from 'vitest';
import { STAGE_DEFAULTS, stageConfig } from '../../infra/config.ts';
import { EXISTING_CLUSTER } from '../../infra/variants.ts';

const context =
  (values: Record<string, unknown>) =>
  (key: string): unknown =>
    values[key];

/** What prod requires: who may call the order routes, who hears the alarms. */
const PROD_SECURED = {
  api: { jwt: { issuer: 'https://auth.example.com/', audience: ['orders'] } },
  alarmEmail: 'ops@example.com',
};

/** Prod with its required settings, `overrides` shallow-merged over them. */
const prod = (overrides: Record<string, unknown> = {}) =>
  context({
    stage: 'prod',
    stages: { prod: { ...PROD_SECURED, ...overrides } },
  });

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
        ...EXISTING_CLUSTER,
        mskClusterArn: 'arn:aws:kafka:eu-west-1:1:cluster/c/u',
        stages: {
          prod: { ...PROD_SECURED, esm: { batchSize: 500 } },
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
    expect(stageConfig(prod()).esm).toMatchObject({
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
    expect(stageConfig(prod()).esm.consumerGroupGeneration).toBe(1);
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
    const config = stageConfig(
      context({ stage, stages: { prod: PROD_SECURED } }),
    );

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

describe('stageConfig: prod is secured and watched', () => {
  /** The message of what `fn` throws: the line `cdk synth` prints. */
  const thrown = (fn: () => unknown): string => {
    try {
      fn();
    } catch (error) {
      return (error as Error).message;
    }
    throw new Error('expected the configuration to be refused');
  };

  it('refuses prod without api.jwt, in one line naming the setting', () => {
    // Act
    const message = thrown(() => stageConfig(prod({ api: {} })));

    // Assess
    expect(message).toBe(
      'invalid configuration for stage prod: api.jwt (issuer and audience) is ' +
        'required in prod, or api.publicOrderRoutes: true; without either the ' +
        'order routes would be public (at api.jwt)',
    );
  });

  it('refuses prod without alarmEmail or alarmTopicArn, in one line naming the setting', () => {
    // Act
    const message = thrown(() => stageConfig(prod({ alarmEmail: undefined })));

    // Assess
    expect(message).toBe(
      'invalid configuration for stage prod: alarmEmail or alarmTopicArn is ' +
        'required in prod; without either nobody hears the alarms (at alarmEmail)',
    );
  });

  it('refuses prod with neither, naming both settings on one line', () => {
    // Act
    const message = thrown(() => stageConfig(context({ stage: 'prod' })));

    // Assess
    expect(message).not.toContain('\n');
    expect(message).toMatch(/\(at api\.jwt\); .*\(at alarmEmail\)$/);
  });

  it('accepts prod without api.jwt when it asks for public order routes', () => {
    // Act
    const config = stageConfig(prod({ api: { publicOrderRoutes: true } }));

    // Assess
    expect(config.api.jwt).toBeUndefined();
    expect(config.api.publicOrderRoutes).toBe(true);
  });

  it('accepts an existing SNS topic in place of an alarm e-mail', () => {
    // Prepare
    const alarmTopicArn = 'arn:aws:sns:eu-west-1:111122223333:oncall';

    // Act
    const config = stageConfig(prod({ alarmEmail: undefined, alarmTopicArn }));

    // Assess
    expect(config.alarmTopicArn).toBe(alarmTopicArn);
    expect(config.alarmEmail).toBeUndefined();
  });

  it('refuses an alarmTopicArn that is not an SNS topic ARN', () => {
    const bad = () =>
      stageConfig(
        prod({ alarmTopicArn: 'arn:aws:sqs:eu-west-1:111122223333:oncall' }),
      );
    expect(bad).toThrow(/\(at alarmTopicArn\)$/);
  });

  it('keeps dev open and unwatched by default, for trying the system', () => {
    // Act
    const config = stageConfig(context({}));

    // Assess
    expect(config.api).toMatchObject({ publicOrderRoutes: true });
    expect(config.api.jwt).toBeUndefined();
    expect(config.requireAlarmRecipient).toBe(false);
  });

  it('secures dev too when cdk.json says so', () => {
    const bad = () =>
      stageConfig(
        context({ stages: { dev: { api: { publicOrderRoutes: false } } } }),
      );
    expect(bad).toThrow(/required in dev.*\(at api\.jwt\)$/);
  });
});

describe('stageConfig: an existing cluster and its network', () => {
  it('takes the network from -c context, the subnets comma-separated', () => {
    // Act
    const { kafka } = stageConfig(context({ ...EXISTING_CLUSTER }));

    // Assess
    expect(kafka).toMatchObject({
      clusterArn: EXISTING_CLUSTER.mskClusterArn,
      vpcId: EXISTING_CLUSTER.mskVpcId,
      subnetIds: EXISTING_CLUSTER.mskSubnetIds.split(','),
      securityGroupId: EXISTING_CLUSTER.mskSecurityGroupId,
    });
  });

  it('takes the network from stages.<stage>.kafka in cdk.json too', () => {
    const kafka = {
      clusterArn: EXISTING_CLUSTER.mskClusterArn,
      vpcId: EXISTING_CLUSTER.mskVpcId,
      subnetIds: ['subnet-0a1b2c3d4e5f60711'],
      securityGroupId: EXISTING_CLUSTER.mskSecurityGroupId,
    };
    expect(stageConfig(context({ stages: { dev: { kafka } } })).kafka).toEqual(
      expect.objectContaining(kafka),
    );
  });

  it.each(['mskVpcId', 'mskSubnetIds', 'mskSecurityGroupId'] as const)(
    'refuses an existing cluster without %s, in one line naming what is missing',
    (left) => {
      // Prepare
      const given: Record<string, unknown> = { ...EXISTING_CLUSTER };
      delete given[left];
      const setting = {
        mskVpcId: 'kafka.vpcId',
        mskSubnetIds: 'kafka.subnetIds',
        mskSecurityGroupId: 'kafka.securityGroupId',
      }[left];

      // Act
      const read = () => stageConfig(context(given));

      // Assess
      expect(read).toThrow(
        new RegExp(
          `^invalid configuration for stage dev: an existing cluster \\(kafka\\.clusterArn\\) needs its network: ${setting.replace('.', '\\.')} missing [^\\n]*$`,
        ),
      );
    },
  );

  it('refuses a network without an existing cluster', () => {
    const { mskClusterArn: _, ...network } = EXISTING_CLUSTER;
    expect(() => stageConfig(context(network))).toThrow(
      /kafka\.vpcId, kafka\.subnetIds, kafka\.securityGroupId only go with an existing cluster/,
    );
  });

  it('refuses ids that are not subnet, VPC or security group ids', () => {
    expect(() =>
      stageConfig(
        context({ ...EXISTING_CLUSTER, mskSubnetIds: 'sg-1234abcd' }),
      ),
    ).toThrow(/at kafka\.subnetIds\.0/);
  });

  it('refuses a cluster in another region than the stack', () => {
    expect(() =>
      stageConfig(
        context({
          ...EXISTING_CLUSTER,
          stages: {
            dev: { env: { account: '111122223333', region: 'us-east-1' } },
          },
        }),
      ),
    ).toThrow(/the cluster is in eu-west-1, the stack in us-east-1/);
  });
});

describe('stageConfig: account, region and AZs', () => {
  it('pins the AZs of a new VPC', () => {
    const config = stageConfig(
      context({
        stages: {
          dev: {
            env: { account: '111122223333', region: 'eu-west-1' },
            availabilityZones: ['eu-west-1a', 'eu-west-1c'],
          },
        },
      }),
    );
    expect(config.availabilityZones).toEqual(['eu-west-1a', 'eu-west-1c']);
  });

  it('refuses AZs of another region, a single AZ, and AZs with an existing cluster', () => {
    const env = { account: '111122223333', region: 'eu-west-1' };
    expect(() =>
      stageConfig(
        context({
          stages: {
            dev: { env, availabilityZones: ['eu-west-1a', 'us-east-1b'] },
          },
        }),
      ),
    ).toThrow(/us-east-1b not in the stack's region eu-west-1/);
    expect(() =>
      stageConfig(
        context({ stages: { dev: { availabilityZones: ['eu-west-1a'] } } }),
      ),
    ).toThrow(/at availabilityZones/);
    expect(() =>
      stageConfig(
        context({
          ...EXISTING_CLUSTER,
          stages: { dev: { availabilityZones: ['eu-west-1a', 'eu-west-1b'] } },
        }),
      ),
    ).toThrow(/availabilityZones is for a new VPC/);
  });
});

describe('stageConfig: reserved concurrency', () => {
  it('refuses it for the HTTP functions, whose throttles API Gateway answers 5xx', () => {
    expect(() =>
      stageConfig(
        context({
          stages: {
            dev: { functions: { reservedConcurrency: { 'order-api': 5 } } },
          },
        }),
      ),
    ).toThrow(
      /Unrecognized key: "order-api" \(at functions\.reservedConcurrency\)/,
    );
  });
});
