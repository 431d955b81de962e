import { afterEach, describe, expect, it, vi } from 'vitest';
import type { OrderPlaced } from '#domain/events.ts';
import { classifyFailure, TransientError } from '#domain/failures.ts';
import {
  createSimulatedGateway,
  DEFAULT_PAYMENT_RULES,
  evaluatePayment,
  GatewayUnavailableError,
  type PaymentDecision,
} from '#domain/payment.ts';
import { fixedClock } from './fixtures.ts';

function placed(
  amount: number,
  currency = 'EUR',
  orderId = 'order-1',
): OrderPlaced['data'] {
  return {
    orderId,
    customerId: 'cust-42',
    items: [
      { productId: 'sku-1', quantity: 1, unitPrice: { amount, currency } },
    ],
    total: { amount, currency },
    shippingAddress: {
      street: 's',
      city: 'c',
      postalCode: 'p',
      country: 'DE',
    },
  };
}

type Expected =
  | PaymentDecision['decision']
  | 'FRAUD_SUSPECTED'
  | 'AMOUNT_LIMIT_EXCEEDED';

describe('evaluatePayment', () => {
  it.each<[string, number, string, Expected]>([
    ['0.00 EUR', 0, 'EUR', 'charge'],
    ['exactly 1000.00 EUR', 100_000, 'EUR', 'charge'],
    ['1000.01 EUR', 100_001, 'EUR', 'AMOUNT_LIMIT_EXCEEDED'],
    ['exactly 10000.00 EUR', 1_000_000, 'EUR', 'AMOUNT_LIMIT_EXCEEDED'],
    ['10000.01 EUR', 1_000_001, 'EUR', 'FRAUD_SUSPECTED'],
    ['exactly 1000 JPY', 1_000, 'JPY', 'charge'],
    ['1001 JPY', 1_001, 'JPY', 'AMOUNT_LIMIT_EXCEEDED'],
    ['10001 JPY', 10_001, 'JPY', 'FRAUD_SUSPECTED'],
    ['exactly 1000.000 BHD', 1_000_000, 'BHD', 'charge'],
    ['1000.001 BHD', 1_000_001, 'BHD', 'AMOUNT_LIMIT_EXCEEDED'],
  ])('%s -> %s', (_name, amount, currency, expected) => {
    // Prepare
    const order = placed(amount, currency);

    // Act
    const result = evaluatePayment(order, DEFAULT_PAYMENT_RULES);

    // Assess
    if (expected === 'charge') {
      expect(result).toEqual({ decision: 'charge' });
    } else {
      expect(result).toMatchObject({ decision: 'reject', reason: expected });
    }
  });

  it('names the amounts in the detail, exactly', () => {
    // Prepare
    const order = placed(100_001, 'EUR');

    // Act
    const result = evaluatePayment(order, DEFAULT_PAYMENT_RULES);

    // Assess
    expect(result).toEqual({
      decision: 'reject',
      reason: 'AMOUNT_LIMIT_EXCEEDED',
      detail: 'total 1000.01 EUR is above the limit of 1000.00 EUR',
    });
  });

  it('suspects fraud for a suspicious order id, whatever the amount', () => {
    // Prepare
    const order = placed(1, 'EUR', 'suspicious-42');

    // Act
    const result = evaluatePayment(order, DEFAULT_PAYMENT_RULES);

    // Assess
    expect(result).toMatchObject({
      decision: 'reject',
      reason: 'FRAUD_SUSPECTED',
      detail: expect.stringContaining('suspicious'),
    });
  });

  it('follows configured rules, fractional thresholds exact at the boundary', () => {
    // Prepare
    const rules = { ...DEFAULT_PAYMENT_RULES, amountLimit: 999.99 };

    // Act
    const atLimit = evaluatePayment(placed(99_999), rules);
    const above = evaluatePayment(placed(100_000), rules);

    // Assess
    expect(atLimit).toEqual({ decision: 'charge' });
    expect(above).toMatchObject({ reason: 'AMOUNT_LIMIT_EXCEEDED' });
  });
});

describe('createSimulatedGateway', () => {
  const amount = { amount: 4498, currency: 'EUR' };

  it('approves an ordinary order with a transaction id from the clock', async () => {
    // Prepare
    const gateway = createSimulatedGateway({}, fixedClock());

    // Act
    const result = await gateway.charge({ orderId: 'order-1', amount });

    // Assess
    expect(result).toEqual({
      outcome: 'approved',
      transactionId: 'sim-txn-00000000-0000-4000-8000-000000000001',
    });
  });

  describe('a slow order', () => {
    afterEach(() => {
      vi.useRealTimers();
    });

    it('answers only once its configured time has passed, then approves', async () => {
      // Prepare
      vi.useFakeTimers();
      const gateway = createSimulatedGateway(
        { slowChargeMs: 5_000 },
        fixedClock(),
      );
      let settled = false;

      // Act
      const charge = gateway
        .charge({ orderId: 'slow-1', amount })
        .finally(() => {
          settled = true;
        });
      await vi.advanceTimersByTimeAsync(4_999);
      const settledBefore = settled;
      await vi.advanceTimersByTimeAsync(1);

      // Assess
      expect(settledBefore).toBe(false);
      await expect(charge).resolves.toMatchObject({ outcome: 'approved' });
    });

    it('keeps other orders immediate', async () => {
      // Prepare
      vi.useFakeTimers();
      const gateway = createSimulatedGateway({}, fixedClock());

      // Act
      const result = gateway.charge({ orderId: 'order-slow', amount });

      // Assess: resolves without any timer being advanced
      await expect(result).resolves.toMatchObject({ outcome: 'approved' });
    });
  });

  it('declines orders with the decline prefix, and only those', async () => {
    // Prepare
    const gateway = createSimulatedGateway({}, fixedClock());

    // Act
    const declined = await gateway.charge({ orderId: 'decline-1', amount });
    const approved = await gateway.charge({ orderId: 'order-decline', amount });

    // Assess
    expect(declined).toMatchObject({ outcome: 'declined' });
    expect(approved).toMatchObject({ outcome: 'approved' });
  });

  it('declines everything when told to', async () => {
    // Prepare
    const gateway = createSimulatedGateway({ declineAll: true }, fixedClock());

    // Act
    const result = await gateway.charge({ orderId: 'order-1', amount });

    // Assess
    expect(result).toMatchObject({ outcome: 'declined' });
  });

  it('fails a flaky order transiently N times, counted per order, then approves', async () => {
    // Prepare
    const gateway = createSimulatedGateway({}, fixedClock());
    const charge = (orderId: string) => gateway.charge({ orderId, amount });

    // Act
    const first = charge('flaky-1');
    const second = charge('flaky-1');
    const otherFirst = charge('flaky-2');
    const third = charge('flaky-1');

    // Assess
    await expect(first).rejects.toBeInstanceOf(GatewayUnavailableError);
    await expect(second).rejects.toBeInstanceOf(GatewayUnavailableError);
    await expect(otherFirst).rejects.toBeInstanceOf(GatewayUnavailableError);
    await expect(third).resolves.toMatchObject({ outcome: 'approved' });
  });

  it('takes the number of transient failures from its settings', async () => {
    // Prepare
    const gateway = createSimulatedGateway(
      { transientOrderIdPrefix: 'wobbly', transientFailures: 0 },
      fixedClock(),
    );

    // Act
    const result = gateway.charge({ orderId: 'wobbly-1', amount });

    // Assess
    await expect(result).resolves.toMatchObject({ outcome: 'approved' });
  });

  it('fails every charge and refund transiently when down', async () => {
    // Prepare
    const gateway = createSimulatedGateway({ failAll: true }, fixedClock());

    // Act
    const charge = gateway.charge({ orderId: 'order-1', amount });
    const refund = gateway.refund({
      orderId: 'order-1',
      paymentId: 'pay-1',
      amount,
    });

    // Assess
    await expect(charge).rejects.toBeInstanceOf(TransientError);
    await expect(refund).rejects.toBeInstanceOf(GatewayUnavailableError);
  });

  it('refunds with a refund id from the clock', async () => {
    // Prepare
    const gateway = createSimulatedGateway({}, fixedClock());

    // Act
    const result = await gateway.refund({
      orderId: 'order-1',
      paymentId: 'pay-1',
      amount,
    });

    // Assess
    expect(result).toEqual({
      refundId: 'sim-refund-00000000-0000-4000-8000-000000000001',
    });
  });
});

describe('GatewayUnavailableError', () => {
  it('is a named transient failure that keeps its cause', () => {
    // Prepare
    const cause = new Error('socket hang up');

    // Act
    const error = new GatewayUnavailableError('gateway down', { cause });

    // Assess
    expect(error.name).toBe('GatewayUnavailableError');
    expect(error.cause).toBe(cause);
    expect(classifyFailure(error)).toBe('transient');
  });
});
