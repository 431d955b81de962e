/**
 * The use case behind OrderCancelled: a refund, once, for a charged order
 * (PaymentRefunded); for an unpaid order, a record that no charge may happen later
 * (docs/domain.md section 6). Its refund step is shared with the orphan refund
 * (./refund-orphan-charge.ts), so the two can never refund twice.
 */
import {
  ChargeInProgressError,
  type Payment,
} from '#commons/payment-repository.ts';
import {
  newEvent,
  type OrderCancelled,
  type PaymentOrphaned,
} from '#domain/events.ts';
import { deterministicUuid } from '#domain/ids.ts';
import { derivedClock, type PaymentPorts } from './payment-ports.ts';
import type { RecordOutlet } from './record-outlet.ts';

/**
 * Refunds a CHARGED payment once (the REFUND item decides), then publishes
 * PaymentRefunded once (`publishedAt`). Shared by cancellations and by
 * compensations of charges whose order does not exist.
 *
 * @example
 * ```ts
 * await refundCharge(ports, record, payment, orphaned);
 * ```
 */
export async function refundCharge(
  ports: PaymentPorts,
  record: RecordOutlet,
  payment: Extract<Payment, { status: 'CHARGED' }>,
  cause: OrderCancelled | PaymentOrphaned,
): Promise<void> {
  const { orderId } = payment;
  const refundId = deterministicUuid('refund', orderId);
  const claim = await ports.payments.claimRefund(
    orderId,
    refundId,
    payment.amount,
    ports.clock.now(),
  );
  let stored =
    claim === 'claimed' ? undefined : await ports.payments.getRefund(orderId);
  if (claim === 'claimed' || stored?.status === 'CLAIMED') {
    await ports.gateway.refund({
      orderId,
      paymentId: payment.paymentId,
      amount: payment.amount,
    });
    stored = await ports.payments.recordRefund(
      orderId,
      refundId,
      ports.clock.now(),
    );
  }
  if (!stored || stored.publishedAt) return;
  record.publishWithBatch(
    [
      newEvent(
        'PaymentRefunded',
        {
          orderId,
          paymentId: payment.paymentId,
          refundId: stored.refundId,
          amount: stored.amount,
        },
        { correlationId: cause.correlationId, causationId: cause.eventId },
        derivedClock(ports.clock, 'PaymentRefunded', orderId),
      ),
    ],
    () => ports.payments.markPublished(orderId, 'refund', ports.clock.now()),
  );
  record.debug('refunded', { orderId, refundId, cause: cause.eventType });
}

/**
 * Refunds a cancelled order's charge once; voids an unpaid one, so no charge may
 * follow. Throws {@link ChargeInProgressError} while its charge is in progress.
 *
 * @example
 * ```ts
 * await refundPayment(ports, { cancelled: record.value, record });
 * ```
 */
export async function refundPayment(
  ports: PaymentPorts,
  input: { readonly cancelled: OrderCancelled; readonly record: RecordOutlet },
): Promise<void> {
  const { cancelled, record } = input;
  const { orderId } = cancelled.data;
  const payment = await ports.payments.getPayment(orderId);
  if (!payment) {
    const result = await ports.payments.voidUnpaid(
      orderId,
      cancelled.data.reason,
      ports.clock.now(),
    );
    if (result !== 'already-charged') {
      record.debug('unpaid order cancelled: no charge may follow', { orderId });
      return;
    }
    return refundPayment(ports, input);
  }
  if (payment.status === 'CLAIMED') {
    throw new ChargeInProgressError(
      `the charge of order ${orderId} is still in progress; the refund waits`,
    );
  }
  if (payment.status !== 'CHARGED') {
    record.debug('nothing to refund', { orderId, status: payment.status });
    return;
  }
  await refundCharge(ports, record, payment, cancelled);
}
