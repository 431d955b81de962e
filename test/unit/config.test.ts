import { describe, expect, it } from 'vitest';
import {
  ConfigError,
  DynamoDbConfig,
  KafkaConfig,
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
      dynamodb: { endpoint: 'http://127.0.0.1:8000', region: 'eu-west-1' },
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
