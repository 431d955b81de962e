import { randomUUID } from 'node:crypto';
import { GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  createDocumentClient,
  StoreUnavailableError,
} from '#commons/dynamodb.ts';
import {
  createOrderRepository,
  OrderVersionConflictError,
} from '#commons/order-repository.ts';
import type {
  DomainEvent,
  OrderPlaced,
  PaymentProcessed,
} from '#domain/events.ts';
import { TransientError } from '#domain/failures.ts';
import type { Order } from '#domain/order.ts';
import { createTableInput, TABLES } from '#infra/tables.ts';
import { LOCAL_AWS } from '#platform/dynamodb.ts';
import { createTables } from '#platform/platform.ts';
import { failureOf, localDocumentClient } from './store.ts';

const CREATED_AT = '2025-03-01T10:00:00.000Z';

function placed(orderId: string): { order: Order; event: OrderPlaced } {
  const items = [
    {
      productId: 'sku-1',
      quantity: 2,
      unitPrice: { amount: 1999, currency: 'EUR' },
    },
  ];
  const total = { amount: 3998, currency: 'EUR' };
  const shippingAddress = {
    street: 'Hauptstr. 1',
    city: 'Berlin',
    postalCode: '10115',
    country: 'DE',
  };
  return {
    order: {
      orderId,
      customerId: 'cust-42',
      status: 'PENDING',
      statusReason: null,
      items,
      total,
      shippingAddress,
      version: 1,
      createdAt: CREATED_AT,
      updatedAt: CREATED_AT,
    },
    event: {
      eventId: randomUUID(),
      eventType: 'OrderPlaced',
      version: 1,
      occurredAt: CREATED_AT,
      correlationId: `corr-${orderId}`,
      causationId: null,
      data: { orderId, customerId: 'cust-42', items, total, shippingAddress },
    },
  };
}

function paymentProcessed(orderId: string): PaymentProcessed {
  return {
    eventId: randomUUID(),
    eventType: 'PaymentProcessed',
    version: 1,
    occurredAt: '2025-03-01T10:00:05.000Z',
    correlationId: `corr-${orderId}`,
    causationId: null,
    data: {
      orderId,
      paymentId: `pay-${orderId}`,
      transactionId: `tx-${randomUUID()}`,
      amount: { amount: 3998, currency: 'EUR' },
    },
  };
}

function advanced(order: Order, status: Order['status']): Order {
  return {
    ...order,
    status,
    version: order.version + 1,
    updatedAt: '2025-03-01T10:00:05.000Z',
  };
}

describe('OrderRepository on DynamoDB', () => {
  const endpoint = inject('dynamodbEndpoint');
  const db = localDocumentClient(endpoint);
  const tableName = `orders-repo-${randomUUID()}`;
  const orders = createOrderRepository(db, tableName);

  beforeAll(async () => {
    await createTables(endpoint, [createTableInput(TABLES.orders, tableName)]);
  });
  afterAll(() => {
    db.config.requestHandler.destroy?.();
  });

  it('creates an order, reads it back with its event, and refuses a second create', async () => {
    // Prepare
    const { order, event } = placed(`o-${randomUUID()}`);

    // Act
    const first = await orders.create(order, event);
    const second = await orders.create(
      { ...order, customerId: 'someone-else' },
      placed(order.orderId).event,
    );
    const stored = await orders.get(order.orderId);
    const history = await orders.history(order.orderId);

    // Assess
    expect(first).toBe('created');
    expect(second).toBe('exists');
    expect(stored?.order).toEqual(order);
    expect([...(stored?.appliedEventIds ?? [])]).toEqual([event.eventId]);
    expect(history).toEqual([event]);
  });

  it('stores the snapshot as plain attributes an operator can read', async () => {
    // Prepare
    const { order, event } = placed(`o-${randomUUID()}`);

    // Act
    await orders.create(order, event);
    const { Item } = await db.send(
      new GetCommand({
        TableName: tableName,
        Key: { pk: `ORDER#${order.orderId}`, sk: 'SNAPSHOT' },
      }),
    );
    const { Items } = await db.send(
      new QueryCommand({
        TableName: tableName,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :event)',
        ExpressionAttributeValues: {
          ':pk': `ORDER#${order.orderId}`,
          ':event': 'EVENT#',
        },
      }),
    );

    // Assess
    expect(Item).toMatchObject({ status: 'PENDING', version: 1 });
    expect(Item?.total).toEqual({ amount: 3998, currency: 'EUR' });
    expect(Items).toEqual([
      expect.objectContaining({
        sk: 'EVENT#0000000001',
        eventId: event.eventId,
        eventType: 'OrderPlaced',
        occurredAt: event.occurredAt,
      }),
    ]);
  });

  it('returns undefined for an unknown order', async () => {
    // Act
    const stored = await orders.get(`missing-${randomUUID()}`);
    const history = await orders.history(`missing-${randomUUID()}`);

    // Assess
    expect(stored).toBeUndefined();
    expect(history).toBeUndefined();
  });

  it('appends events in order and lists them oldest first', async () => {
    // Prepare
    const { order, event } = placed(`o-${randomUUID()}`);
    await orders.create(order, event);
    const payment = paymentProcessed(order.orderId);
    const paid = advanced(order, 'PAID');

    // Act
    const result = await orders.append(paid, payment);
    const stored = await orders.get(order.orderId);
    const history = await orders.history(order.orderId);

    // Assess
    expect(result).toBe('appended');
    expect(stored?.order).toEqual(paid);
    expect(stored?.appliedEventIds).toEqual(
      new Set([event.eventId, payment.eventId]),
    );
    expect(history?.map((e: DomainEvent) => e.eventId)).toEqual([
      event.eventId,
      payment.eventId,
    ]);
  });

  it('lets exactly one of two concurrent writers append, and writes nothing for the loser', async () => {
    // Prepare
    const { order, event } = placed(`o-${randomUUID()}`);
    await orders.create(order, event);
    const paid = paymentProcessed(order.orderId);
    const failed: DomainEvent = {
      eventId: randomUUID(),
      eventType: 'PaymentFailed',
      version: 1,
      occurredAt: '2025-03-01T10:00:06.000Z',
      correlationId: 'corr',
      causationId: null,
      data: {
        orderId: order.orderId,
        paymentId: 'pay-1',
        reason: 'GATEWAY_DECLINED',
        detail: 'declined',
      },
    };

    // Act
    const results = await Promise.allSettled([
      orders.append(advanced(order, 'PAID'), paid),
      orders.append(advanced(order, 'PAYMENT_FAILED'), failed),
    ]);

    // Assess
    const winners = results.filter((r) => r.status === 'fulfilled');
    const losers = results.filter((r) => r.status === 'rejected');
    expect(winners).toHaveLength(1);
    expect(losers).toHaveLength(1);
    const reason = (losers[0] as PromiseRejectedResult).reason;
    expect(reason).toBeInstanceOf(OrderVersionConflictError);
    expect(reason).toBeInstanceOf(TransientError);
    const winnerIndex = results.findIndex((r) => r.status === 'fulfilled');
    const winnerEvent = winnerIndex === 0 ? paid : failed;
    const loserEvent = winnerIndex === 0 ? failed : paid;
    const stored = await orders.get(order.orderId);
    const history = await orders.history(order.orderId);
    expect(stored?.order.version).toBe(2);
    expect(stored?.order.status).toBe(
      winnerIndex === 0 ? 'PAID' : 'PAYMENT_FAILED',
    );
    expect(stored?.appliedEventIds.has(loserEvent.eventId)).toBe(false);
    expect(history?.map((e) => e.eventId)).toEqual([
      event.eventId,
      winnerEvent.eventId,
    ]);
  });

  it('rejects a stale snapshot version with OrderVersionConflictError', async () => {
    // Prepare
    const { order, event } = placed(`o-${randomUUID()}`);
    await orders.create(order, event);
    const skipped = { ...advanced(order, 'PAID'), version: 3 };

    // Act
    const append = await failureOf(
      orders.append(skipped, paymentProcessed(order.orderId)),
    );

    // Assess
    expect(append).toBeInstanceOf(OrderVersionConflictError);
    expect((await orders.history(order.orderId))?.length).toBe(1);
  });

  it('treats an event appended twice as a duplicate no-op, even from a stale snapshot', async () => {
    // Prepare
    const { order, event } = placed(`o-${randomUUID()}`);
    await orders.create(order, event);
    const payment = paymentProcessed(order.orderId);
    const paid = advanced(order, 'PAID');
    await orders.append(paid, payment);

    // Act
    const again = await orders.append(paid, payment);
    const afterMore = await orders.append(advanced(paid, 'PAID'), payment);
    const placedAgain = await orders.append(advanced(paid, 'PAID'), event);

    // Assess
    expect(again).toBe('duplicate');
    expect(afterMore).toBe('duplicate');
    expect(placedAgain).toBe('duplicate');
    const stored = await orders.get(order.orderId);
    expect(stored?.order.version).toBe(2);
    expect((await orders.history(order.orderId))?.length).toBe(2);
  });

  it('keeps the placing event in the outbox of a new order until it is cleared', async () => {
    // Prepare
    const { order, event } = placed(`o-${randomUUID()}`);

    // Act
    await orders.create(order, event, { settleBy: 1_000 });
    const stored = await orders.get(order.orderId);
    await orders.clearOutbox(order.orderId, order.version);

    // Assess
    expect(stored?.outbox).toEqual([event]);
    expect(stored?.settlement).toEqual({
      settleBy: 1_000,
      eventId: event.eventId,
      fenced: false,
    });
    expect((await orders.get(order.orderId))?.outbox).toEqual([]);
  });

  it('fences off a write that never landed, so it never can', async () => {
    // Prepare
    const { order, event } = placed(`o-${randomUUID()}`);

    // Act
    const fenced = await orders.fence(order.orderId, event.eventId);
    const late = await orders.create(order, event, { settleBy: 1 });

    // Assess: the late write meets the guard; a new attempt (a new event) does not.
    expect(fenced).toBe('blocked');
    expect(late).toBe('exists');
    expect(await orders.get(order.orderId)).toBeUndefined();
    expect(
      await orders.create(order, placed(order.orderId).event, { settleBy: 1 }),
    ).toBe('created');
  });

  it('marks a write that landed, and voids it, leaving no order; an unfenced one stands', async () => {
    // Prepare
    const given = placed(`o-${randomUUID()}`);
    const kept = placed(`o-${randomUUID()}`);
    await orders.create(given.order, given.event, { settleBy: 1 });
    await orders.create(kept.order, kept.event, { settleBy: 1 });

    // Act
    const fenced = await orders.fence(given.order.orderId, given.event.eventId);
    const marked = await orders.get(given.order.orderId);
    const voided = await orders.voidWrite(
      given.order.orderId,
      1,
      given.event.eventId,
      undefined,
    );
    const stands = await orders.voidWrite(
      kept.order.orderId,
      1,
      kept.event.eventId,
      undefined,
    );
    // The same write again (a retry arriving late): DynamoDB answers it as the
    // request it already took (same client token), and applies nothing.
    await orders.create(given.order, given.event, { settleBy: 1 });

    // Assess
    expect([fenced, voided, stands]).toEqual(['marked', 'voided', 'stands']);
    expect(marked?.settlement?.fenced).toBe(true);
    expect(await orders.get(given.order.orderId)).toBeUndefined();
    expect(await orders.history(given.order.orderId)).toBeUndefined();
    expect((await orders.get(kept.order.orderId))?.settlement?.fenced).toBe(
      false,
    );
  });

  it('voids a fenced append back to the previous snapshot, but not once another write followed', async () => {
    // Prepare
    const { order, event } = placed(`o-${randomUUID()}`);
    await orders.create(order, event);
    const before = await db.send(
      new GetCommand({
        TableName: tableName,
        Key: { pk: `ORDER#${order.orderId}`, sk: 'SNAPSHOT' },
      }),
    );
    const payment = paymentProcessed(order.orderId);
    const paid = advanced(order, 'PAID');
    await orders.append(paid, payment, [], { settleBy: 1 });
    await orders.fence(order.orderId, payment.eventId);

    // Act
    const voided = await orders.voidWrite(
      order.orderId,
      2,
      payment.eventId,
      before.Item,
    );
    const again = await orders.append(paid, paymentProcessed(order.orderId));
    await orders.fence(order.orderId, event.eventId);
    const stands = await orders.voidWrite(
      order.orderId,
      1,
      event.eventId,
      undefined,
    );

    // Assess
    expect(voided).toBe('voided');
    expect(again).toBe('appended');
    expect(stands).toBe('stands');
    const stored = await orders.get(order.orderId);
    expect(stored?.order).toEqual(paid);
    expect(stored?.appliedEventIds.has(payment.eventId)).toBe(false);
  });

  it('keeps what a write caused in the outbox until it is cleared, and carries it on', async () => {
    // Prepare
    const { order, event } = placed(`o-${randomUUID()}`);
    await orders.create(order, event);
    const paid = advanced(order, 'PAID');
    const caused = { ...placed(order.orderId).event, eventId: randomUUID() };

    // Act
    await orders.append(paid, paymentProcessed(order.orderId), [caused]);
    const pending = await orders.get(order.orderId);
    const stale = await orders.clearOutbox(order.orderId, order.version);
    const cleared = await orders.clearOutbox(order.orderId, paid.version);
    const after = await orders.get(order.orderId);

    // Assess
    expect(pending?.outbox).toEqual([caused]);
    expect(pending?.order).toEqual(paid);
    expect(stale).toBe(false);
    expect(cleared).toBe(true);
    expect(after?.outbox).toEqual([]);
  });

  it('refuses an event of another order', async () => {
    // Prepare
    const { order, event } = placed(`o-${randomUUID()}`);
    await orders.create(order, event);

    // Act
    const append = await failureOf(
      orders.append(advanced(order, 'PAID'), paymentProcessed('another-order')),
    );

    // Assess
    expect(append).toBeInstanceOf(RangeError);
  });
});

describe('an unreachable store', () => {
  it('fails with StoreUnavailableError, a transient error', async () => {
    // Prepare
    const db = createDocumentClient(
      { endpoint: 'http://127.0.0.1:1', region: LOCAL_AWS.region },
      { credentials: LOCAL_AWS.credentials, maxAttempts: 1 },
    );
    const orders = createOrderRepository(db, 'orders-nowhere');
    const { order, event } = placed(`o-${randomUUID()}`);

    // Act
    const read = await failureOf(orders.get(order.orderId));
    const write = await failureOf(orders.create(order, event));

    // Assess
    expect(read).toBeInstanceOf(StoreUnavailableError);
    expect(write).toBeInstanceOf(StoreUnavailableError);
    expect(read).toBeInstanceOf(TransientError);
    db.config.requestHandler.destroy?.();
  });
});
