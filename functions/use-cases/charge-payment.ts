/**
 * The use case behind OrderPlaced: exactly one charge per order (a conditional write
 * decides), then PaymentProcessed or PaymentFailed, published once
 * (docs/domain.md section 6).
 */

import { messageOf } from '#commons/guards.ts';
import type { Payment } from '#commons/payment-repository.ts';
import {
  type Clock,
  newEvent,
  type OrderPlaced,
  type PaymentFailed,
  type PaymentProcessed,
} from '#domain/events.ts';
import { deterministicUuid } from '#domain/ids.ts';
import {
  evaluatePayment,
  GATEWAY_RETRY_MESSAGE,
  type PaymentDecision,
} from '#domain/payment.ts';
import { retryTransient } from '#domain/retry.ts';
import { derivedClock, type PaymentPorts } from './payment-ports.ts';
import type { RecordOutlet } from './record-outlet.ts';

/** What {@link chargePayment} takes: the event, and the record it came in. */
export interface ChargePaymentInput {
  readonly placed: OrderPlaced;
  readonly record: RecordOutlet;
  /** What is left of the invocation, for the gateway retries. */
  readonly remainingTimeMs: () => number;
}

/**
 * The payment id of an order: derived from it, so a retry reuses it.
 *
 * @example
 * ```ts
 * const paymentId = paymentIdOf('o-1'); // the same on every call
 * ```
 */
export function paymentIdOf(orderId: string): string {
  return deterministicUuid('payment', orderId);
}

function outcomeEvent(
  payment: Payment,
  placed: OrderPlaced,
  clock: Clock,
): PaymentProcessed | PaymentFailed | undefined {
  const causation = {
    correlationId: placed.correlationId,
    causationId: placed.eventId,
  };
  const ids = derivedClock(clock, 'PaymentOutcome', placed.data.orderId);
  if (payment.status === 'CHARGED') {
    return newEvent(
      'PaymentProcessed',
      {
        orderId: payment.orderId,
        paymentId: payment.paymentId,
        transactionId: payment.transactionId,
        amount: payment.amount,
      },
      causation,
      ids,
    );
  }
  if (payment.status === 'REJECTED') {
    return newEvent(
      'PaymentFailed',
      {
        orderId: payment.orderId,
        paymentId: payment.paymentId,
        reason: payment.reason,
        detail: payment.detail,
      },
      causation,
      ids,
    );
  }
  return undefined;
}

/**
 * Decides a claimed payment: the rules' rejection, or the gateway's answer (its
 * transient failures retried while the invocation has time); the stored outcome.
 */
async function decideClaimed(
  ports: PaymentPorts,
  input: ChargePaymentInput,
  verdict: PaymentDecision,
): Promise<Payment> {
  const { orderId, total } = input.placed.data;
  if (verdict.decision === 'reject') {
    return ports.payments.recordOutcome(
      orderId,
      { status: 'REJECTED', reason: verdict.reason, detail: verdict.detail },
      ports.clock.now(),
    );
  }
  const result = await retryTransient(
    () => ports.gateway.charge({ orderId, amount: total }),
    {
      ...ports.retry,
      remainingTimeMs: input.remainingTimeMs,
      // Each transient failure shows, even when a later attempt succeeds.
      onRetry: (error, attempt, delayMs) =>
        input.record.logger.warn(GATEWAY_RETRY_MESSAGE, {
          orderId,
          attempt,
          delayMs,
          reason: messageOf(error),
        }),
    },
  );
  return ports.payments.recordOutcome(
    orderId,
    result.outcome === 'approved'
      ? { status: 'CHARGED', transactionId: result.transactionId }
      : {
          status: 'REJECTED',
          reason: 'GATEWAY_DECLINED',
          detail: result.detail,
        },
    ports.clock.now(),
  );
}

/**
 * Charges an order once. Store round trips: a rule rejection is one conditional
 * write (REJECTED at once, no claim); a charge is a claim and the outcome, with the
 * gateway between; a redelivery of a decided payment is one failed conditional
 * write, which returns the stored payment. The outcome event goes out with the
 * batch's one publish, and `markPublished` runs after it, side by side with the
 * other records' (docs/performance.md section "Round trips of a payment").
 *
 * @example
 * ```ts
 * await chargePayment(ports, { placed: record.value, record, remainingTimeMs });
 * ```
 */
export async function chargePayment(
  ports: PaymentPorts,
  input: ChargePaymentInput,
): Promise<void> {
  const { placed, record } = input;
  const { orderId, total } = placed.data;
  // Pure and deterministic: the same verdict on every delivery.
  const verdict = evaluatePayment(placed.data, ports.rules);
  const started = await ports.payments.startPayment(
    orderId,
    paymentIdOf(orderId),
    total,
    verdict.decision === 'reject'
      ? { status: 'REJECTED', reason: verdict.reason, detail: verdict.detail }
      : { status: 'CLAIMED' },
    ports.clock.now(),
  );
  if (started.step === 'voided') {
    record.debug('order was cancelled before payment: no charge', { orderId });
    return;
  }
  let payment = started.step === 'decided' ? started.payment : undefined;
  if (started.step === 'claimed' || payment?.status === 'CLAIMED') {
    payment = await decideClaimed(ports, input, verdict);
  }
  if (!payment || payment.publishedAt) {
    record.debug('payment already decided and published', { orderId });
    return;
  }
  const event = outcomeEvent(payment, placed, ports.clock);
  if (!event) return;
  record.publishWithBatch([event], () =>
    ports.payments.markPublished(orderId, 'payment', ports.clock.now()),
  );
  record.debug('payment decided', { orderId, outcome: event.eventType });
}
