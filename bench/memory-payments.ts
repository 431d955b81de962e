/**
 * A {@link PaymentRepository} in a map, for `npm run bench:payment`'s in-memory
 * variant: the payment function's own cost without a store's round trips. It keeps
 * the contract of the DynamoDB implementation (functions/commons/payment-repository.ts:
 * one PAYMENT item per order created once, statuses moving only forward, one REFUND
 * item), so the handler takes the same paths; the items are copies, as a store's
 * reads would be.
 */
import {
  ChargeInProgressError,
  type Payment,
  type PaymentRepository,
  PaymentStateError,
  type Refund,
} from '#commons/payment-repository.ts';

/**
 * A fresh, empty repository (one per sandbox: each benchmark run starts its own).
 *
 * @example
 * ```ts
 * const payments = createMemoryPaymentRepository();
 * await payments.claimCharge('o-1', paymentIdOf('o-1'), total, new Date()); // 'claimed'
 * ```
 */
export function createMemoryPaymentRepository(): PaymentRepository {
  const payments = new Map<string, Payment>();
  const refunds = new Map<string, Refund>();
  const copy = <T>(item: T | undefined) =>
    item === undefined ? undefined : structuredClone(item);

  return {
    async claimCharge(orderId, paymentId, amount, now) {
      const existing = payments.get(orderId);
      if (existing === undefined) {
        const at = now.toISOString();
        payments.set(orderId, {
          orderId,
          status: 'CLAIMED',
          paymentId,
          amount,
          claimedAt: at,
          updatedAt: at,
          publishedAt: null,
        });
        return 'claimed';
      }
      if (existing.status === 'VOIDED') return 'voided';
      return existing.status === 'CLAIMED' && existing.paymentId === paymentId
        ? 'claimed'
        : 'already-charged';
    },

    async recordOutcome(orderId, outcome, now) {
      const current = payments.get(orderId);
      const at = now.toISOString();
      if (current?.status === 'CLAIMED') {
        const next: Payment =
          outcome.status === 'CHARGED'
            ? {
                ...current,
                status: 'CHARGED',
                transactionId: outcome.transactionId,
                chargedAt: at,
                updatedAt: at,
              }
            : {
                ...current,
                status: 'REJECTED',
                reason: outcome.reason,
                detail: outcome.detail,
                rejectedAt: at,
                updatedAt: at,
              };
        payments.set(orderId, next);
        return structuredClone(next);
      }
      const same =
        (current?.status === 'CHARGED' &&
          outcome.status === 'CHARGED' &&
          current.transactionId === outcome.transactionId) ||
        (current?.status === 'REJECTED' &&
          outcome.status === 'REJECTED' &&
          current.reason === outcome.reason);
      if (current && same) return structuredClone(current);
      throw new PaymentStateError(
        `cannot record ${outcome.status} for order ${orderId}: payment is ${current?.status ?? 'not claimed'}`,
      );
    },

    async getPayment(orderId) {
      return copy(payments.get(orderId));
    },

    async voidUnpaid(orderId, reason, now) {
      const existing = payments.get(orderId);
      if (existing === undefined) {
        const at = now.toISOString();
        payments.set(orderId, {
          orderId,
          status: 'VOIDED',
          voidReason: reason,
          voidedAt: at,
          updatedAt: at,
          publishedAt: null,
        });
        return 'voided';
      }
      switch (existing.status) {
        case 'CHARGED':
          return 'already-charged';
        case 'VOIDED':
        case 'REJECTED':
          return 'already-voided';
        default:
          throw new ChargeInProgressError(
            `cannot void order ${orderId} yet: a charge is in progress`,
          );
      }
    },

    async claimRefund(orderId, refundId, amount, now) {
      const existing = refunds.get(orderId);
      if (existing !== undefined) {
        return existing.status === 'CLAIMED' && existing.refundId === refundId
          ? 'claimed'
          : 'already-refunded';
      }
      if (payments.get(orderId)?.status !== 'CHARGED') return 'not-charged';
      const at = now.toISOString();
      refunds.set(orderId, {
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
    },

    async recordRefund(orderId, refundId, now) {
      const current = refunds.get(orderId);
      if (current?.refundId === refundId && current.status === 'CLAIMED') {
        const at = now.toISOString();
        const next: Refund = {
          ...current,
          status: 'REFUNDED',
          refundedAt: at,
          updatedAt: at,
        };
        refunds.set(orderId, next);
        return structuredClone(next);
      }
      if (current?.status === 'REFUNDED' && current.refundId === refundId) {
        return structuredClone(current);
      }
      throw new PaymentStateError(
        `cannot record refund ${refundId} for order ${orderId}: refund is ${current ? `${current.status} (${current.refundId})` : 'not claimed'}`,
      );
    },

    async getRefund(orderId) {
      return copy(refunds.get(orderId));
    },

    async markPublished(orderId, item, now) {
      const store = item === 'payment' ? payments : refunds;
      const current = store.get(orderId);
      const decided =
        current !== undefined &&
        (item === 'payment'
          ? current.status === 'CHARGED' || current.status === 'REJECTED'
          : current.status === 'REFUNDED');
      if (!decided) {
        throw new PaymentStateError(
          `order ${orderId} has no ${item} outcome to mark as published`,
        );
      }
      if (current.publishedAt === null) {
        current.publishedAt = now.toISOString();
      }
    },
  };
}
