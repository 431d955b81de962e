/**
 * An in-memory {@link PaymentRepository} for unit tests of the payment handler:
 * the same conditional steps as the DynamoDB one (each item created once, status
 * only forward), and a count of calls per method, i.e. of store round trips.
 */
import {
  ChargeInProgressError,
  type ChargeOutcome,
  type Payment,
  type PaymentRepository,
  PaymentStateError,
  type Refund,
} from '#commons/payment-repository.ts';
import type { Money } from '#domain/money.ts';

type Method = keyof PaymentRepository;

export class MemoryPayments implements PaymentRepository {
  readonly payments = new Map<string, Payment>();
  readonly refunds = new Map<string, Refund>();
  readonly calls: Method[] = [];

  /** How many calls of `method` (all of them without one). */
  count(method?: Method): number {
    return method
      ? this.calls.filter((call) => call === method).length
      : this.calls.length;
  }

  async startPayment(
    ...[orderId, paymentId, amount, start, now]: Parameters<
      PaymentRepository['startPayment']
    >
  ): ReturnType<PaymentRepository['startPayment']> {
    this.calls.push('startPayment');
    const existing = this.payments.get(orderId);
    if (!existing) {
      const at = now.toISOString();
      const base = {
        orderId,
        paymentId,
        amount,
        claimedAt: at,
        updatedAt: at,
        publishedAt: null,
      };
      if (start.status === 'CLAIMED') {
        this.payments.set(orderId, { ...base, status: 'CLAIMED' });
        return { step: 'claimed' };
      }
      const payment: Payment = {
        ...base,
        status: 'REJECTED',
        reason: start.reason,
        detail: start.detail,
        rejectedAt: at,
      };
      this.payments.set(orderId, payment);
      return { step: 'decided', payment: structuredClone(payment) };
    }
    if (existing.status === 'VOIDED') return { step: 'voided' };
    if (existing.status === 'CLAIMED' && existing.paymentId === paymentId) {
      return { step: 'claimed' };
    }
    return { step: 'decided', payment: structuredClone(existing) };
  }

  async claimCharge(
    orderId: string,
    paymentId: string,
    amount: Money,
    now: Date,
  ): Promise<'claimed' | 'already-charged' | 'voided'> {
    const started = await this.startPayment(
      orderId,
      paymentId,
      amount,
      { status: 'CLAIMED' },
      now,
    );
    this.calls.pop();
    this.calls.push('claimCharge');
    return started.step === 'decided' ? 'already-charged' : started.step;
  }

  async recordOutcome(
    orderId: string,
    outcome: ChargeOutcome,
    now: Date,
  ): Promise<Payment> {
    this.calls.push('recordOutcome');
    const current = this.payments.get(orderId);
    if (current && sameOutcome(current, outcome)) {
      return structuredClone(current);
    }
    if (current?.status !== 'CLAIMED') {
      throw new PaymentStateError(`order ${orderId} is not CLAIMED`);
    }
    const at = now.toISOString();
    const next: Payment =
      outcome.status === 'CHARGED'
        ? { ...current, ...outcome, chargedAt: at, updatedAt: at }
        : { ...current, ...outcome, rejectedAt: at, updatedAt: at };
    this.payments.set(orderId, next);
    return structuredClone(next);
  }

  async getPayment(orderId: string): Promise<Payment | undefined> {
    this.calls.push('getPayment');
    const payment = this.payments.get(orderId);
    return payment && structuredClone(payment);
  }

  async voidUnpaid(
    orderId: string,
    reason: string,
    now: Date,
  ): Promise<'voided' | 'already-charged' | 'already-voided'> {
    this.calls.push('voidUnpaid');
    const current = this.payments.get(orderId);
    if (!current) {
      const at = now.toISOString();
      this.payments.set(orderId, {
        orderId,
        status: 'VOIDED',
        voidReason: reason,
        voidedAt: at,
        updatedAt: at,
        publishedAt: null,
      });
      return 'voided';
    }
    if (current.status === 'CHARGED') return 'already-charged';
    if (current.status === 'CLAIMED') {
      throw new ChargeInProgressError(`order ${orderId}: charge in progress`);
    }
    return 'already-voided';
  }

  async claimRefund(
    orderId: string,
    refundId: string,
    amount: Money,
    now: Date,
  ): Promise<'claimed' | 'already-refunded' | 'not-charged'> {
    this.calls.push('claimRefund');
    const existing = this.refunds.get(orderId);
    if (existing) {
      return existing.status === 'CLAIMED' && existing.refundId === refundId
        ? 'claimed'
        : 'already-refunded';
    }
    if (this.payments.get(orderId)?.status !== 'CHARGED') return 'not-charged';
    const at = now.toISOString();
    this.refunds.set(orderId, {
      orderId,
      status: 'CLAIMED',
      refundId,
      amount,
      claimedAt: at,
      refundedAt: null,
      updatedAt: at,
      publishedAt: null,
    });
    return 'claimed';
  }

  async recordRefund(
    orderId: string,
    refundId: string,
    now: Date,
  ): Promise<Refund> {
    this.calls.push('recordRefund');
    const current = this.refunds.get(orderId);
    if (!current || current.refundId !== refundId) {
      throw new PaymentStateError(`order ${orderId}: refund not claimed`);
    }
    const at = now.toISOString();
    const next: Refund = {
      ...current,
      status: 'REFUNDED',
      refundedAt: current.refundedAt ?? at,
      updatedAt: at,
    };
    this.refunds.set(orderId, next);
    return structuredClone(next);
  }

  async getRefund(orderId: string): Promise<Refund | undefined> {
    this.calls.push('getRefund');
    const refund = this.refunds.get(orderId);
    return refund && structuredClone(refund);
  }

  async markPublished(
    orderId: string,
    item: 'payment' | 'refund',
    now: Date,
  ): Promise<void> {
    this.calls.push('markPublished');
    const stored =
      item === 'payment'
        ? this.payments.get(orderId)
        : this.refunds.get(orderId);
    const decided =
      item === 'payment'
        ? stored?.status === 'CHARGED' || stored?.status === 'REJECTED'
        : stored?.status === 'REFUNDED';
    if (!stored || !decided) {
      throw new PaymentStateError(`order ${orderId}: no ${item} outcome`);
    }
    stored.publishedAt ??= now.toISOString();
  }
}

/** The same outcome recorded again is a no-op, as in the DynamoDB repository. */
function sameOutcome(payment: Payment, outcome: ChargeOutcome): boolean {
  if (payment.status === 'CHARGED' && outcome.status === 'CHARGED') {
    return payment.transactionId === outcome.transactionId;
  }
  if (payment.status === 'REJECTED' && outcome.status === 'REJECTED') {
    return (
      payment.reason === outcome.reason && payment.detail === outcome.detail
    );
  }
  return false;
}
