import { randomUUID } from 'node:crypto';
import { Kafka, type KafkaMessage, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createTopics } from '#platform/platform.ts';
import { pollUntil, retryRetriable } from '#platform/wait.ts';
import { CONSUMED_MS, SETTLES_MS } from './deadlines.ts';

interface Received {
  readonly partition: number;
  readonly message: KafkaMessage;
}

describe('kafkajs against the real broker', () => {
  const brokers = inject('kafkaBrokers');
  const kafka = new Kafka({
    clientId: 'foundation-test',
    brokers,
    logLevel: logLevel.NOTHING,
  });
  const topic = `foundation.orders.${randomUUID()}`;
  const admin = kafka.admin();

  beforeAll(async () => {
    await createTopics(brokers, [{ name: topic, partitions: 3 }]);
    await admin.connect();
  });
  afterAll(async () => {
    await admin.disconnect();
  });

  it('creates a topic with several partitions (auto-create is off)', async () => {
    // Act
    const metadata = await admin.fetchTopicMetadata({ topics: [topic] });

    // Assess
    expect(metadata.topics[0]?.partitions).toHaveLength(3);
    await expect(
      admin.fetchTopicMetadata({ topics: [`missing.${randomUUID()}`] }),
    ).rejects.toThrow(/does not host this topic-partition/);
  });

  it('round-trips keyed JSON records with headers through a consumer group', async () => {
    // Prepare: 5 orders with 4 events each, keyed by order id.
    const orders = Array.from({ length: 5 }, (_, i) => `order-${i}`);
    const sent = orders.flatMap((orderId) =>
      [1, 2, 3, 4].map((sequence) => ({
        key: orderId,
        value: JSON.stringify({ orderId, sequence, city: 'Köln' }),
        headers: {
          'event-type': 'OrderPlaced',
          'correlation-id': `corr-${orderId}`,
          'content-type': 'application/json',
          city: 'café',
        },
      })),
    );
    const producer = kafka.producer({ idempotent: true });
    await producer.connect();
    const groupId = `foundation-group-${randomUUID()}`;
    const consumer = kafka.consumer({ groupId });
    const received: Received[] = [];

    try {
      // Act
      await producer.send({ topic, acks: -1, messages: sent });
      await consumer.connect();
      await consumer.subscribe({ topic, fromBeginning: true });
      await consumer.run({
        eachMessage: async ({ partition, message }) => {
          received.push({ partition, message });
        },
      });
      const all = await pollUntil(
        () => (received.length >= sent.length ? true : undefined),
        CONSUMED_MS,
      );

      // Assess: everything arrived, once, with key, value and headers intact.
      expect(all).toBe(true);
      expect(received).toHaveLength(sent.length);
      const first = received.find(
        (r) => r.message.key?.toString() === 'order-0',
      );
      expect(first?.message.headers?.city?.toString()).toBe('café');
      expect(first?.message.headers?.['event-type']?.toString()).toBe(
        'OrderPlaced',
      );
      for (const orderId of orders) {
        const events = received.filter(
          (r) => r.message.key?.toString() === orderId,
        );
        // One key, one partition, and the order it was produced in.
        expect(new Set(events.map((e) => e.partition)).size).toBe(1);
        expect(
          events.map((e) => JSON.parse(String(e.message.value)).sequence),
        ).toEqual([1, 2, 3, 4]);
      }
      expect(new Set(received.map((r) => r.partition)).size).toBeGreaterThan(1);

      // The group committed what it consumed (the offsets it will resume from).
      const committed = await pollUntil(async () => {
        const offsets = await retryRetriable(
          () => admin.fetchOffsets({ groupId, topics: [topic] }),
          SETTLES_MS,
        );
        const total = offsets[0]?.partitions.reduce(
          (sum, p) => sum + Math.max(0, Number(p.offset)),
          0,
        );
        return total === sent.length ? total : undefined;
      }, CONSUMED_MS);
      expect(committed).toBe(sent.length);
    } finally {
      await consumer.disconnect();
      await producer.disconnect();
    }
  });
});
