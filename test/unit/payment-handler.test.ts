/**
 * The payment handler over an in-memory store (test/unit/memory-payments.ts): the
 * store round trips of a payment, the batch's one publish, and exactly-once
 * charging through publish failures, redeliveries and interrupted charges.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import type { Context } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { KafkaBatchResponse } from '#commons/kafka-consumer.ts';
import type { MskRecord } from '#commons/msk-event.ts';
import { type DomainEvent, type OrderPlaced, TOPICS } from '#domain/events.ts';
import { placeOrder, requestCancellation } from '#domain/order.ts';
import {
  createSimulatedGateway,
  DEFAULT_PAYMENT_RULES,
  GATEWAY_RETRY_MESSAGE,
  type PaymentGateway,
} from '#domain/payment.ts';
import { paymentIdOf } from '../../functions/use-cases/charge-payment.ts';
import { validOrderRequest } from '../http-arbitraries.ts';
import { fixedClock } from './domain/fixtures.ts';
import { MemoryPayments } from './memory-payments.ts';
import { MemoryPublisher } from './memory-stores.ts';

type PaymentModule = typeof import('../../functions/payment.ts');
type Handler = (
  event: unknown,
  context: Context,
) => Promise<KafkaBatchResponse>;

let payment: PaymentModule;

const context = {
  functionName: 'payment',
  functionVersion: '$LATEST',
  invokedFunctionArn: 'arn:aws:lambda:us-east-1:111122223333:function:payment',
  memoryLimitInMB: '512',
  awsRequestId: 'payment-request',
  getRemainingTimeInMillis: () => 30_000,
} as Context;

beforeAll(async () => {
  // The module wires its real handler at load; these values only let it load.
  vi.stubEnv('KAFKA_BROKERS', '127.0.0.1:9');
  vi.stubEnv('PAYMENTS_TABLE', 'payments');
  vi.stubEnv('POWERTOOLS_LOG_LEVEL', 'SILENT');
  vi.stubEnv('POWERTOOLS_METRICS_DISABLED', 'true');
  payment = await import('../../functions/payment.ts');
});

afterAll(() => {
  vi.unstubAllEnvs();
});

/** A publisher that counts publish calls and fails the next ones while told to. */
class CountingPublisher extends MemoryPublisher {
  publishCalls = 0;
  failNext = 0;

  override async publish(events: readonly DomainEvent[]) {
    this.publishCalls += 1;
    if (this.failNext > 0) {
      this.failNext -= 1;
      throw new Error('the broker refused the batch');
    }
    await super.publish(events);
  }
}

/** The simulated gateway, counting charges per order. */
function countingGateway() {
  const inner = createSimulatedGateway({}, fixedClock());
  const charges = new Map<string, number>();
  const gateway: PaymentGateway = {
    charge: async (request) => {
      charges.set(request.orderId, (charges.get(request.orderId) ?? 0) + 1);
      return inner.charge(request);
    },
    refund: (request) => inner.refund(request),
  };
  return { gateway, charges };
}

function setup(retry: { maxAttempts: number } = { maxAttempts: 1 }) {
  const payments = new MemoryPayments();
  const publisher = new CountingPublisher();
  const { gateway, charges } = countingGateway();
  const handler = payment.createPaymentHandler({
    payments,
    publisher,
    gateway,
    rules: DEFAULT_PAYMENT_RULES,
    clock: fixedClock(),
    logger: new Logger({ serviceName: 'payment', logLevel: 'SILENT' }),
    metrics: new Metrics({ namespace: 'Test', serviceName: 'payment' }),
    retry: {
      ...retry,
      baseDelayMs: 0,
      maxDelayMs: 0,
      sleep: async () => {},
      random: () => 0,
    },
  }) as unknown as Handler;
  return { handler, payments, publisher, charges };
}

function placed(orderId: string): OrderPlaced {
  return placeOrder(
    validOrderRequest(orderId) as never,
    { correlationId: `c-${orderId}`, causationId: null },
    fixedClock(),
  ).event;
}

/** One partition of `topic`, a record per event from offset 0, keyed by order. */
function mskEvent(topic: string, events: readonly DomainEvent[]) {
  const records: MskRecord[] = events.map((event, offset) => ({
    topic,
    partition: 0,
    offset,
    timestamp: 1_700_000_000_000,
    timestampType: 'CREATE_TIME',
    key: Buffer.from(
      'orderId' in event.data ? String(event.data.orderId) : '',
    ).toString('base64'),
    value: Buffer.from(JSON.stringify(event)).toString('base64'),
    headers: [],
  }));
  return {
    eventSource: 'aws:kafka',
    eventSourceArn: 'arn:aws:kafka:us-east-1:111122223333:cluster/c/1',
    bootstrapServers: 'b-1:9092',
    records: { [`${topic}-0`]: records },
  };
}

const ORDERS = ['o-1', 'o-2', 'o-3', 'o-4', 'o-5', 'o-6'];

describe('payment: round trips', () => {
  it('charges a batch of orders with two writes each and one publish, then marks them published', async () => {
    // Prepare
    const { handler, payments, publisher, charges } = setup();

    // Act
    const response = await handler(
      mskEvent(TOPICS.orderPlaced, ORDERS.map(placed)),
      context,
    );

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(publisher.publishCalls).toBe(1);
    expect(publisher.published.map((event) => event.eventType)).toEqual(
      ORDERS.map(() => 'PaymentProcessed'),
    );
    expect(payments.count('startPayment')).toBe(ORDERS.length);
    expect(payments.count('recordOutcome')).toBe(ORDERS.length);
    expect(payments.count('markPublished')).toBe(ORDERS.length);
    expect(payments.count()).toBe(3 * ORDERS.length);
    expect([...charges.values()]).toEqual(ORDERS.map(() => 1));
    for (const orderId of ORDERS) {
      expect(payments.payments.get(orderId)).toMatchObject({
        status: 'CHARGED',
        publishedAt: expect.any(String),
      });
    }
  });

  it('rejects by rule with one write and no gateway call', async () => {
    // Prepare
    const { handler, payments, publisher, charges } = setup();

    // Act
    const response = await handler(
      mskEvent(TOPICS.orderPlaced, [placed('suspicious-1')]),
      context,
    );

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(publisher.published).toMatchObject([
      { eventType: 'PaymentFailed', data: { reason: 'FRAUD_SUSPECTED' } },
    ]);
    expect(payments.calls).toEqual(['startPayment', 'markPublished']);
    expect(charges.size).toBe(0);
  });

  it('answers a redelivered batch with one store call per record and publishes nothing', async () => {
    // Prepare
    const { handler, payments, publisher, charges } = setup();
    const event = mskEvent(TOPICS.orderPlaced, ORDERS.map(placed));
    await handler(structuredClone(event), context);
    const callsBefore = payments.count();
    const publishedBefore = publisher.published.length;

    // Act
    const response = await handler(structuredClone(event), context);

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(payments.count() - callsBefore).toBe(ORDERS.length);
    expect(publisher.published).toHaveLength(publishedBefore);
    expect([...charges.values()]).toEqual(ORDERS.map(() => 1));
  });

  it('publishes an order placed twice in one batch once, and charges it once', async () => {
    // Prepare
    const { handler, publisher, charges } = setup();
    const once = placed('o-1');

    // Act
    const response = await handler(
      mskEvent(TOPICS.orderPlaced, [once, structuredClone(once)]),
      context,
    );

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(publisher.published).toHaveLength(1);
    expect(charges.get('o-1')).toBe(1);
  });
});

describe('payment: the batch publish fails', () => {
  it('reports the partition from its first charged record, marks nothing, and republishes the same events without charging again', async () => {
    // Prepare
    const { handler, payments, publisher, charges } = setup();
    publisher.failNext = 1;
    const event = mskEvent(TOPICS.orderPlaced, ORDERS.map(placed));

    // Act
    const first = await handler(structuredClone(event), context);
    const marksAfterFailure = payments.count('markPublished');
    const second = await handler(structuredClone(event), context);

    // Assess
    expect(first).toEqual({
      batchItemFailures: [
        { itemIdentifier: { partition: `${TOPICS.orderPlaced}-0`, offset: 0 } },
      ],
    });
    expect(marksAfterFailure).toBe(0);
    expect(second).toEqual({ batchItemFailures: [] });
    expect(publisher.publishCalls).toBe(2);
    expect(publisher.published).toHaveLength(ORDERS.length);
    expect([...charges.values()]).toEqual(ORDERS.map(() => 1));
    const ids = publisher.published.map((e) => e.eventId);
    const third = await handler(structuredClone(event), context);
    expect(third).toEqual({ batchItemFailures: [] });
    expect(publisher.published.map((e) => e.eventId)).toEqual(ids);
  });
});

describe('payment: interrupted and cancelled charges', () => {
  it('finishes a charge claimed before a crash: charges once, publishes once', async () => {
    // Prepare: the claim was written, then the function died.
    const { handler, payments, publisher, charges } = setup();
    const order = placed('o-1');
    await payments.claimCharge(
      'o-1',
      paymentIdOf('o-1'),
      order.data.total,
      new Date(),
    );

    // Act
    const response = await handler(
      mskEvent(TOPICS.orderPlaced, [order]),
      context,
    );

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(charges.get('o-1')).toBe(1);
    expect(publisher.published).toMatchObject([
      { eventType: 'PaymentProcessed' },
    ]);
  });

  it('warns of each transient gateway failure it retries, then charges', async () => {
    // Prepare: the simulated gateway fails flaky-* orders twice.
    const { handler, publisher, charges } = setup({ maxAttempts: 3 });
    const warn = vi.spyOn(Logger.prototype, 'warn');

    // Act
    const response = await handler(
      mskEvent(TOPICS.orderPlaced, [placed('flaky-1')]),
      context,
    );

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(charges.get('flaky-1')).toBe(3);
    const retries = warn.mock.calls.filter(
      ([message]) => message === GATEWAY_RETRY_MESSAGE,
    );
    expect(retries.map(([, extra]) => extra)).toEqual([
      expect.objectContaining({ orderId: 'flaky-1', attempt: 1 }),
      expect.objectContaining({ orderId: 'flaky-1', attempt: 2 }),
    ]);
    expect(publisher.published.map((e) => e.eventType)).toEqual([
      'PaymentProcessed',
    ]);
    warn.mockRestore();
  });

  it('refunds a charged order once when it is cancelled, publishing with the batch', async () => {
    // Prepare
    const { handler, payments, publisher } = setup();
    const clock = fixedClock();
    const { order, event } = placeOrder(
      validOrderRequest('o-1') as never,
      { correlationId: 'c-1', causationId: null },
      clock,
    );
    await handler(mskEvent(TOPICS.orderPlaced, [event]), context);
    const cancellation = requestCancellation(
      order,
      'changed my mind',
      { correlationId: 'c-1', causationId: null },
      clock,
    );
    if (!cancellation.ok) throw new Error('a PENDING order can be cancelled');
    const cancelled = mskEvent(TOPICS.orderCancelled, [cancellation.event]);

    // Act
    const first = await handler(structuredClone(cancelled), context);
    const again = await handler(structuredClone(cancelled), context);

    // Assess
    expect(first).toEqual({ batchItemFailures: [] });
    expect(again).toEqual({ batchItemFailures: [] });
    expect(
      publisher.published.filter((e) => e.eventType === 'PaymentRefunded'),
    ).toHaveLength(1);
    expect(payments.refunds.get('o-1')).toMatchObject({
      status: 'REFUNDED',
      publishedAt: expect.any(String),
    });
  });
});
