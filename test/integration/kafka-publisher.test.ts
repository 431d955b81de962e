import { randomUUID } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import { Kafka, type KafkaMessage, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, inject, it } from 'vitest';
import {
  CircuitOpenError,
  createPublishBreaker,
} from '#commons/circuit-breaker.ts';
import type { KafkaConfig } from '#commons/config.ts';
import {
  createKafkaPublisher,
  type EventPublisher,
  InvalidEventError,
  type KafkaFactory,
  KafkaUnavailableError,
} from '#commons/kafka-publisher.ts';
import {
  type Clock,
  type DomainEvent,
  newEvent,
  type OrderPlaced,
  TOPICS,
} from '#domain/events.ts';
import { createTopics } from '#platform/platform.ts';
import { pollUntil } from '#platform/wait.ts';
import { CONSUMED_MS } from './deadlines.ts';

type Received = KafkaMessage & { readonly partition: number };

const clock: Clock = {
  now: () => new Date(),
  uuid: () => randomUUID(),
};

function orderPlaced(orderId: string): OrderPlaced {
  return newEvent(
    'OrderPlaced',
    {
      orderId,
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
        street: 'Hauptstraße 1',
        city: 'Köln',
        postalCode: '50667',
        country: 'DE',
      },
    },
    { correlationId: `corr-${orderId}`, causationId: null },
    clock,
  );
}

/** The real kafkajs client, counting how often the publisher makes one. */
function countingFactory(): { factory: KafkaFactory; made: () => number } {
  let made = 0;
  return {
    factory: (config) => {
      made += 1;
      return new Kafka(config);
    },
    made: () => made,
  };
}

function localConfig(brokers: string[]): KafkaConfig {
  return {
    brokers,
    clusterArn: undefined,
    auth: 'none',
    clientId: 'publisher-test',
    region: 'us-east-1',
  };
}

/** A TCP port nobody listens on: connecting is refused at once. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

// Concurrent: each test reads with its own consumer group, and a group join costs
// seconds, so running them side by side keeps the file fast.
describe.concurrent('the Kafka publisher against the real broker', () => {
  const brokers = inject('kafkaBrokers');
  const kafka = new Kafka({
    clientId: 'publisher-test-reader',
    brokers,
    logLevel: logLevel.NOTHING,
  });
  const publishers: EventPublisher[] = [];

  /** Reads `topic` from the beginning with a fresh group until `done` holds. */
  async function readUntil(
    topic: string,
    done: (messages: readonly Received[]) => boolean,
  ): Promise<Received[]> {
    const consumer = kafka.consumer({ groupId: `publisher-${randomUUID()}` });
    const messages: Received[] = [];
    try {
      await consumer.connect();
      await consumer.subscribe({ topic, fromBeginning: true });
      await consumer.run({
        eachMessage: async ({ partition, message }) => {
          messages.push({ ...message, partition });
        },
      });
      await pollUntil(() => (done(messages) ? true : undefined), CONSUMED_MS);
      return messages;
    } finally {
      await consumer.disconnect();
    }
  }

  beforeAll(async () => {
    await createTopics(brokers, [{ name: TOPICS.orderPlaced, partitions: 3 }]);
  });
  afterAll(async () => {
    await Promise.all(publishers.map((p) => p.disconnect()));
  });

  it('publishes a valid event keyed by orderId with the three headers, on one lazy connection', async ({
    expect,
  }) => {
    // Prepare
    const counting = countingFactory();
    const publisher = createKafkaPublisher(localConfig(brokers), {
      kafkaFactory: counting.factory,
    });
    publishers.push(publisher);
    const first = orderPlaced(`ord-${randomUUID()}`);
    const second = orderPlaced(`ord-${randomUUID()}`);
    const madeBeforeUse = counting.made();

    // Act: two invocations of the same container.
    await publisher.publish([first]);
    await publisher.publish([second]);
    const ours = (m: Received) =>
      [first.data.orderId, second.data.orderId].includes(String(m.key));
    const received = (
      await readUntil(
        TOPICS.orderPlaced,
        (messages) => messages.filter(ours).length >= 2,
      )
    ).filter(ours);

    // Assess
    expect(madeBeforeUse).toBe(0);
    expect(counting.made()).toBe(1);
    expect(received).toHaveLength(2);
    const record = received.find((m) => String(m.key) === first.data.orderId);
    expect(record?.key?.toString()).toBe(first.data.orderId);
    expect(record?.headers?.['event-type']?.toString()).toBe('OrderPlaced');
    expect(record?.headers?.['correlation-id']?.toString()).toBe(
      first.correlationId,
    );
    expect(record?.headers?.['content-type']?.toString()).toBe(
      'application/json',
    );
    expect(JSON.parse(String(record?.value))).toEqual(first);
  });

  it('rejects a batch holding an invalid event before sending any of it', async ({
    expect,
  }) => {
    // Prepare: a valid event and an invalid one (wrong total) of the same order, so
    // both would land in one partition, in order, ahead of the sentinel sent after.
    const counting = countingFactory();
    const publisher = createKafkaPublisher(localConfig(brokers), {
      kafkaFactory: counting.factory,
    });
    publishers.push(publisher);
    const orderId = `ord-${randomUUID()}`;
    const valid = orderPlaced(orderId);
    const invalid = {
      ...orderPlaced(orderId),
      data: { ...valid.data, total: { amount: 1, currency: 'EUR' } },
    } satisfies DomainEvent;
    const admin = kafka.admin();
    await admin.connect();
    const before = await admin.fetchTopicOffsets(TOPICS.orderPlaced);

    // Act
    const rejection = await publisher
      .publish([valid, invalid])
      .catch((e: unknown) => e);
    const madeByRejection = counting.made();
    const sentinel = orderPlaced(orderId);
    await publisher.publish([sentinel]);
    await admin.disconnect();
    const ofOrder = (
      await readUntil(TOPICS.orderPlaced, (messages) =>
        messages.some((m) => String(m.key) === orderId),
      )
    ).filter((m) => String(m.key) === orderId);

    // Assess: nothing was sent, not even a connection made, for the rejected batch.
    expect(rejection).toBeInstanceOf(InvalidEventError);
    expect((rejection as Error).message).toMatch(/total/);
    expect(madeByRejection).toBe(0);
    // The first record of this order in its partition is the sentinel; the rejected
    // batch, had it gone out, would sit between the offset before and the sentinel.
    expect(ofOrder.map((m) => JSON.parse(String(m.value)).eventId)).toEqual([
      sentinel.eventId,
    ]);
    const start = before.find((p) => p.partition === ofOrder[0]?.partition);
    expect(Number(ofOrder[0]?.offset)).toBeGreaterThanOrEqual(
      Number(start?.high),
    );
  });

  it('sends raw records with Buffer keys, values and headers byte-exact', async ({
    expect,
  }) => {
    // Prepare
    const topic = `publisher.raw.${randomUUID()}`;
    await createTopics(brokers, [{ name: topic, partitions: 1 }]);
    const publisher = createKafkaPublisher(localConfig(brokers));
    publishers.push(publisher);
    const key = Buffer.from([0xff, 0x00, 0xfe, 0x80]);
    const value = Buffer.from([0x00, 0xc3, 0x28, 0xff, 0x0a]);
    const binaryHeader = Buffer.from([0xde, 0xad, 0xbe, 0xef, 0x00]);

    // Act
    await publisher.send(topic, [
      {
        key,
        value,
        headers: { 'redrive-attempt': '2', trace: binaryHeader },
      },
      { key: null, value: 'plain text', headers: {} },
    ]);
    const received = await readUntil(topic, (messages) => messages.length >= 2);

    // Assess
    expect(received).toHaveLength(2);
    expect(received[0]?.key?.equals(key)).toBe(true);
    expect(received[0]?.value?.equals(value)).toBe(true);
    expect(received[0]?.headers?.trace).toEqual(binaryHeader);
    expect(received[0]?.headers?.['redrive-attempt']?.toString()).toBe('2');
    expect(received[1]?.key).toBeNull();
    expect(received[1]?.value?.toString()).toBe('plain text');
  });

  it('connects lazily: an unreachable broker fails only on publish, fast', async ({
    expect,
  }) => {
    // Prepare
    const port = await closedPort();
    const counting = countingFactory();
    const publisher = createKafkaPublisher(localConfig([`127.0.0.1:${port}`]), {
      kafkaFactory: counting.factory,
      connectionTimeout: 500,
      requestTimeout: 500,
      retry: { retries: 1, initialRetryTime: 50, maxRetryTime: 100 },
    });
    const madeBeforeUse = counting.made();

    // Act
    const started = performance.now();
    const error = await publisher
      .publish([orderPlaced(`ord-${randomUUID()}`)])
      .catch((e: unknown) => e);
    const elapsedMs = performance.now() - started;

    // Assess
    expect(madeBeforeUse).toBe(0);
    expect(error).toBeInstanceOf(KafkaUnavailableError);
    expect(counting.made()).toBe(1);
    expect(elapsedMs).toBeLessThan(3_000);
  });

  it('bounds a broker that accepts connections but never answers by the request timeout', async ({
    expect,
  }) => {
    // Prepare: a TCP server that swallows every byte, like a hung broker.
    const sockets = new Set<Socket>();
    const silent: Server = createServer((socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
    });
    await new Promise<void>((resolve) =>
      silent.listen(0, '127.0.0.1', resolve),
    );
    const { port } = silent.address() as { port: number };
    const publisher = createKafkaPublisher(localConfig([`127.0.0.1:${port}`]), {
      connectionTimeout: 300,
      requestTimeout: 300,
      retry: { retries: 1, initialRetryTime: 50, maxRetryTime: 100 },
    });

    try {
      // Act
      const started = performance.now();
      const error = await publisher
        .publish([orderPlaced(`ord-${randomUUID()}`)])
        .catch((e: unknown) => e);
      const elapsedMs = performance.now() - started;

      // Assess: failed within a few timeouts, not kafkajs's default half minute.
      expect(error).toBeInstanceOf(KafkaUnavailableError);
      expect(elapsedMs).toBeGreaterThanOrEqual(300);
      expect(elapsedMs).toBeLessThan(5_000);
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
  });

  it('behind the breaker, a dead broker opens the circuit and later calls fail fast', async ({
    expect,
  }) => {
    // Prepare
    const port = await closedPort();
    const counting = countingFactory();
    const breaker = createPublishBreaker(
      createKafkaPublisher(localConfig([`127.0.0.1:${port}`]), {
        kafkaFactory: counting.factory,
        retry: { retries: 0 },
      }),
      { failureThreshold: 1, resetTimeoutMs: 60_000 },
    );
    const event = orderPlaced(`ord-${randomUUID()}`);

    // Act
    const first = await breaker.publish([event]).catch((e: unknown) => e);
    const second = await breaker.publish([event]).catch((e: unknown) => e);

    // Assess
    expect(first).toBeInstanceOf(KafkaUnavailableError);
    expect(second).toBeInstanceOf(CircuitOpenError);
    expect((second as CircuitOpenError).retryAfterSeconds).toBe(60);
    expect(breaker.state()).toBe('open');
    expect(counting.made()).toBe(1);
  });
});
