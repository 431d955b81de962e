import { describe, expect, it } from 'vitest';
import { PaymentOrphaned, type PaymentProcessed } from '#domain/events.ts';
import { paymentOrphanedBy } from '#domain/orphan-payment.ts';
import { compensationFor, type PaymentState } from '#domain/payment.ts';
import { fixedClock } from './fixtures.ts';

const PAYMENT_ID = 'f0e1d2c3-0000-5000-8000-000000000001';

function processed(eventId = '11111111-1111-4111-8111-111111111111') {
  return {
    eventId,
    eventType: 'PaymentProcessed',
    version: 1,
    occurredAt: '2025-01-01T00:00:00.000Z',
    correlationId: 'corr-1',
    causationId: '22222222-2222-4222-8222-222222222222',
    data: {
      orderId: 'ghost-1',
      paymentId: PAYMENT_ID,
      transactionId: 'sim-txn-1',
      amount: { amount: 3998, currency: 'EUR' },
    },
  } satisfies PaymentProcessed;
}

describe('paymentOrphanedBy', () => {
  it('asks for the refund of exactly the charge, caused by it, in its correlation', () => {
    // Prepare
    const charge = processed();

    // Act
    const orphaned = paymentOrphanedBy(charge, fixedClock());

    // Assess
    expect(PaymentOrphaned.parse(orphaned)).toEqual(orphaned);
    expect(orphaned).toMatchObject({
      eventType: 'PaymentOrphaned',
      correlationId: 'corr-1',
      causationId: charge.eventId,
      occurredAt: '2025-01-01T00:00:00.000Z',
      data: charge.data,
    });
  });

  it('gives a redelivered charge the same event id, another charge another one', () => {
    // Prepare
    const clock = fixedClock();

    // Act
    const first = paymentOrphanedBy(processed(), clock);
    const again = paymentOrphanedBy(processed(), clock);
    const other = paymentOrphanedBy(
      processed('33333333-3333-4333-8333-333333333333'),
      clock,
    );

    // Assess: the clock's own uuids are never used.
    expect(again.eventId).toBe(first.eventId);
    expect(other.eventId).not.toBe(first.eventId);
    expect(first.eventId).not.toMatch(/^00000000-/);
  });
});

describe('compensationFor', () => {
  const orphaned = { orderId: 'ghost-1', paymentId: PAYMENT_ID };

  it.each<[string, string, PaymentState | undefined]>([
    ['CHARGED', 'refund', { status: 'CHARGED', paymentId: PAYMENT_ID }],
    ['REJECTED', 'none', { status: 'REJECTED', paymentId: PAYMENT_ID }],
    ['VOIDED', 'none', { status: 'VOIDED' }],
    ['CLAIMED', 'wait', { status: 'CLAIMED', paymentId: PAYMENT_ID }],
    ['no payment', 'reject', undefined],
    ['another payment', 'reject', { status: 'CHARGED', paymentId: 'other' }],
  ])('%s: %s', (_, action, payment) => {
    // Act
    const decision = compensationFor(payment, orphaned);

    // Assess
    expect(decision.action).toBe(action);
  });

  it('says why when it does not refund', () => {
    // Act
    const decision = compensationFor(
      { status: 'CHARGED', paymentId: 'other' },
      orphaned,
    );

    // Assess
    expect(decision).toEqual({
      action: 'reject',
      detail: `payment ${PAYMENT_ID} is not the payment of order ghost-1 (other)`,
    });
  });
});
