import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  ChargeInProgressError,
  createPaymentRepository,
  PaymentStateError,
} from '#commons/payment-repository.ts';
import { createTableInput, TABLES } from '#infra/tables.ts';
import { createTables } from '#platform/platform.ts';
import { failureOf, localDocumentClient } from './store.ts';

const AMOUNT = { amount: 3998, currency: 'EUR' };
const NOW = new Date('2025-03-01T10:00:00.000Z');
const LATER = new Date('2025-03-01T10:00:05.000Z');

describe('PaymentRepository on DynamoDB', () => {
  const endpoint = inject('dynamodbEndpoint');
  const db = localDocumentClient(endpoint);
  const tableName = `payments-repo-${randomUUID()}`;
  const payments = createPaymentRepository(db, tableName);

  beforeAll(async () => {
    await createTables(endpoint, [
      createTableInput(TABLES.payments, tableName),
    ]);
  });
  afterAll(() => {
    db.config.requestHandler.destroy?.();
  });

  function newOrderId(): string {
    return `o-${randomUUID()}`;
  }

  it('lets exactly one of three concurrent charge claims win', async () => {
    // Prepare
    const orderId = newOrderId();

    // Act
    const results = await Promise.all(
      ['pay-a', 'pay-b', 'pay-c'].map((paymentId) =>
        payments.claimCharge(orderId, paymentId, AMOUNT, NOW),
      ),
    );

    // Assess
    expect(results.filter((r) => r === 'claimed')).toHaveLength(1);
    expect(results.filter((r) => r === 'already-charged')).toHaveLength(2);
    const winner = ['pay-a', 'pay-b', 'pay-c'][results.indexOf('claimed')];
    expect(await payments.getPayment(orderId)).toEqual({
      orderId,
      status: 'CLAIMED',
      paymentId: winner,
      amount: AMOUNT,
      claimedAt: NOW.toISOString(),
      updatedAt: NOW.toISOString(),
      publishedAt: null,
    });
  });

  it('lets a retry with the same paymentId go on until an outcome is recorded', async () => {
    // Prepare
    const orderId = newOrderId();
    await payments.claimCharge(orderId, 'pay-1', AMOUNT, NOW);

    // Act
    const retry = await payments.claimCharge(orderId, 'pay-1', AMOUNT, LATER);
    const charged = await payments.recordOutcome(
      orderId,
      { status: 'CHARGED', transactionId: 'tx-1' },
      LATER,
    );
    const afterOutcome = await payments.claimCharge(
      orderId,
      'pay-1',
      AMOUNT,
      LATER,
    );

    // Assess
    expect(retry).toBe('claimed');
    expect(charged).toMatchObject({
      status: 'CHARGED',
      paymentId: 'pay-1',
      transactionId: 'tx-1',
      claimedAt: NOW.toISOString(),
      chargedAt: LATER.toISOString(),
    });
    expect(afterOutcome).toBe('already-charged');
  });

  it('records a rejection, repeats the same outcome as a no-op and refuses another', async () => {
    // Prepare
    const orderId = newOrderId();
    await payments.claimCharge(orderId, 'pay-1', AMOUNT, NOW);
    const rejection = {
      status: 'REJECTED',
      reason: 'FRAUD_SUSPECTED',
      detail: 'too large',
    } as const;

    // Act
    const first = await payments.recordOutcome(orderId, rejection, LATER);
    const again = await payments.recordOutcome(orderId, rejection, LATER);
    const other = await failureOf(
      payments.recordOutcome(
        orderId,
        { status: 'CHARGED', transactionId: 'tx-1' },
        LATER,
      ),
    );

    // Assess
    expect(first).toMatchObject({
      status: 'REJECTED',
      reason: 'FRAUD_SUSPECTED',
      detail: 'too large',
    });
    expect(again).toEqual(first);
    expect(other).toBeInstanceOf(PaymentStateError);
    expect(await payments.claimCharge(orderId, 'pay-2', AMOUNT, LATER)).toBe(
      'already-charged',
    );
  });

  it('refuses an outcome for a charge that was never claimed', async () => {
    // Act
    const outcome = await failureOf(
      payments.recordOutcome(
        newOrderId(),
        { status: 'CHARGED', transactionId: 'tx-1' },
        NOW,
      ),
    );

    // Assess
    expect(outcome).toBeInstanceOf(PaymentStateError);
  });

  it('voids an unpaid order so that no charge can be claimed later', async () => {
    // Prepare
    const orderId = newOrderId();

    // Act
    const voided = await payments.voidUnpaid(orderId, 'changed my mind', NOW);
    const claim = await payments.claimCharge(orderId, 'pay-1', AMOUNT, LATER);
    const voidAgain = await payments.voidUnpaid(orderId, 'again', LATER);

    // Assess
    expect(voided).toBe('voided');
    expect(claim).toBe('voided');
    expect(voidAgain).toBe('already-voided');
    expect(await payments.getPayment(orderId)).toEqual({
      orderId,
      status: 'VOIDED',
      voidReason: 'changed my mind',
      voidedAt: NOW.toISOString(),
      updatedAt: NOW.toISOString(),
      publishedAt: null,
    });
  });

  it('does not void a charged order, and waits while a charge is in progress', async () => {
    // Prepare
    const charged = newOrderId();
    await payments.claimCharge(charged, 'pay-1', AMOUNT, NOW);
    await payments.recordOutcome(
      charged,
      { status: 'CHARGED', transactionId: 'tx-1' },
      NOW,
    );
    const inProgress = newOrderId();
    await payments.claimCharge(inProgress, 'pay-2', AMOUNT, NOW);

    // Act
    const voidCharged = await payments.voidUnpaid(charged, 'too late', LATER);
    const voidInProgress = await failureOf(
      payments.voidUnpaid(inProgress, 'racing', LATER),
    );

    // Assess
    expect(voidCharged).toBe('already-charged');
    expect(voidInProgress).toBeInstanceOf(ChargeInProgressError);
    expect((await payments.getPayment(inProgress))?.status).toBe('CLAIMED');
  });

  it('refunds a charged order once', async () => {
    // Prepare
    const orderId = newOrderId();
    await payments.claimCharge(orderId, 'pay-1', AMOUNT, NOW);
    await payments.recordOutcome(
      orderId,
      { status: 'CHARGED', transactionId: 'tx-1' },
      NOW,
    );

    // Act
    const concurrent = await Promise.all(
      ['ref-a', 'ref-b', 'ref-c'].map((refundId) =>
        payments.claimRefund(orderId, refundId, AMOUNT, LATER),
      ),
    );
    const winner = ['ref-a', 'ref-b', 'ref-c'][concurrent.indexOf('claimed')];
    const retry = await payments.claimRefund(
      orderId,
      winner ?? '',
      AMOUNT,
      LATER,
    );
    const refund = await payments.recordRefund(orderId, winner ?? '', LATER);
    const repeat = await payments.recordRefund(orderId, winner ?? '', LATER);
    const afterwards = await payments.claimRefund(
      orderId,
      winner ?? '',
      AMOUNT,
      LATER,
    );

    // Assess
    expect(concurrent.filter((r) => r === 'claimed')).toHaveLength(1);
    expect(concurrent.filter((r) => r === 'already-refunded')).toHaveLength(2);
    expect(retry).toBe('claimed');
    expect(refund).toMatchObject({
      status: 'REFUNDED',
      refundId: winner,
      amount: AMOUNT,
      refundedAt: LATER.toISOString(),
    });
    expect(repeat).toEqual(refund);
    expect(afterwards).toBe('already-refunded');
    expect(await payments.getRefund(orderId)).toEqual(refund);
  });

  it('refuses to refund what was never charged', async () => {
    // Prepare
    const unknown = newOrderId();
    const claimedOnly = newOrderId();
    await payments.claimCharge(claimedOnly, 'pay-1', AMOUNT, NOW);
    const voided = newOrderId();
    await payments.voidUnpaid(voided, 'cancelled', NOW);

    // Act
    const results = await Promise.all(
      [unknown, claimedOnly, voided].map((orderId) =>
        payments.claimRefund(orderId, 'ref-1', AMOUNT, LATER),
      ),
    );

    // Assess
    expect(results).toEqual(['not-charged', 'not-charged', 'not-charged']);
    expect(await payments.getRefund(claimedOnly)).toBeUndefined();
  });

  it('refuses to record a refund that was not claimed', async () => {
    // Act
    const record = await failureOf(
      payments.recordRefund(newOrderId(), 'ref-1', NOW),
    );

    // Assess
    expect(record).toBeInstanceOf(PaymentStateError);
  });

  it('marks an outcome published once, and refuses before there is one', async () => {
    // Prepare
    const orderId = newOrderId();
    await payments.claimCharge(orderId, 'pay-1', AMOUNT, NOW);
    // Only claimed: there is no outcome to publish yet.
    const tooEarly = await failureOf(
      payments.markPublished(orderId, 'payment', NOW),
    );
    expect(tooEarly).toBeInstanceOf(PaymentStateError);
    await payments.recordOutcome(
      orderId,
      { status: 'CHARGED', transactionId: 'tx-1' },
      NOW,
    );

    // Act
    await payments.markPublished(orderId, 'payment', NOW);
    await payments.markPublished(orderId, 'payment', LATER);
    const noRefund = await failureOf(
      payments.markPublished(orderId, 'refund', LATER),
    );

    // Assess
    expect((await payments.getPayment(orderId))?.publishedAt).toBe(
      NOW.toISOString(),
    );
    expect(noRefund).toBeInstanceOf(PaymentStateError);
    expect(await payments.getRefund(orderId)).toBeUndefined();
  });

  it('marks a refund published after it is recorded', async () => {
    // Prepare
    const orderId = newOrderId();
    await payments.claimCharge(orderId, 'pay-1', AMOUNT, NOW);
    await payments.recordOutcome(
      orderId,
      { status: 'CHARGED', transactionId: 'tx-1' },
      NOW,
    );
    await payments.claimRefund(orderId, 'ref-1', AMOUNT, NOW);
    await payments.recordRefund(orderId, 'ref-1', NOW);

    // Act
    await payments.markPublished(orderId, 'refund', LATER);

    // Assess
    expect((await payments.getRefund(orderId))?.publishedAt).toBe(
      LATER.toISOString(),
    );
    expect((await payments.getPayment(orderId))?.publishedAt).toBeNull();
  });

  describe('startPayment', () => {
    const rejection = {
      status: 'REJECTED',
      reason: 'FRAUD_SUSPECTED',
      detail: 'too large',
    } as const;

    it('claims once among concurrent starts, and lets the same paymentId go on', async () => {
      // Prepare
      const orderId = newOrderId();

      // Act
      const results = await Promise.all(
        ['pay-a', 'pay-b', 'pay-c'].map((paymentId) =>
          payments.startPayment(
            orderId,
            paymentId,
            AMOUNT,
            { status: 'CLAIMED' },
            NOW,
          ),
        ),
      );
      const stored = await payments.getPayment(orderId);
      const retry = await payments.startPayment(
        orderId,
        stored?.status === 'CLAIMED' ? stored.paymentId : 'none',
        AMOUNT,
        { status: 'CLAIMED' },
        LATER,
      );

      // Assess
      expect(results.filter((r) => r.step === 'claimed')).toHaveLength(1);
      expect(results.filter((r) => r.step === 'decided')).toHaveLength(2);
      expect(retry).toEqual({ step: 'claimed' });
    });

    it('records a rule rejection in one write, and returns it to a redelivery without a read', async () => {
      // Prepare
      const orderId = newOrderId();

      // Act
      const first = await payments.startPayment(
        orderId,
        'pay-1',
        AMOUNT,
        rejection,
        NOW,
      );
      await payments.markPublished(orderId, 'payment', NOW);
      const again = await payments.startPayment(
        orderId,
        'pay-1',
        AMOUNT,
        rejection,
        LATER,
      );

      // Assess
      const expected = {
        orderId,
        status: 'REJECTED',
        paymentId: 'pay-1',
        amount: AMOUNT,
        reason: 'FRAUD_SUSPECTED',
        detail: 'too large',
        claimedAt: NOW.toISOString(),
        rejectedAt: NOW.toISOString(),
        updatedAt: NOW.toISOString(),
      };
      expect(first).toEqual({
        step: 'decided',
        payment: { ...expected, publishedAt: null },
      });
      expect(again).toEqual({
        step: 'decided',
        payment: { ...expected, publishedAt: NOW.toISOString() },
      });
      expect(await payments.getPayment(orderId)).toEqual(
        again.step === 'decided' ? again.payment : undefined,
      );
    });

    it('returns a charged payment as it stands, and says voided after a void', async () => {
      // Prepare
      const charged = newOrderId();
      await payments.startPayment(
        charged,
        'pay-1',
        AMOUNT,
        { status: 'CLAIMED' },
        NOW,
      );
      await payments.recordOutcome(
        charged,
        { status: 'CHARGED', transactionId: 'tx-1' },
        NOW,
      );
      const voided = newOrderId();
      await payments.voidUnpaid(voided, 'changed my mind', NOW);

      // Act
      const redelivered = await payments.startPayment(
        charged,
        'pay-1',
        AMOUNT,
        { status: 'CLAIMED' },
        LATER,
      );
      const afterVoid = await payments.startPayment(
        voided,
        'pay-2',
        AMOUNT,
        rejection,
        LATER,
      );

      // Assess
      expect(redelivered).toMatchObject({
        step: 'decided',
        payment: {
          status: 'CHARGED',
          transactionId: 'tx-1',
          publishedAt: null,
        },
      });
      expect(afterVoid).toEqual({ step: 'voided' });
    });

    it('leaves a claim made before a crash to be decided by a rule rejection', async () => {
      // Prepare
      const orderId = newOrderId();
      await payments.claimCharge(orderId, 'pay-1', AMOUNT, NOW);

      // Act
      const started = await payments.startPayment(
        orderId,
        'pay-1',
        AMOUNT,
        rejection,
        LATER,
      );

      // Assess
      expect(started).toEqual({ step: 'claimed' });
      expect((await payments.getPayment(orderId))?.status).toBe('CLAIMED');
    });
  });
});
