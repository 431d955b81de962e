/**
 * No money without an order (docs/domain.md sections 5 and 6): a charge whose order
 * does not exist is handed back to the payment function as a PaymentOrphaned, which
 * refunds it. Pure: the id of the PaymentOrphaned is derived from the charge's
 * PaymentProcessed, so every redelivery that publishes it publishes the same event.
 */
import {
  type Clock,
  newEvent,
  type PaymentOrphaned,
  type PaymentProcessed,
} from './events.ts';
import { deterministicUuid } from './ids.ts';

/**
 * The PaymentOrphaned that asks for the refund of a charge whose order does not
 * exist: same correlation id, caused by the PaymentProcessed, with an id derived
 * from it.
 *
 * @example
 * ```ts
 * await publisher.publish([paymentOrphanedBy(processed, clock)]);
 * ```
 */
export function paymentOrphanedBy(
  processed: PaymentProcessed,
  clock: Clock,
): PaymentOrphaned {
  const { orderId, paymentId, transactionId, amount } = processed.data;
  return newEvent(
    'PaymentOrphaned',
    { orderId, paymentId, transactionId, amount },
    {
      correlationId: processed.correlationId,
      causationId: processed.eventId,
    },
    {
      now: clock.now,
      uuid: () => deterministicUuid('PaymentOrphaned', processed.eventId),
    },
  );
}
