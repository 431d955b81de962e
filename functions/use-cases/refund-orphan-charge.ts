/**
 * The use case behind PaymentOrphaned: the one refund of a charge whose order does
 * not exist (docs/domain.md section 6), through the same REFUND item a cancellation
 * uses (./refund-payment.ts).
 */
import { ChargeInProgressError } from '#commons/payment-repository.ts';
import type { PaymentOrphaned } from '#domain/events.ts';
import { PoisonRecordError } from '#domain/failures.ts';
import { compensationFor } from '#domain/payment.ts';
import type { PaymentPorts } from './payment-ports.ts';
import type { RecordOutlet } from './record-outlet.ts';
import { refundCharge } from './refund-payment.ts';

/**
 * Compensates a charge whose order does not exist (docs/domain.md section 6): the
 * order function saw its PaymentProcessed, found no order, and published
 * PaymentOrphaned. The charge is refunded once, through the same REFUND item a
 * cancellation uses, so the two can never refund twice. Throws
 * {@link PoisonRecordError} for an orphan that does not match the payment, and
 * {@link ChargeInProgressError} while the charge is in progress.
 *
 * @example
 * ```ts
 * await refundOrphanCharge(ports, { orphaned: record.value, record });
 * ```
 */
export async function refundOrphanCharge(
  ports: PaymentPorts,
  input: { readonly orphaned: PaymentOrphaned; readonly record: RecordOutlet },
): Promise<void> {
  const { orphaned, record } = input;
  const { orderId } = orphaned.data;
  const payment = await ports.payments.getPayment(orderId);
  const decision = compensationFor(payment, orphaned.data);
  switch (decision.action) {
    case 'reject':
      throw new PoisonRecordError(
        `PaymentOrphaned ${orphaned.eventId}: ${decision.detail}`,
      );
    case 'wait':
      throw new ChargeInProgressError(
        `${decision.detail}; the compensation waits`,
      );
    case 'none':
      record.debug('orphan payment: nothing to refund', {
        orderId,
        detail: decision.detail,
      });
      return;
  }
  // compensationFor refunds only a CHARGED payment; this narrows the type.
  if (payment?.status !== 'CHARGED') return;
  record.logger.warn('refunding a charge whose order does not exist', {
    orderId,
    paymentId: payment.paymentId,
  });
  await refundCharge(ports, record, payment, orphaned);
}
