import { randomUUID } from 'node:crypto';
import type {
  CloudFormationCustomResourceEvent,
  CloudFormationCustomResourceResourcePropertiesCommon,
} from 'aws-lambda';
import { ConfigResourceTypes, Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { handler } from '#infra/topic-provisioner/handler.ts';
import { SETTLES_MS } from './deadlines.ts';

const HOUR = 3_600_000;

/**
 * Topic metadata and configs reach the broker's readers through its metadata log, a
 * moment after the admin call returns: what the tests read is polled until it matches,
 * within a deadline.
 */
const SETTLES = { timeout: SETTLES_MS, interval: 50 };

/** A Provider-framework event as CloudFormation sends it: every scalar a string. */
function event(
  requestType: 'Create' | 'Update' | 'Delete',
  topics: readonly { name: string; partitions: number; retentionMs: number }[],
): CloudFormationCustomResourceEvent {
  const properties: CloudFormationCustomResourceResourcePropertiesCommon = {
    ServiceToken: 'arn:aws:lambda:eu-west-1:123456789012:function:provider',
    ClusterArn: 'arn:aws:kafka:eu-west-1:123456789012:cluster/local/uuid',
    Topics: topics.map((topic) => ({
      Name: topic.name,
      Partitions: String(topic.partitions),
      RetentionMs: String(topic.retentionMs),
    })),
  };
  const common = {
    ServiceToken: properties.ServiceToken,
    ResponseURL: 'https://example.invalid/response',
    StackId: 'arn:aws:cloudformation:eu-west-1:123456789012:stack/test/id',
    RequestId: randomUUID(),
    LogicalResourceId: 'Topics',
    ResourceType: 'Custom::KafkaTopics',
    ResourceProperties: properties,
  };
  if (requestType === 'Create') return { ...common, RequestType: 'Create' };
  if (requestType === 'Update') {
    return {
      ...common,
      RequestType: 'Update',
      PhysicalResourceId: 'kafka-topics',
      OldResourceProperties: properties,
    };
  }
  return {
    ...common,
    RequestType: 'Delete',
    PhysicalResourceId: 'kafka-topics',
  };
}

describe('the topic provisioner against the real broker', () => {
  const brokers = inject('kafkaBrokers');
  const admin = new Kafka({
    clientId: 'topic-provisioner-test',
    brokers,
    logLevel: logLevel.NOTHING,
  }).admin();
  const run = randomUUID();
  const orders = `provisioner.orders.${run}`;
  const deadLetters = `provisioner.orders.${run}.dead-letter`;

  async function state(topic: string) {
    const [{ topics }, { resources }] = await Promise.all([
      admin.fetchTopicMetadata({ topics: [topic] }),
      admin.describeConfigs({
        includeSynonyms: false,
        resources: [
          {
            type: ConfigResourceTypes.TOPIC,
            name: topic,
            configNames: ['retention.ms'],
          },
        ],
      }),
    ]);
    return {
      partitions: topics[0]?.partitions.length,
      retentionMs: Number(resources[0]?.configEntries[0]?.configValue),
    };
  }

  beforeAll(async () => {
    // The local broker has no IAM: the same handler, with plaintext and no SASL.
    vi.stubEnv('KAFKA_BROKERS', brokers.join(','));
    vi.stubEnv('KAFKA_AUTH', 'none');
    await admin.connect();
  });
  afterAll(async () => {
    vi.unstubAllEnvs();
    await admin.deleteTopics({ topics: [orders, deadLetters] }).catch(() => {});
    await admin.disconnect();
  });

  it('creates the missing topics with their partitions and retention', async () => {
    // Act
    const response = await handler(
      event('Create', [
        { name: orders, partitions: 3, retentionMs: 72 * HOUR },
        { name: deadLetters, partitions: 2, retentionMs: 168 * HOUR },
      ]),
    );

    // Assess
    expect(response).toEqual({
      PhysicalResourceId: 'kafka-topics',
      Data: {
        Created: `${orders},${deadLetters}`,
        Grown: '',
        RetentionSet: '',
        KeptMorePartitions: '',
      },
    });
    await expect
      .poll(() => state(orders), SETTLES)
      .toEqual({
        partitions: 3,
        retentionMs: 72 * HOUR,
      });
    await expect
      .poll(() => state(deadLetters), SETTLES)
      .toEqual({
        partitions: 2,
        retentionMs: 168 * HOUR,
      });
  });

  it('is idempotent: a second run changes nothing', async () => {
    // Act
    const response = await handler(
      event('Update', [
        { name: orders, partitions: 3, retentionMs: 72 * HOUR },
        { name: deadLetters, partitions: 2, retentionMs: 168 * HOUR },
      ]),
    );

    // Assess
    expect(response.Data).toEqual({
      Created: '',
      Grown: '',
      RetentionSet: '',
      KeptMorePartitions: '',
    });
    await expect
      .poll(() => state(orders), SETTLES)
      .toEqual({
        partitions: 3,
        retentionMs: 72 * HOUR,
      });
  });

  it('grows partitions and changes retention on Update', async () => {
    // Act
    const response = await handler(
      event('Update', [
        { name: orders, partitions: 5, retentionMs: 24 * HOUR },
        { name: deadLetters, partitions: 2, retentionMs: 168 * HOUR },
      ]),
    );

    // Assess
    expect(response.Data).toMatchObject({
      Grown: orders,
      RetentionSet: orders,
    });
    await expect
      .poll(() => state(orders), SETTLES)
      .toEqual({
        partitions: 5,
        retentionMs: 24 * HOUR,
      });
  });

  it('never lowers a partition count', async () => {
    // Act
    const response = await handler(
      event('Update', [
        { name: orders, partitions: 1, retentionMs: 24 * HOUR },
        { name: deadLetters, partitions: 2, retentionMs: 168 * HOUR },
      ]),
    );

    // Assess
    expect(response.Data).toMatchObject({ KeptMorePartitions: orders });
    await expect
      .poll(async () => (await state(orders)).partitions, SETTLES)
      .toBe(5);
  });

  it('leaves the topics on Delete', async () => {
    // Act
    const response = await handler(
      event('Delete', [{ name: orders, partitions: 5, retentionMs: HOUR }]),
    );

    // Assess
    expect(response).toEqual({ PhysicalResourceId: 'kafka-topics', Data: {} });
    expect(await admin.listTopics()).toEqual(
      expect.arrayContaining([orders, deadLetters]),
    );
  });
});
