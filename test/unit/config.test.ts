import { describe, expect, it } from 'vitest';
import {
  ConfigError,
  ConsumerConcurrency,
  DEFAULT_BUDGETS,
  DynamoDbConfig,
  dynamoDbConfig,
  HealthConfig,
  KafkaConfig,
  kafkaBudget,
  loadConfig,
  tableName,
} from '#commons/config.ts';

describe('loadConfig', () => {
  it('reads typed settings from the environment', () => {
    // Act
    const config = loadConfig(
      {
        kafka: KafkaConfig,
        dynamodb: DynamoDbConfig,
        orders: tableName('ORDERS_TABLE'),
      },
      {
        KAFKA_BROKERS: '127.0.0.1:9092, 127.0.0.1:9093',
        DYNAMODB_ENDPOINT: 'http://127.0.0.1:8000',
        ORDERS_TABLE: 'orders-dev',
        AWS_REGION: 'eu-west-1',
        AWS_LAMBDA_FUNCTION_NAME: 'order',
      },
    );

    // Assess
    expect(config).toEqual({
      kafka: {
        brokers: ['127.0.0.1:9092', '127.0.0.1:9093'],
        clusterArn: undefined,
        auth: 'none',
        clientId: 'order',
        region: 'eu-west-1',
      },
      dynamodb: {
        endpoint: 'http://127.0.0.1:8000',
        region: 'eu-west-1',
        budget: {
          connectTimeoutMs: 1000,
          requestTimeoutMs: 1000,
          maxAttempts: 2,
        },
      },
      orders: 'orders-dev',
    });
  });

  it('fails with one message naming every bad or missing variable', () => {
    // Act
    const load = () =>
      loadConfig(
        {
          kafka: KafkaConfig,
          dynamodb: DynamoDbConfig,
          orders: tableName('ORDERS_TABLE'),
        },
        { DYNAMODB_ENDPOINT: 'not a url' },
      );

    // Assess
    expect(load).toThrow(ConfigError);
    expect(load).toThrow(
      /^invalid configuration: KAFKA_BROKERS: set KAFKA_BROKERS .*or MSK_CLUSTER_ARN; DYNAMODB_ENDPOINT: .*; ORDERS_TABLE: /,
    );
  });

  it('names an unknown auth mode and the modes there are', () => {
    const load = () =>
      loadConfig(
        { kafka: KafkaConfig },
        { KAFKA_BROKERS: 'b:9092', KAFKA_AUTH: 'kerberos' },
      );
    expect(load).toThrow(/KAFKA_AUTH: .*"none"\|"iam"/);
  });

  it('accepts an MSK cluster ARN with IAM auth instead of brokers', () => {
    const config = loadConfig(
      { kafka: KafkaConfig },
      {
        MSK_CLUSTER_ARN:
          'arn:aws:kafka:eu-west-1:111122223333:cluster/orders/abc-1',
        KAFKA_AUTH: 'iam',
      },
    );
    expect(config.kafka).toMatchObject({ auth: 'iam', brokers: undefined });
  });
});

describe('call budgets', () => {
  it('gives the HTTP functions a store budget that ends well within 3 s', () => {
    // Act
    const { budget } = loadConfig({ dynamodb: DynamoDbConfig }, {}).dynamodb;

    // Assess: every attempt timed out, plus the SDK's backoff (at most 0.1 s a retry).
    const worstMs =
      budget.maxAttempts * budget.requestTimeoutMs +
      (budget.maxAttempts - 1) * 100;
    expect(worstMs).toBeLessThanOrEqual(2500);
  });

  it('gives the HTTP functions a publish deadline that leaves room for the store', () => {
    const { kafka } = loadConfig({ kafka: kafkaBudget('api') }, {});
    expect(kafka.publishTimeoutMs).toBeLessThanOrEqual(2000);
  });

  it('gives the Kafka-triggered functions longer budgets, far below their 60 s timeout', () => {
    // Act
    const config = loadConfig(
      { dynamodb: dynamoDbConfig('consumer'), kafka: kafkaBudget('consumer') },
      {},
    );

    // Assess
    expect(config.dynamodb.budget).toEqual(DEFAULT_BUDGETS.consumer.store);
    expect(config.kafka).toEqual(DEFAULT_BUDGETS.consumer.kafka);
    const { maxAttempts, requestTimeoutMs } = config.dynamodb.budget;
    expect(maxAttempts * requestTimeoutMs).toBeGreaterThan(
      DEFAULT_BUDGETS.api.store.maxAttempts *
        DEFAULT_BUDGETS.api.store.requestTimeoutMs,
    );
    // A store call and a publish, both timed out, leave most of the 60 s.
    expect(
      maxAttempts * requestTimeoutMs + config.kafka.publishTimeoutMs,
    ).toBeLessThan(30_000);
  });

  it('takes every budget from the environment', () => {
    // Act
    const config = loadConfig(
      {
        dynamodb: dynamoDbConfig('consumer'),
        kafka: kafkaBudget('api'),
        health: HealthConfig,
      },
      {
        DYNAMODB_CONNECT_TIMEOUT_MS: '250',
        DYNAMODB_REQUEST_TIMEOUT_MS: '400',
        DYNAMODB_MAX_ATTEMPTS: '1',
        KAFKA_PUBLISH_TIMEOUT_MS: '1500',
        KAFKA_CONNECTION_TIMEOUT_MS: '300',
        KAFKA_REQUEST_TIMEOUT_MS: '900',
        HEALTH_PROBE_TIMEOUT_MS: '700',
      },
    );

    // Assess
    expect(config).toEqual({
      dynamodb: {
        endpoint: undefined,
        region: 'us-east-1',
        budget: {
          connectTimeoutMs: 250,
          requestTimeoutMs: 400,
          maxAttempts: 1,
        },
      },
      kafka: {
        publishTimeoutMs: 1500,
        connectionTimeoutMs: 300,
        requestTimeoutMs: 900,
      },
      health: { probeTimeoutMs: 700 },
    });
  });

  it.each([
    ['DYNAMODB_REQUEST_TIMEOUT_MS', '0'],
    ['DYNAMODB_REQUEST_TIMEOUT_MS', 'soon'],
    ['DYNAMODB_MAX_ATTEMPTS', '0'],
    ['DYNAMODB_MAX_ATTEMPTS', '1.5'],
    ['KAFKA_PUBLISH_TIMEOUT_MS', '-1'],
    ['HEALTH_PROBE_TIMEOUT_MS', '600001'],
  ])('refuses %s=%s, naming it', (name, value) => {
    const load = () =>
      loadConfig(
        {
          dynamodb: DynamoDbConfig,
          kafka: kafkaBudget('api'),
          health: HealthConfig,
        },
        { [name]: value },
      );
    expect(load).toThrow(ConfigError);
    expect(load).toThrow(new RegExp(`${name}: `));
  });
});

describe('ConsumerConcurrency', () => {
  it('reads CONSUMER_CONCURRENCY, and leaves the default to the consumer when unset', () => {
    // Act
    const set = loadConfig(
      { concurrency: ConsumerConcurrency },
      { CONSUMER_CONCURRENCY: '8' },
    );
    const unset = loadConfig({ concurrency: ConsumerConcurrency }, {});

    // Assess
    expect(set.concurrency).toBe(8);
    expect(unset.concurrency).toBeUndefined();
  });

  it.each(['0', '1.5', 'many'])('refuses CONSUMER_CONCURRENCY=%s', (value) => {
    // Act, Assess
    expect(() =>
      loadConfig(
        { concurrency: ConsumerConcurrency },
        { CONSUMER_CONCURRENCY: value },
      ),
    ).toThrow(/CONSUMER_CONCURRENCY/);
  });
});
