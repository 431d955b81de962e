import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createOrderRepository } from '#commons/order-repository.ts';
import { createOrphanPaymentRepository } from '#commons/orphan-payment-repository.ts';
import { type Clock, newEvent } from '#domain/events.ts';
import { createTableInput, TABLES } from '#infra/tables.ts';
import { createTables } from '#platform/platform.ts';
import { localDocumentClient } from './store.ts';

const AMOUNT = { amount: 3998, currency: 'EUR' };
const NOW = new Date('2025-03-01T10:00:00.000Z');
const LATER = new Date('2025-03-01T10:00:05.000Z');
const clock: Clock = { now: () => NOW, uuid: randomUUID };
const causation = { correlationId: 'corr-orphan', causationId: null };

function processed(orderId: string) {
  return newEvent(
    'PaymentProcessed',
    {
      orderId,
      paymentId: `pay-${orderId}`,
      transactionId: 'txn-1',
      amount: AMOUNT,
    },
    causation,
    clock,
  );
}

function failed(orderId: string) {
  return newEvent(
    'PaymentFailed',
    {
      orderId,
      paymentId: `pay-${orderId}`,
      reason: 'GATEWAY_DECLINED',
      detail: 'declined',
    },
    causation,
    clock,
  );
}

function refunded(orderId: string) {
  return newEvent(
    'PaymentRefunded',
    {
      orderId,
      paymentId: `pay-${orderId}`,
      refundId: 'refund-1',
      amount: AMOUNT,
    },
    causation,
    clock,
  );
}

describe('OrphanPaymentRepository on DynamoDB', () => {
  const endpoint = inject('dynamodbEndpoint');
  const db = localDocumentClient(endpoint);
  const tableName = `orders-orphans-${randomUUID()}`;
  const orphans = createOrphanPaymentRepository(db, tableName);
  const newOrderId = () => `ghost-${randomUUID()}`;

  beforeAll(async () => {
    await createTables(endpoint, [createTableInput(TABLES.orders, tableName)]);
  });
  afterAll(() => {
    db.config.requestHandler.destroy?.();
  });

  it('records an outcome once, however many deliveries race', async () => {
    // Prepare
    const orderId = newOrderId();
    const charge = processed(orderId);

    // Act
    const results = await Promise.all(
      [1, 2, 3].map(() => orphans.record(charge, NOW)),
    );

    // Assess
    expect(results.filter((r) => r.created)).toHaveLength(1);
    for (const { orphan } of results) {
      expect(orphan).toEqual({
        orderId,
        status: 'CHARGED',
        outcome: charge,
        refund: null,
        detectedAt: NOW.toISOString(),
        updatedAt: NOW.toISOString(),
        compensationPublishedAt: null,
      });
    }
  });

  it('keeps the first time the PaymentOrphaned was published', async () => {
    // Prepare
    const orderId = newOrderId();
    await orphans.record(processed(orderId), NOW);

    // Act
    await orphans.markCompensationPublished(orderId, NOW);
    await orphans.markCompensationPublished(orderId, LATER);

    // Assess
    expect(await orphans.get(orderId)).toMatchObject({
      compensationPublishedAt: NOW.toISOString(),
      updatedAt: LATER.toISOString(),
    });
  });

  it('closes a CHARGED orphan with its refund, once', async () => {
    // Prepare
    const orderId = newOrderId();
    await orphans.record(processed(orderId), NOW);
    const refund = refunded(orderId);

    // Act
    const first = await orphans.recordRefund(refund, LATER);
    const again = await orphans.recordRefund(refund, LATER);
    const another = await orphans.recordRefund(refunded(orderId), LATER);

    // Assess
    expect([first, again, another]).toEqual([
      'recorded',
      'duplicate',
      'not-charged',
    ]);
    expect(await orphans.get(orderId)).toMatchObject({
      status: 'REFUNDED',
      refund,
    });
  });

  it.each([
    [
      'a rejected payment',
      (orderId: string) => orphans.record(failed(orderId), NOW),
    ],
    ['no orphan at all', async () => undefined],
  ])('refuses a refund of %s', async (_, prepare) => {
    // Prepare
    const orderId = newOrderId();
    await prepare(orderId);

    // Act
    const result = await orphans.recordRefund(refunded(orderId), LATER);

    // Assess
    expect(result).toBe('not-charged');
  });

  it('stays out of the orders: the order is still unknown', async () => {
    // Prepare
    const orderId = newOrderId();
    await orphans.record(processed(orderId), NOW);

    // Act
    const order = await createOrderRepository(db, tableName).get(orderId);

    // Assess
    expect(order).toBeUndefined();
  });
});
