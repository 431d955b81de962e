/**
 * A record that cannot be valid is poison at once, in every Kafka-triggered handler
 * (docs/domain.md section 7): not JSON, not UTF-8, not base64, failing the schema, an
 * unknown event type, or an event on another event's topic. It is dead-lettered (the
 * reprocessor: parked) with its reason on the first delivery, the partition goes on,
 * and nothing else is touched; it is never reported for a retry.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import type { Context } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { KafkaBatchResponse } from '#commons/kafka-consumer.ts';
import type { MskRecord } from '#commons/msk-event.ts';
import {
  type DomainEvent,
  newEvent,
  TOPIC_OF,
  TOPICS,
} from '#domain/events.ts';
import { placeOrder, requestCancellation } from '#domain/order.ts';
import { DEFAULT_PAYMENT_RULES } from '#domain/payment.ts';
import { DEFAULT_REDRIVE_POLICY } from '#domain/redrive-policy.ts';
import { validOrderRequest } from '../http-arbitraries.ts';
import { fixedClock } from './domain/fixtures.ts';
import {
  MemoryDeadLetters,
  MemoryOrders,
  MemoryPublisher,
} from './memory-stores.ts';

type PaymentModule = typeof import('../../functions/payment.ts');
type OrderEventsModule = typeof import('../../functions/order-events.ts');
type ReprocessorModule = typeof import('../../functions/dlq-reprocessor.ts');
type Handler = (
  event: unknown,
  context: Context,
) => Promise<KafkaBatchResponse>;

let payment: PaymentModule;
let orderEvents: OrderEventsModule;
let reprocessor: ReprocessorModule;

const context = {
  functionName: 'poison',
  functionVersion: '$LATEST',
  invokedFunctionArn: 'arn:aws:lambda:us-east-1:111122223333:function:poison',
  memoryLimitInMB: '512',
  awsRequestId: 'poison-request',
  getRemainingTimeInMillis: () => 30_000,
} as Context;
const logger = new Logger({ serviceName: 'poison', logLevel: 'SILENT' });

beforeAll(async () => {
  // The modules wire their real handlers at load; these values only let them load.
  vi.stubEnv('KAFKA_BROKERS', '127.0.0.1:9');
  vi.stubEnv('ORDERS_TABLE', 'orders');
  vi.stubEnv('PAYMENTS_TABLE', 'payments');
  vi.stubEnv('DEAD_LETTERS_TABLE', 'dead-letters');
  vi.stubEnv('POWERTOOLS_LOG_LEVEL', 'SILENT');
  vi.stubEnv('POWERTOOLS_METRICS_DISABLED', 'true');
  payment = await import('../../functions/payment.ts');
  orderEvents = await import('../../functions/order-events.ts');
  reprocessor = await import('../../functions/dlq-reprocessor.ts');
});

afterAll(() => {
  vi.unstubAllEnvs();
});

/** A dependency the handler must not reach: any call to it fails the test. */
function untouchable<T>(name: string): T {
  return new Proxy(
    {},
    {
      get: (_, member) => () => {
        throw new Error(`${name}.${String(member)} was called`);
      },
    },
  ) as T;
}

const metrics = () =>
  new Metrics({ namespace: 'KafkaOrders', serviceName: 'poison' });

/** One valid event of every type, for one order. */
function events(): Record<DomainEvent['eventType'], DomainEvent> {
  const clock = fixedClock();
  const causation = { correlationId: 'c-1', causationId: null };
  const { order, event: placed } = placeOrder(
    validOrderRequest('o-1') as never,
    causation,
    clock,
  );
  const cancellation = requestCancellation(order, 'r', causation, clock);
  if (!cancellation.ok) throw new Error('a PENDING order can be cancelled');
  const money = placed.data.total;
  const ids = { orderId: 'o-1', paymentId: 'p-1' };
  return {
    OrderPlaced: placed,
    OrderCancelled: cancellation.event,
    PaymentProcessed: newEvent(
      'PaymentProcessed',
      { ...ids, transactionId: 't-1', amount: money },
      causation,
      clock,
    ),
    PaymentFailed: newEvent(
      'PaymentFailed',
      { ...ids, reason: 'FRAUD_SUSPECTED', detail: 'd' },
      causation,
      clock,
    ),
    PaymentRefunded: newEvent(
      'PaymentRefunded',
      { ...ids, refundId: 'r-1', amount: money },
      causation,
      clock,
    ),
    PaymentOrphaned: newEvent(
      'PaymentOrphaned',
      { ...ids, transactionId: 't-1', amount: money },
      causation,
      clock,
    ),
    ShippingRequested: newEvent(
      'ShippingRequested',
      {
        orderId: 'o-1',
        customerId: order.customerId,
        shippingAddress: order.shippingAddress,
        items: order.items,
      },
      causation,
      clock,
    ),
  };
}

/** An MSK event of one partition of `topic` with these raw (base64) values. */
function mskEvent(topic: string, values: readonly (string | null)[]) {
  const records: MskRecord[] = values.map((value, offset) => ({
    topic,
    partition: 0,
    offset,
    timestamp: 1_700_000_000_000,
    timestampType: 'CREATE_TIME',
    key: Buffer.from('o-1').toString('base64'),
    value,
    headers: [],
  }));
  return {
    eventSource: 'aws:kafka',
    eventSourceArn: 'arn:aws:kafka:us-east-1:111122223333:cluster/c/1',
    bootstrapServers: 'b-1:9092',
    records: { [`${topic}-0`]: records },
  };
}

const base64 = (bytes: Buffer | string) =>
  Buffer.from(bytes).toString('base64');
const json = (value: unknown) => base64(JSON.stringify(value));

/**
 * Values that can never be valid on `topic`, with the error each must be
 * dead-lettered with. `own` is a valid event of the topic, to break.
 */
function poisonFor(topic: string, own: DomainEvent) {
  const all = events();
  const foreign = Object.values(all).filter(
    (event) =>
      TOPIC_OF[event.eventType] !== topic &&
      event.eventType !== 'ShippingRequested',
  );
  const sibling = foreign.find(
    (event) =>
      // An event the handler's schema takes, but from its other topic.
      (topic.startsWith('order.') && event.eventType.startsWith('Order')) ||
      (topic.startsWith('payment.') && event.eventType.startsWith('Payment')),
  );
  if (!sibling) throw new Error(`no sibling event for ${topic}`);
  const cases: [string, string | null, string][] = [
    ['a tombstone', null, 'TombstoneRecordError'],
    ['text that is not JSON', base64('{"eventId":'), 'NotJsonRecordError'],
    [
      'bytes that are not UTF-8',
      base64(Buffer.from([0x7b, 0xff, 0xfe, 0x7d])),
      'NotJsonRecordError',
    ],
    ['a value that is not base64', '!!!not base64!!!', 'NotJsonRecordError'],
    [
      'JSON nested 10 000 deep',
      base64('['.repeat(10_000) + ']'.repeat(10_000)),
      'SchemaMismatchRecordError',
    ],
    [
      'an event with a field that fails the schema',
      json({ ...own, version: 2 }),
      'SchemaMismatchRecordError',
    ],
    [
      'an event of an unknown type',
      json({ ...own, eventType: 'OrderShipped' }),
      'SchemaMismatchRecordError',
    ],
    [
      `the event ${sibling.eventType}, which belongs on ${TOPIC_OF[sibling.eventType]}`,
      json(sibling),
      'WrongTopicRecordError',
    ],
    [
      'a ShippingRequested, which no consumer reads',
      json(all.ShippingRequested),
      'SchemaMismatchRecordError',
    ],
  ];
  return cases;
}

/** The dead letters a publisher was given, decoded. */
function deadLettersOf(publisher: MemoryPublisher) {
  return publisher.sent.map(({ topic, message }) => ({
    topic,
    letter: JSON.parse(String(message.value)) as {
      error: { class: string; name: string; message: string };
    },
  }));
}

describe('payment: poison records', () => {
  for (const topic of [TOPICS.orderPlaced, TOPICS.orderCancelled]) {
    const own =
      events()[topic === TOPICS.orderPlaced ? 'OrderPlaced' : 'OrderCancelled'];
    it.each(poisonFor(topic, own))(
      `dead-letters %s on ${topic} at once, touching nothing else`,
      async (_, value, errorName) => {
        // Prepare
        const publisher = new MemoryPublisher();
        const handler = payment.createPaymentHandler({
          payments: untouchable('payments'),
          gateway: untouchable('gateway'),
          publisher,
          rules: DEFAULT_PAYMENT_RULES,
          clock: fixedClock(),
          logger,
          metrics: metrics(),
          retry: {
            maxAttempts: 1,
            baseDelayMs: 0,
            maxDelayMs: 0,
            sleep: async () => {},
            random: () => 0,
          },
        }) as unknown as Handler;

        // Act
        const response = await handler(mskEvent(topic, [value]), context);

        // Assess
        expect(response).toEqual({ batchItemFailures: [] });
        expect(publisher.published).toEqual([]);
        const letters = deadLettersOf(publisher);
        expect(letters).toHaveLength(1);
        expect(letters[0]?.topic).toBe(`${topic}.dead-letter`);
        expect(letters[0]?.letter.error).toMatchObject({
          class: 'poison',
          name: errorName,
        });
      },
    );
  }
});

describe('order events: poison records', () => {
  const owns = {
    [TOPICS.paymentProcessed]: 'PaymentProcessed',
    [TOPICS.paymentFailed]: 'PaymentFailed',
    [TOPICS.paymentRefunded]: 'PaymentRefunded',
  } as const;
  for (const [topic, type] of Object.entries(owns)) {
    it.each(poisonFor(topic, events()[type]))(
      `dead-letters %s on ${topic} at once, touching nothing else`,
      async (_, value, errorName) => {
        // Prepare
        const orders = new MemoryOrders();
        const placed = events().OrderPlaced;
        const { order } = placeOrder(
          validOrderRequest('o-1') as never,
          { correlationId: 'c-1', causationId: null },
          fixedClock(),
        );
        await orders.create(order, placed as never);
        orders.writes = 0;
        const publisher = new MemoryPublisher();
        const handler = orderEvents.createOrderEventsHandler({
          orders,
          orphans: untouchable('orphans'),
          publisher,
          clock: fixedClock(),
          logger,
          metrics: metrics(),
        }) as unknown as Handler;

        // Act
        const response = await handler(mskEvent(topic, [value]), context);

        // Assess
        expect(response).toEqual({ batchItemFailures: [] });
        expect(orders.writes).toBe(0);
        expect(publisher.published).toEqual([]);
        const letters = deadLettersOf(publisher);
        expect(letters).toHaveLength(1);
        expect(letters[0]?.topic).toBe(`${topic}.dead-letter`);
        expect(letters[0]?.letter.error).toMatchObject({
          class: 'poison',
          name: errorName,
        });
      },
    );
  }
});

describe('dlq-reprocessor: unreadable dead letters', () => {
  it.each([
    ['a tombstone', null],
    ['text that is not JSON', base64('{"kind":')],
    ['bytes that are not UTF-8', base64(Buffer.from([0x7b, 0xff, 0x7d]))],
    ['a value that is not base64', '!!!not base64!!!'],
    [
      'JSON nested 10 000 deep',
      base64('['.repeat(10_000) + ']'.repeat(10_000)),
    ],
    ['JSON of neither dead-letter format', json({ kind: 'something-else' })],
    ['a domain event', json(events().OrderPlaced)],
  ])(
    'parks %s at once, never writing .dead-letter.dead-letter',
    async (_, value) => {
      // Prepare
      const deadLetters = new MemoryDeadLetters();
      const publisher = new MemoryPublisher();
      const handler = reprocessor.createReprocessorHandler({
        deadLetters,
        publisher,
        policy: DEFAULT_REDRIVE_POLICY,
        now: () => new Date('2025-01-02T00:00:00.000Z'),
        random: () => 0.5,
        logger,
        metrics: metrics(),
      }) as unknown as Handler;
      const topic = `${TOPICS.orderPlaced}.dead-letter`;

      // Act
      const response = await handler(mskEvent(topic, [value]), context);

      // Assess
      expect(response).toEqual({ batchItemFailures: [] });
      expect(publisher.writes).toBe(0);
      const stored = [...deadLetters.letters.values()];
      expect(stored).toHaveLength(1);
      expect(stored[0]).toMatchObject({
        id: `${topic}:0:0`,
        status: 'PARKED',
        error: { class: 'poison' },
        // The raw bytes, as base64 (a value that was not base64 decodes to what
        // Kafka's base64 decoding makes of it).
        original: {
          topic,
          value: value === null ? null : base64(Buffer.from(value, 'base64')),
        },
      });
    },
  );
});
