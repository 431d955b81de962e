/**
 * The DynamoDB Local ceiling of the payment benchmark: the writes the payment
 * function makes for each order (functions/payment.ts), straight through the real
 * repository, without Kafka.
 */
import type { PaymentRepository } from '#commons/payment-repository.ts';
import type { OrderPlaced } from '#domain/events.ts';
import { deterministicUuid } from '#domain/ids.ts';
import { DEFAULT_PAYMENT_RULES, evaluatePayment } from '#domain/payment.ts';
import { expectedStatus } from './payment-orders.ts';

/**
 * Writes the payments of the first `orders` events, `concurrency` orders at once.
 *
 * @example
 * ```ts
 * await writePayments(payments, events, events.length, 48);
 * ```
 */
export async function writePayments(
  payments: PaymentRepository,
  events: readonly OrderPlaced[],
  orders: number,
  concurrency: number,
): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (let i = next++; i < orders; i = next++) {
        const event = events[i] as OrderPlaced;
        const { orderId, total } = event.data;
        // The writes the payment function makes (functions/payment.ts): a rule
        // rejection is one startPayment; a charge or a gateway decline is a claim
        // by startPayment and the outcome; then markPublished after the publish.
        const verdict = evaluatePayment(event.data, DEFAULT_PAYMENT_RULES);
        const started = await payments.startPayment(
          orderId,
          deterministicUuid('payment', orderId),
          total,
          verdict.decision === 'reject'
            ? {
                status: 'REJECTED',
                reason: verdict.reason,
                detail: verdict.detail,
              }
            : { status: 'CLAIMED' },
          new Date(),
        );
        if (started.step === 'claimed') {
          await payments.recordOutcome(
            orderId,
            expectedStatus(event) === 'CHARGED'
              ? { status: 'CHARGED', transactionId: `txn-${orderId}` }
              : {
                  status: 'REJECTED',
                  reason: 'GATEWAY_DECLINED',
                  detail: 'declined',
                },
            new Date(),
          );
        }
        await payments.markPublished(orderId, 'payment', new Date());
      }
    }),
  );
}
