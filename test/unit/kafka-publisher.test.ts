import type { GetBootstrapBrokersCommand } from '@aws-sdk/client-kafka';
import type { KafkaConfig as KafkaJsConfig, ProducerBatch } from 'kafkajs';
import { describe, expect, it, vi } from 'vitest';
import type { KafkaConfig } from '#commons/config.ts';
import {
  type BootstrapBrokersClient,
  BootstrapBrokersNotFoundError,
  createKafkaPublisher,
  type KafkaFactory,
  KafkaUnavailableError,
  type ProducerLike,
} from '#commons/kafka-publisher.ts';
import { type Clock, newEvent } from '#domain/events.ts';

const ARN =
  'arn:aws:kafka:eu-central-1:123456789012:cluster/orders/0b1c2d3e-4f5a-6b7c-8d9e-0f1a2b3c4d5e-s1';

/** A kafkajs stand-in: records the client configs and batches; connect can be scripted. */
function fakeKafka(connectFailures = 0) {
  const configs: KafkaJsConfig[] = [];
  const batches: ProducerBatch[] = [];
  let connects = 0;
  let failuresLeft = connectFailures;
  const factory: KafkaFactory = (config) => {
    configs.push(config);
    return {
      producer: (): ProducerLike => ({
        connect: async () => {
          connects += 1;
          if (failuresLeft > 0) {
            failuresLeft -= 1;
            throw new Error('Connection refused');
          }
        },
        disconnect: async () => {},
        send: async () => [],
        sendBatch: async (batch) => {
          batches.push(batch);
          return [];
        },
      }),
    };
  };
  return { factory, configs, batches, connects: () => connects };
}

/** A GetBootstrapBrokers stand-in answering with `answers` in turn. */
function fakeDiscovery(
  ...answers: (Record<string, string> | Error)[]
): BootstrapBrokersClient & { arns: (string | undefined)[] } {
  const arns: (string | undefined)[] = [];
  return {
    arns,
    async send(command: GetBootstrapBrokersCommand) {
      arns.push(command.input.ClusterArn);
      const answer = answers.shift() ?? new Error('no more answers');
      if (answer instanceof Error) throw answer;
      return { $metadata: {}, ...answer };
    },
  };
}

const clock: Clock = {
  now: () => new Date('2026-01-01T00:00:00.000Z'),
  uuid: () => '6f1c1a52-2c51-4c1e-9c36-2a4b8f0d3e11',
};

const orderPlaced = newEvent(
  'OrderPlaced',
  {
    orderId: 'ord-unit-1',
    customerId: 'cust-42',
    items: [
      {
        productId: 'sku-1',
        quantity: 2,
        unitPrice: { amount: 1999, currency: 'EUR' },
      },
    ],
    total: { amount: 3998, currency: 'EUR' },
    shippingAddress: {
      street: 'Hauptstr. 1',
      city: 'Köln',
      postalCode: '50667',
      country: 'DE',
    },
  },
  { correlationId: 'corr-unit', causationId: null },
  clock,
);

function iamConfig(overrides: Partial<KafkaConfig> = {}): KafkaConfig {
  return {
    brokers: undefined,
    clusterArn: ARN,
    auth: 'iam',
    clientId: 'orders-fn',
    region: 'us-east-1',
    ...overrides,
  };
}

const LOCAL: KafkaConfig = {
  brokers: ['b:9092'],
  clusterArn: undefined,
  auth: 'none',
  clientId: 'c',
  region: 'us-east-1',
};

describe('createKafkaPublisher wiring (no network)', () => {
  it('discovers the SASL/IAM brokers once and signs OAUTHBEARER tokens for the cluster region', async () => {
    // Prepare
    const kafka = fakeKafka();
    const discovery = fakeDiscovery({
      BootstrapBrokerStringSaslIam:
        'boot-a.kafka-serverless.eu-central-1.amazonaws.com:9098,boot-b.kafka-serverless.eu-central-1.amazonaws.com:9098',
      BootstrapBrokerStringTls: 'b-1.tls:9094',
    });
    const tokenRequests: { region: string }[] = [];
    const publisher = createKafkaPublisher(iamConfig(), {
      kafkaFactory: kafka.factory,
      discoveryClient: discovery,
      generateAuthToken: async (options) => {
        tokenRequests.push(options);
        return { token: 'signed-token', expiryTime: Date.now() + 900_000 };
      },
    });

    // Act
    await publisher.publish([orderPlaced]);
    await publisher.publish([orderPlaced]);
    const config = kafka.configs[0];
    const sasl = config?.sasl;
    const token =
      sasl && 'oauthBearerProvider' in sasl
        ? await sasl.oauthBearerProvider()
        : undefined;

    // Assess
    expect(discovery.arns).toEqual([ARN]);
    expect(kafka.configs).toHaveLength(1);
    expect(kafka.connects()).toBe(1);
    expect(config?.brokers).toEqual([
      'boot-a.kafka-serverless.eu-central-1.amazonaws.com:9098',
      'boot-b.kafka-serverless.eu-central-1.amazonaws.com:9098',
    ]);
    expect(config?.ssl).toBe(true);
    expect(config?.clientId).toBe('orders-fn');
    expect(sasl?.mechanism).toBe('oauthbearer');
    expect(token).toEqual({ value: 'signed-token' });
    expect(tokenRequests).toEqual([{ region: 'eu-central-1' }]);
    expect(kafka.batches).toHaveLength(2);
  });

  it('signs the OAUTHBEARER token with the credentials Lambda puts in the environment by default', async () => {
    // Prepare
    vi.stubEnv('AWS_ACCESS_KEY_ID', 'ASIAUNITTEST');
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'secret');
    vi.stubEnv('AWS_SESSION_TOKEN', 'session');
    const kafka = fakeKafka();
    const publisher = createKafkaPublisher(
      iamConfig({ brokers: ['boot:9098'], clusterArn: undefined }),
      { kafkaFactory: kafka.factory },
    );

    // Act
    await publisher.publish([orderPlaced]);
    const sasl = kafka.configs[0]?.sasl;
    const token =
      sasl && 'oauthBearerProvider' in sasl
        ? await sasl.oauthBearerProvider()
        : undefined;
    vi.unstubAllEnvs();

    // Assess: a presigned kafka-cluster:Connect URL for the region, by the role.
    const url = new URL(
      Buffer.from(token?.value ?? '', 'base64url').toString('utf8'),
    );
    expect(url.host).toBe('kafka.us-east-1.amazonaws.com');
    expect(url.searchParams.get('Action')).toBe('kafka-cluster:Connect');
    expect(url.searchParams.get('X-Amz-Credential')).toMatch(
      /^ASIAUNITTEST\/\d{8}\/us-east-1\/kafka-cluster\/aws4_request$/,
    );
    expect(url.searchParams.get('X-Amz-Security-Token')).toBe('session');
  });

  it('builds the batch: topic, key, headers, JSON value, acks -1', async () => {
    // Prepare
    const kafka = fakeKafka();
    const publisher = createKafkaPublisher(LOCAL, {
      kafkaFactory: kafka.factory,
    });

    // Act
    await publisher.publish([orderPlaced]);

    // Assess
    expect(kafka.configs[0]?.ssl).toBe(false);
    expect(kafka.configs[0]?.sasl).toBeUndefined();
    expect(kafka.batches[0]).toEqual({
      acks: -1,
      topicMessages: [
        {
          topic: 'order.placed.v1',
          messages: [
            {
              key: 'ord-unit-1',
              value: JSON.stringify(orderPlaced),
              headers: {
                'event-type': 'OrderPlaced',
                'correlation-id': 'corr-unit',
                'content-type': 'application/json',
              },
            },
          ],
        },
      ],
    });
  });

  it('forgets a failed discovery and tries again on the next call', async () => {
    // Prepare
    const kafka = fakeKafka();
    const discovery = fakeDiscovery(new Error('ThrottlingException'), {
      BootstrapBrokerStringSaslIam: 'boot:9098',
    });
    const publisher = createKafkaPublisher(iamConfig(), {
      kafkaFactory: kafka.factory,
      discoveryClient: discovery,
      generateAuthToken: async () => ({ token: 't', expiryTime: 0 }),
    });

    // Act
    const first = await publisher.publish([orderPlaced]).catch((e) => e);
    await publisher.publish([orderPlaced]);

    // Assess
    expect(first).toBeInstanceOf(KafkaUnavailableError);
    expect((first as Error).cause).toEqual(new Error('ThrottlingException'));
    expect(discovery.arns).toEqual([ARN, ARN]);
    expect(kafka.configs[0]?.brokers).toEqual(['boot:9098']);
  });

  it('refuses a cluster without IAM brokers, naming the missing string', async () => {
    // Prepare
    const publisher = createKafkaPublisher(iamConfig(), {
      kafkaFactory: fakeKafka().factory,
      discoveryClient: fakeDiscovery({ BootstrapBrokerStringTls: 'b:9094' }),
    });

    // Act
    const error = await publisher.publish([orderPlaced]).catch((e) => e);

    // Assess
    expect(error).toBeInstanceOf(KafkaUnavailableError);
    expect((error as Error).cause).toBeInstanceOf(
      BootstrapBrokersNotFoundError,
    );
    expect((error as Error).message).toMatch(/BootstrapBrokerStringSaslIam/);
  });

  it('without IAM prefers the TLS brokers of a discovered cluster', async () => {
    // Prepare
    const kafka = fakeKafka();
    const publisher = createKafkaPublisher(iamConfig({ auth: 'none' }), {
      kafkaFactory: kafka.factory,
      discoveryClient: fakeDiscovery({
        BootstrapBrokerString: 'b-1:9092',
        BootstrapBrokerStringTls: 'b-1:9094,b-2:9094',
      }),
    });

    // Act
    await publisher.publish([orderPlaced]);

    // Assess
    expect(kafka.configs[0]?.brokers).toEqual(['b-1:9094', 'b-2:9094']);
    expect(kafka.configs[0]?.ssl).toBe(true);
    expect(kafka.configs[0]?.sasl).toBeUndefined();
  });

  it('does not cache a failed connect: the next call connects again', async () => {
    // Prepare
    const kafka = fakeKafka(1);
    const publisher = createKafkaPublisher(LOCAL, {
      kafkaFactory: kafka.factory,
    });

    // Act
    const first = await publisher.publish([orderPlaced]).catch((e) => e);
    await publisher.publish([orderPlaced]);
    await publisher.publish([orderPlaced]);

    // Assess
    expect(first).toBeInstanceOf(KafkaUnavailableError);
    expect(kafka.connects()).toBe(2);
    expect(kafka.batches).toHaveLength(2);
  });

  it('does nothing, not even connect, for an empty batch', async () => {
    // Prepare
    const kafka = fakeKafka();
    const publisher = createKafkaPublisher(LOCAL, {
      kafkaFactory: kafka.factory,
    });

    // Act
    await publisher.publish([]);
    await publisher.send('order.placed.v1', []);

    // Assess
    expect(kafka.configs).toHaveLength(0);
  });
});

/** A kafkajs stand-in whose connect and send wait for the test to let them go. */
function stalledKafka() {
  const releaseConnect: (() => void)[] = [];
  const batches: ProducerBatch[] = [];
  let connects = 0;
  let disconnects = 0;
  let describes = 0;
  let stallConnect = false;
  let stallSend = false;
  const never = new Promise<never>(() => {});
  const factory: KafkaFactory = () => ({
    producer: (): ProducerLike => ({
      connect: async () => {
        connects += 1;
        if (stallConnect) {
          await new Promise<void>((resolve) => releaseConnect.push(resolve));
        }
      },
      disconnect: async () => {
        disconnects += 1;
      },
      send: async () => [],
      sendBatch: async (batch) => {
        if (stallSend) return never;
        batches.push(batch);
        return [];
      },
    }),
    admin: () => ({
      connect: async () => {},
      disconnect: async () => {},
      describeCluster: async () => {
        describes += 1;
        if (stallSend) return never;
        return { brokers: [], controller: 1, clusterId: 'c' };
      },
    }),
  });
  return {
    factory,
    batches,
    stallConnect: (on: boolean) => {
      stallConnect = on;
    },
    stallSend: (on: boolean) => {
      stallSend = on;
    },
    releaseConnects: () => {
      for (const release of releaseConnect.splice(0)) release();
    },
    counts: () => ({ connects, disconnects, describes }),
  };
}

const SHORT = {
  publishTimeoutMs: 50,
  connectionTimeoutMs: 1000,
  requestTimeoutMs: 1000,
};

describe('createKafkaPublisher deadline (no network)', () => {
  it('rejects a send that hangs with KafkaUnavailableError, and drops its producer', async () => {
    // Prepare
    const kafka = stalledKafka();
    const publisher = createKafkaPublisher(LOCAL, {
      kafkaFactory: kafka.factory,
      budget: SHORT,
    });
    kafka.stallSend(true);

    // Act
    const error = await publisher.publish([orderPlaced]).catch((e) => e);
    kafka.stallSend(false);
    await publisher.publish([orderPlaced]);

    // Assess: the next publish connected afresh and went through.
    expect(error).toBeInstanceOf(KafkaUnavailableError);
    expect(error.message).toMatch(/within 50 ms/);
    expect(kafka.counts()).toMatchObject({ connects: 2, disconnects: 1 });
    expect(kafka.batches).toHaveLength(1);
  });

  it('rejects while the connect hangs, keeps the connect for the next call, and sends nothing late', async () => {
    // Prepare
    const kafka = stalledKafka();
    const publisher = createKafkaPublisher(LOCAL, {
      kafkaFactory: kafka.factory,
      budget: SHORT,
    });
    kafka.stallConnect(true);

    // Act
    const error = await publisher.publish([orderPlaced]).catch((e) => e);
    kafka.releaseConnects();
    await publisher.publish([orderPlaced]);

    // Assess: one connect served both calls; only the second call's event went out.
    expect(error).toBeInstanceOf(KafkaUnavailableError);
    expect(kafka.counts().connects).toBe(1);
    expect(kafka.batches).toHaveLength(1);
  });

  it('pings with a metadata request, sharing one round trip between probes', async () => {
    // Prepare
    const kafka = stalledKafka();
    const publisher = createKafkaPublisher(LOCAL, {
      kafkaFactory: kafka.factory,
      budget: SHORT,
    });
    const ping = publisher.ping?.bind(publisher);
    if (!ping) throw new Error('the kafkajs publisher pings');
    await ping();
    kafka.stallSend(true);

    // Act: two probes while the broker does not answer.
    const first = ping();
    const second = ping();

    // Assess
    expect(first).toBe(second);
    await expect.poll(() => kafka.counts().describes).toBe(2);
  });
});
