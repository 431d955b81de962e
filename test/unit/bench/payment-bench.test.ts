/**
 * The pieces of `npm run bench:payment` that decide what its figures mean: the
 * in-memory payment repository must keep the DynamoDB repository's contract (or the
 * in-memory variant would take other paths through the handler), the orders must be
 * valid and mixed as documented, and the injected delay must still reach the
 * publisher.
 */
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  ChargeInProgressError,
  PaymentStateError,
} from '#commons/payment-repository.ts';
import { OrderPlaced } from '#domain/events.ts';
import { DEFAULT_PAYMENT_RULES, evaluatePayment } from '#domain/payment.ts';
import { createMemoryPaymentRepository } from '../../../bench/memory-payments.ts';
import { expectedStatus, orderPlaced } from '../../../bench/payment-orders.ts';
import { delayedPublisher } from '../../../bench/payment-wiring.ts';
import { MemoryPublisher } from '../memory-stores.ts';

const amount = { amount: 1250, currency: 'EUR' };
const t0 = new Date('2026-01-01T00:00:00.000Z');
const t1 = new Date('2026-01-01T00:00:01.000Z');

describe('createMemoryPaymentRepository', () => {
  it('claims a charge once: the same paymentId again, another one never', async () => {
    // Prepare
    const payments = createMemoryPaymentRepository();

    // Act
    const first = await payments.claimCharge('o-1', 'p-1', amount, t0);
    const retry = await payments.claimCharge('o-1', 'p-1', amount, t1);
    const other = await payments.claimCharge('o-1', 'p-2', amount, t1);

    // Assess
    expect([first, retry, other]).toEqual([
      'claimed',
      'claimed',
      'already-charged',
    ]);
    expect(await payments.getPayment('o-1')).toMatchObject({
      status: 'CLAIMED',
      paymentId: 'p-1',
      claimedAt: t0.toISOString(),
      publishedAt: null,
    });
  });

  it('records one outcome: the same again is a no-op, another one throws', async () => {
    // Prepare
    const payments = createMemoryPaymentRepository();
    await payments.claimCharge('o-1', 'p-1', amount, t0);
    const charged = { status: 'CHARGED', transactionId: 'tx-1' } as const;

    // Act
    const recorded = await payments.recordOutcome('o-1', charged, t1);
    const again = await payments.recordOutcome('o-1', charged, t1);

    // Assess
    expect(recorded).toMatchObject({
      status: 'CHARGED',
      transactionId: 'tx-1',
    });
    expect(again).toEqual(recorded);
    await expect(
      payments.recordOutcome(
        'o-1',
        { status: 'REJECTED', reason: 'GATEWAY_DECLINED', detail: 'no' },
        t1,
      ),
    ).rejects.toThrow(PaymentStateError);
    await expect(payments.recordOutcome('o-2', charged, t1)).rejects.toThrow(
      PaymentStateError,
    );
    expect(await payments.claimCharge('o-1', 'p-1', amount, t1)).toBe(
      'already-charged',
    );
  });

  it('marks an outcome published once, and only an outcome', async () => {
    // Prepare
    const payments = createMemoryPaymentRepository();
    await payments.claimCharge('o-1', 'p-1', amount, t0);

    // Act
    const early = payments.markPublished('o-1', 'payment', t0);
    await expect(early).rejects.toThrow(PaymentStateError);
    await payments.recordOutcome(
      'o-1',
      { status: 'REJECTED', reason: 'AMOUNT_LIMIT_EXCEEDED', detail: 'limit' },
      t0,
    );
    await payments.markPublished('o-1', 'payment', t0);
    await payments.markPublished('o-1', 'payment', t1);

    // Assess
    expect((await payments.getPayment('o-1'))?.publishedAt).toBe(
      t0.toISOString(),
    );
  });

  it('hands out copies: changing a read changes nothing stored', async () => {
    // Prepare
    const payments = createMemoryPaymentRepository();
    await payments.claimCharge('o-1', 'p-1', amount, t0);

    // Act
    const read = await payments.getPayment('o-1');
    if (read) read.publishedAt = 'tampered';

    // Assess
    expect((await payments.getPayment('o-1'))?.publishedAt).toBeNull();
  });

  it('voids an unpaid order so that no charge follows, but not a charge in progress', async () => {
    // Prepare
    const payments = createMemoryPaymentRepository();
    await payments.claimCharge('o-2', 'p-2', amount, t0);

    // Act
    const voided = await payments.voidUnpaid('o-1', 'changed my mind', t0);
    const claim = await payments.claimCharge('o-1', 'p-1', amount, t1);

    // Assess
    expect([voided, claim]).toEqual(['voided', 'voided']);
    expect(await payments.voidUnpaid('o-1', 'again', t1)).toBe(
      'already-voided',
    );
    await expect(payments.voidUnpaid('o-2', 'now', t1)).rejects.toThrow(
      ChargeInProgressError,
    );
  });

  it('refunds a charged payment once', async () => {
    // Prepare
    const payments = createMemoryPaymentRepository();
    await payments.claimCharge('o-1', 'p-1', amount, t0);
    const before = await payments.claimRefund('o-1', 'r-1', amount, t0);
    await payments.recordOutcome(
      'o-1',
      { status: 'CHARGED', transactionId: 'tx-1' },
      t0,
    );

    // Act
    const claimed = await payments.claimRefund('o-1', 'r-1', amount, t1);
    const refund = await payments.recordRefund('o-1', 'r-1', t1);
    const again = await payments.recordRefund('o-1', 'r-1', t1);
    const other = await payments.claimRefund('o-1', 'r-2', amount, t1);

    // Assess
    expect(before).toBe('not-charged');
    expect(claimed).toBe('claimed');
    expect(refund).toMatchObject({ status: 'REFUNDED', refundId: 'r-1' });
    expect(again).toEqual(refund);
    expect(other).toBe('already-refunded');
    await payments.markPublished('o-1', 'refund', t1);
    expect((await payments.getRefund('o-1'))?.publishedAt).toBe(
      t1.toISOString(),
    );
  });
});

describe('orderPlaced', () => {
  const clock = { now: () => t0, uuid: randomUUID };
  const orders = Array.from({ length: 1_000 }, (_, i) =>
    orderPlaced(i, 'run1', clock),
  );

  it('makes valid OrderPlaced.v1 events of distinct orders', () => {
    // Assess
    for (const order of orders) expect(OrderPlaced.parse(order)).toEqual(order);
    expect(new Set(orders.map((o) => o.data.orderId)).size).toBe(1_000);
  });

  it('has orders of every outcome, most of them charged', () => {
    // Act
    const reasons = new Map<string, number>();
    for (const order of orders) {
      const verdict = evaluatePayment(order.data, DEFAULT_PAYMENT_RULES);
      const key =
        verdict.decision === 'reject'
          ? verdict.reason
          : expectedStatus(order) === 'REJECTED'
            ? 'GATEWAY_DECLINED'
            : 'CHARGED';
      reasons.set(key, (reasons.get(key) ?? 0) + 1);
    }

    // Assess
    expect([...reasons.keys()].sort()).toEqual([
      'AMOUNT_LIMIT_EXCEEDED',
      'CHARGED',
      'FRAUD_SUSPECTED',
      'GATEWAY_DECLINED',
    ]);
    expect(reasons.get('CHARGED')).toBeGreaterThan(800);
  });
});

describe('delayedPublisher', () => {
  it('is the publisher itself without a delay', () => {
    // Prepare
    const publisher = new MemoryPublisher();

    // Act / Assess
    expect(delayedPublisher(publisher, 0)).toBe(publisher);
  });

  it('still publishes and sends, after the delay', async () => {
    // Prepare
    const publisher = new MemoryPublisher();
    const delayed = delayedPublisher(publisher, 1);
    const event = orderPlaced(5, 'run1', { now: () => t0, uuid: randomUUID });

    // Act
    await delayed.publish([event]);
    await delayed.send('t', [{ key: 'k', value: 'v', headers: {} }]);

    // Assess
    expect(publisher.published).toEqual([event]);
    expect(publisher.sent).toEqual([
      { topic: 't', message: { key: 'k', value: 'v', headers: {} } },
    ]);
  });
});
