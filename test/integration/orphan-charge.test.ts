/**
 * No money without an order (docs/domain.md sections 5 and 6), against the real
 * broker and DynamoDB Local: an OrderPlaced the API never stored is charged, the
 * order function finds no order and publishes PaymentOrphaned, and the payment
 * function refunds the charge. Every record is delivered more than once (replay) and
 * the refund, and every event, still happens once.
 */
import { randomUUID } from 'node:crypto';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { ORPHAN_METRICS } from '#commons/observability.ts';
import { createOrphanPaymentRepository } from '#commons/orphan-payment-repository.ts';
import { createPaymentRepository } from '#commons/payment-repository.ts';
import {
  CONSUMED_TOPICS,
  type DomainEvent,
  deadLetterTopic,
  HEADERS,
  newEvent,
  PaymentFailed,
  PaymentOrphaned,
  PaymentProcessed,
  PaymentRefunded,
  TOPIC_OF,
  TOPICS,
} from '#domain/events.ts';
import { createTableInput, TABLES } from '#infra/tables.ts';
import { createTables, createTopics } from '#platform/platform.ts';
import { httpEvent } from './http.ts';
import {
  lambdaContext,
  mskEvent,
  type ReadRecord,
  recordTopics,
  type TopicRecorder,
} from './msk.ts';
import { localDocumentClient } from './store.ts';

const brokers = inject('kafkaBrokers');
const endpoint = inject('dynamodbEndpoint');
const run = randomUUID().slice(0, 8);

// Configuration as the stack sets it, pointed at the local broker and DynamoDB Local.
Object.assign(process.env, {
  KAFKA_BROKERS: brokers.join(','),
  DYNAMODB_ENDPOINT: endpoint,
  AWS_REGION: 'us-east-1',
  AWS_ACCESS_KEY_ID: 'local',
  AWS_SECRET_ACCESS_KEY: 'local',
  ORDERS_TABLE: `orders-${run}`,
  PAYMENTS_TABLE: `payments-${run}`,
  IDEMPOTENCY_TABLE: `idempotency-${run}`,
  POWERTOOLS_LOG_LEVEL: 'SILENT', // the poison record below logs an expected ERROR
  POWERTOOLS_METRICS_DISABLED: 'true',
});

type Handler = (event: unknown, context: unknown) => Promise<unknown>;
let api: Handler;
let orderEvents: Handler;
let payment: Handler;
let recorder: TopicRecorder;

const ctx = () => lambdaContext('test');
const keyIs = (orderId: string) => (r: ReadRecord) =>
  r.message.key?.toString() === orderId;
const eventOf = (r: ReadRecord) =>
  JSON.parse(r.message.value?.toString() ?? '{}') as unknown;

/** Every metric added so far, by any Metrics instance (single metrics included). */
const addMetric = vi.spyOn(Metrics.prototype, 'addMetric');
const counted = (metricName: string) =>
  addMetric.mock.calls.filter(([name]) => name === metricName).length;

/** Waits until `topic` holds `count` records keyed by `orderId`, and returns them. */
async function recordsOf(topic: string, orderId: string, count = 1) {
  const records = await recorder.waitFor(
    topic,
    (all) => all.filter(keyIs(orderId)).length >= count,
  );
  return records.filter(keyIs(orderId));
}

/** Every record of `topic` keyed by `orderId`, up to the topic's end now. */
async function allOf(topic: string, orderId: string) {
  return (await recorder.all(topic)).filter(keyIs(orderId));
}

/** Publishes events as a producer other than the order API would. */
async function produce(...events: DomainEvent[]): Promise<void> {
  const producer = new Kafka({
    clientId: 'orphan-charge-test',
    brokers,
    logLevel: logLevel.NOTHING,
  }).producer({ idempotent: true }); // a retried send appends nothing twice
  await producer.connect();
  try {
    for (const event of events) {
      await producer.send({
        topic: TOPIC_OF[event.eventType],
        messages: [
          {
            key: event.data.orderId,
            value: JSON.stringify(event),
            headers: {
              [HEADERS.eventType]: event.eventType,
              [HEADERS.correlationId]: event.correlationId,
            },
          },
        ],
      });
    }
  } finally {
    await producer.disconnect();
  }
}

const clock = { now: () => new Date(), uuid: randomUUID };

/** A valid OrderPlaced for an order nobody stored. */
function orderPlaced(orderId: string) {
  const unitPrice = { amount: 1999, currency: 'EUR' };
  return newEvent(
    'OrderPlaced',
    {
      orderId,
      customerId: 'cust-ghost',
      items: [{ productId: 'sku-1', quantity: 2, unitPrice }],
      total: { amount: 3998, currency: 'EUR' },
      shippingAddress: {
        street: 'Hauptstr. 1',
        city: 'Berlin',
        postalCode: '10115',
        country: 'DE',
      },
    },
    { correlationId: `corr-${orderId}`, causationId: null },
    clock,
  );
}

beforeAll(async () => {
  await createTopics(brokers, [
    ...Object.values(TOPICS).map((name) => ({ name, partitions: 3 })),
    ...CONSUMED_TOPICS.map((t) => ({
      name: deadLetterTopic(t),
      partitions: 3,
    })),
  ]);
  await createTables(
    endpoint,
    [TABLES.orders, TABLES.payments, TABLES.idempotency].map((spec) =>
      createTableInput(spec, process.env[spec.envVar] as string),
    ),
  );
  recorder = await recordTopics(brokers, [
    ...Object.values(TOPICS),
    deadLetterTopic(TOPICS.paymentProcessed),
    deadLetterTopic(TOPICS.paymentFailed),
    deadLetterTopic(TOPICS.paymentRefunded),
    deadLetterTopic(TOPICS.paymentOrphaned),
  ]);
  api = (await import('../../functions/order-api.ts')).handler as Handler;
  orderEvents = (await import('../../functions/order-events.ts'))
    .handler as Handler;
  payment = (await import('../../functions/payment.ts')).handler as Handler;
});

afterAll(async () => {
  addMetric.mockRestore();
  await recorder?.stop();
});

describe('a charge whose order does not exist', () => {
  it('is refunded once, and every event is published once, though every record is delivered again', async () => {
    // Prepare: an OrderPlaced the API never stored, charged (delivered twice).
    const orderId = `ghost-${run}`;
    await produce(orderPlaced(orderId));
    const placed = await recordsOf(TOPICS.orderPlaced, orderId);
    for (let i = 0; i < 2; i += 1) {
      expect(await payment(mskEvent(brokers, placed), ctx())).toEqual({
        batchItemFailures: [],
      });
    }
    const processed = await recordsOf(TOPICS.paymentProcessed, orderId);
    const before = counted(ORPHAN_METRICS.charges);

    // Act: every step twice in a batch, and the whole chain replayed once more.
    const ok = { batchItemFailures: [] };
    for (let replay = 0; replay < 2; replay += 1) {
      expect(
        await orderEvents(
          mskEvent(brokers, [...processed, ...processed]),
          ctx(),
        ),
      ).toEqual(ok);
      const orphaned = await recordsOf(TOPICS.paymentOrphaned, orderId);
      expect(
        await payment(mskEvent(brokers, [...orphaned, ...orphaned]), ctx()),
      ).toEqual(ok);
      const refunded = await recordsOf(TOPICS.paymentRefunded, orderId);
      expect(
        await orderEvents(mskEvent(brokers, [...refunded, ...refunded]), ctx()),
      ).toEqual(ok);
    }

    // Assess: one charge, one request to refund it, one refund, of the same money.
    const charge = PaymentProcessed.parse(eventOf(processed[0] as ReadRecord));
    const orphaned = await allOf(TOPICS.paymentOrphaned, orderId);
    const refunded = await allOf(TOPICS.paymentRefunded, orderId);
    expect(await allOf(TOPICS.paymentProcessed, orderId)).toHaveLength(1);
    expect(orphaned).toHaveLength(1);
    expect(refunded).toHaveLength(1);
    const request = PaymentOrphaned.parse(eventOf(orphaned[0] as ReadRecord));
    expect(request).toMatchObject({
      causationId: charge.eventId,
      correlationId: `corr-${orderId}`,
      data: charge.data,
    });
    const refund = PaymentRefunded.parse(eventOf(refunded[0] as ReadRecord));
    expect(refund).toMatchObject({
      causationId: request.eventId,
      correlationId: `corr-${orderId}`,
      data: { orderId, amount: { amount: 3998, currency: 'EUR' } },
    });
    expect(orphaned[0]?.message.headers?.[HEADERS.eventType]?.toString()).toBe(
      'PaymentOrphaned',
    );

    // Assess: the stores say the same; still no order; nothing dead-lettered.
    const db = localDocumentClient(endpoint);
    const payments = createPaymentRepository(
      db,
      process.env.PAYMENTS_TABLE as string,
    );
    expect(await payments.getPayment(orderId)).toMatchObject({
      status: 'CHARGED',
    });
    expect(await payments.getRefund(orderId)).toMatchObject({
      status: 'REFUNDED',
      refundId: refund.data.refundId,
      publishedAt: expect.any(String),
    });
    const orphans = createOrphanPaymentRepository(
      db,
      process.env.ORDERS_TABLE as string,
    );
    expect(await orphans.get(orderId)).toMatchObject({
      status: 'REFUNDED',
      outcome: { eventId: charge.eventId },
      refund: { eventId: refund.eventId },
      compensationPublishedAt: expect.any(String),
    });
    const read = (await api(httpEvent('GET', `/orders/${orderId}`), ctx())) as {
      statusCode: number;
    };
    expect(read.statusCode).toBe(404);
    for (const topic of [TOPICS.paymentProcessed, TOPICS.paymentRefunded]) {
      expect(await allOf(deadLetterTopic(topic), orderId)).toHaveLength(0);
    }
    expect(counted(ORPHAN_METRICS.charges) - before).toBe(1);
  });

  it('needs no compensation when the payment failed: recorded and counted once, not dead-lettered', async () => {
    // Prepare: an unstored order the gateway declines.
    const orderId = `decline-ghost-${run}`;
    await produce(orderPlaced(orderId));
    await payment(
      mskEvent(brokers, await recordsOf(TOPICS.orderPlaced, orderId)),
      ctx(),
    );
    const failed = await recordsOf(TOPICS.paymentFailed, orderId);
    const before = counted(ORPHAN_METRICS.failures);

    // Act
    const first = await orderEvents(
      mskEvent(brokers, [...failed, ...failed]),
      ctx(),
    );
    const replayed = await orderEvents(mskEvent(brokers, failed), ctx());

    // Assess
    expect(first).toEqual({ batchItemFailures: [] });
    expect(replayed).toEqual({ batchItemFailures: [] });
    expect(counted(ORPHAN_METRICS.failures) - before).toBe(1);
    expect(
      await allOf(deadLetterTopic(TOPICS.paymentFailed), orderId),
    ).toHaveLength(0);
    expect(await allOf(TOPICS.paymentOrphaned, orderId)).toHaveLength(0);
    const orphans = createOrphanPaymentRepository(
      localDocumentClient(endpoint),
      process.env.ORDERS_TABLE as string,
    );
    expect(await orphans.get(orderId)).toMatchObject({
      status: 'REJECTED',
      outcome: PaymentFailed.parse(eventOf(failed[0] as ReadRecord)),
      compensationPublishedAt: null,
    });
  });

  it('dead-letters a refund for an unknown order that was never charged as an orphan', async () => {
    // Prepare: a PaymentRefunded nobody asked for.
    const orderId = `nobody-${run}`;
    await produce(
      newEvent(
        'PaymentRefunded',
        {
          orderId,
          paymentId: randomUUID(),
          refundId: randomUUID(),
          amount: { amount: 100, currency: 'EUR' },
        },
        { correlationId: `corr-${orderId}`, causationId: null },
        clock,
      ),
    );
    const refunded = await recordsOf(TOPICS.paymentRefunded, orderId);

    // Act
    const response = await orderEvents(mskEvent(brokers, refunded), ctx());

    // Assess: poison, for an operator; the batch went on.
    expect(response).toEqual({ batchItemFailures: [] });
    const letters = await recordsOf(
      deadLetterTopic(TOPICS.paymentRefunded),
      orderId,
    );
    expect(letters).toHaveLength(1);
  });
});
