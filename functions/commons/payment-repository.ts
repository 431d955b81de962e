/**
 * Payments in DynamoDB: one payment per order, ever, and one refund (docs/domain.md
 * section 6). Per order, `pk=ORDER#<orderId>` holds at most two items, each created
 * once by a conditional write:
 *
 * `sk=PAYMENT`, whose `status` moves only forward:
 * ```
 * (none) --claimCharge--> CLAIMED --recordOutcome--> CHARGED | REJECTED
 * (none) --startPayment--> REJECTED       (a rule rejection: no claim, no gateway)
 * (none) --voidUnpaid--> VOIDED            (an unpaid order was cancelled)
 * ```
 * `startPayment` is `claimCharge` or the rule rejection in one conditional write
 * that also returns the existing item when there is one, so a redelivered record
 * needs no read.
 * Whoever creates the item decides: after VOIDED no charge can be claimed, after a
 * claim no void can happen. A CLAIMED item without an outcome means the gateway call
 * was interrupted (timeout, crash): the redelivered record calls `claimCharge` with the
 * same deterministic paymentId (derive it from the orderId) and gets `'claimed'` again,
 * so it calls the gateway again with that paymentId as its idempotency key, and records
 * the outcome. A different paymentId gets `'already-charged'`: another attempt holds it.
 *
 * `sk=REFUND`, `status` CLAIMED --recordRefund--> REFUNDED, created only while the
 * PAYMENT item is CHARGED; retries work as for charges, by the same refundId.
 *
 * `publishedAt` (absent until set) on either item records that the outcome event was
 * published, so a redelivery after a crash between the outcome and the publish
 * publishes it again (with a deterministic eventId) and one after the publish does not.
 *
 * This file is the port and the factory that wires its DynamoDB operations; they
 * are files of ./payment-repository/: items.ts (schemas and keys), payment-item.ts,
 * refund-item.ts, mark-published.ts and errors.ts.
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Money } from '#domain/money.ts';
import type {
  ChargeInProgressError,
  PaymentStateError,
} from './payment-repository/errors.ts';
import type {
  ChargeOutcome,
  Payment,
  PaymentStart,
  PaymentStarted,
  PaymentsTable,
  Refund,
} from './payment-repository/items.ts';
import { markPublished } from './payment-repository/mark-published.ts';
import {
  claimCharge,
  getPayment,
  recordOutcome,
  startPayment,
  voidUnpaid,
} from './payment-repository/payment-item.ts';
import {
  claimRefund,
  getRefund,
  recordRefund,
} from './payment-repository/refund-item.ts';

export {
  ChargeInProgressError,
  PaymentStateError,
} from './payment-repository/errors.ts';
export {
  type ChargeOutcome,
  Payment,
  type PaymentStart,
  type PaymentStarted,
  type PaymentStatus,
  Refund,
} from './payment-repository/items.ts';

/** Where the payment function records charges, voids and refunds. */
export interface PaymentRepository {
  /**
   * Claims the order's one charge. `'claimed'`: go ahead and call the gateway (also
   * returned to a retry with the same paymentId while no outcome is recorded);
   * `'already-charged'`: a charge was claimed by another paymentId or already has an
   * outcome (CHARGED or REJECTED; read {@link PaymentRepository.getPayment});
   * `'voided'`: the order was cancelled first, no charge may happen.
   */
  claimCharge(
    orderId: string,
    paymentId: string,
    amount: Money,
    now: Date,
  ): Promise<'claimed' | 'already-charged' | 'voided'>;
  /**
   * Starts the order's one payment with one conditional write, and never reads:
   * when the PAYMENT item exists, the write's failure returns it. A claim that
   * meets its own earlier claim (same paymentId, no outcome) is `'claimed'` again,
   * as with {@link PaymentRepository.claimCharge}; a rejection that meets one is
   * `'claimed'` too, so that the caller records the outcome.
   */
  startPayment(
    orderId: string,
    paymentId: string,
    amount: Money,
    start: PaymentStart,
    now: Date,
  ): Promise<PaymentStarted>;
  /**
   * Records the gateway's answer for a CLAIMED payment; repeating the same outcome is
   * a no-op. Throws {@link PaymentStateError} if nothing is claimed or another outcome
   * is already recorded.
   */
  recordOutcome(
    orderId: string,
    outcome: ChargeOutcome,
    now: Date,
  ): Promise<Payment>;
  /** The order's PAYMENT item, read strongly consistent. */
  getPayment(orderId: string): Promise<Payment | undefined>;
  /**
   * For an unpaid order that was cancelled: records that no charge may happen later.
   * `'already-charged'`: a charge came first (CHARGED, refund it); `'already-voided'`:
   * no charge can happen any more (voided before, or the charge was REJECTED). Throws
   * {@link ChargeInProgressError} while a charge is CLAIMED without outcome, so the record
   * is retried once the outcome is known.
   */
  voidUnpaid(
    orderId: string,
    reason: string,
    now: Date,
  ): Promise<'voided' | 'already-charged' | 'already-voided'>;
  /**
   * Claims the order's one refund; only a CHARGED payment can be refunded
   * (`'not-charged'` otherwise). A retry with the same refundId before
   * {@link PaymentRepository.recordRefund} gets `'claimed'` again.
   */
  claimRefund(
    orderId: string,
    refundId: string,
    amount: Money,
    now: Date,
  ): Promise<'claimed' | 'already-refunded' | 'not-charged'>;
  /** Marks the claimed refund done; repeating it is a no-op. */
  recordRefund(orderId: string, refundId: string, now: Date): Promise<Refund>;
  /** The order's REFUND item, read strongly consistent. */
  getRefund(orderId: string): Promise<Refund | undefined>;
  /**
   * Notes that the outcome event of the payment (CHARGED or REJECTED) or of the
   * refund (REFUNDED) was published; the first time is kept. Throws
   * {@link PaymentStateError} when there is no outcome to publish.
   */
  markPublished(
    orderId: string,
    item: 'payment' | 'refund',
    now: Date,
  ): Promise<void>;
}

/**
 * The DynamoDB implementation of {@link PaymentRepository} on the Payments table.
 *
 * @example
 * ```ts
 * const payments = createPaymentRepository(db, config.paymentsTable);
 * const paymentId = deterministicUuid('payment', orderId);
 * if ((await payments.claimCharge(orderId, paymentId, total, now)) === 'claimed') {
 *   // call the gateway, then payments.recordOutcome(...)
 * }
 * ```
 */
export function createPaymentRepository(
  db: DynamoDBDocumentClient,
  tableName: string,
): PaymentRepository {
  const table: PaymentsTable = { db, tableName };
  return {
    claimCharge: (orderId, paymentId, amount, now) =>
      claimCharge(table, orderId, paymentId, amount, now),
    startPayment: (orderId, paymentId, amount, start, now) =>
      startPayment(table, orderId, paymentId, amount, start, now),
    recordOutcome: (orderId, outcome, now) =>
      recordOutcome(table, orderId, outcome, now),
    getPayment: (orderId) => getPayment(table, orderId),
    voidUnpaid: (orderId, reason, now) =>
      voidUnpaid(table, orderId, reason, now),
    claimRefund: (orderId, refundId, amount, now) =>
      claimRefund(table, orderId, refundId, amount, now),
    recordRefund: (orderId, refundId, now) =>
      recordRefund(table, orderId, refundId, now),
    getRefund: (orderId) => getRefund(table, orderId),
    markPublished: (orderId, item, now) =>
      markPublished(table, orderId, item, now),
  };
}
