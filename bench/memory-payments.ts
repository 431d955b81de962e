/**
 * A {@link PaymentRepository} in a map, for `npm run bench:payment`'s in-memory
 * variant and `npm run bench:consumer`: the payment function's own cost without a
 * store's round trips. It is the unit tests' in-memory store
 * (test/unit/memory-payments.ts), which keeps the contract of the DynamoDB
 * implementation (one PAYMENT item per order created once, statuses moving only
 * forward, one REFUND item) and returns copies, as a store's reads would.
 */
import type { PaymentRepository } from '#commons/payment-repository.ts';
import { MemoryPayments } from '../test/unit/memory-payments.ts';

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
  return new MemoryPayments();
}
