/**
 * The use case for a payment outcome whose order does not exist (docs/domain.md
 * section 5): record it apart from every order, and hand a charge back to the
 * payment function as PaymentOrphaned, to be refunded (section 6).
 */
import { type Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { EventPublisher } from '#commons/kafka-publisher.ts';
import { ORPHAN_METRICS } from '#commons/observability.ts';
import type { OrphanPaymentRepository } from '#commons/orphan-payment-repository.ts';
import type { Clock, PaymentOutcome, PaymentRefunded } from '#domain/events.ts';
import { PoisonRecordError } from '#domain/failures.ts';
import { paymentOrphanedBy } from '#domain/orphan-payment.ts';
import type { RecordOutlet } from './record-outlet.ts';

/** What {@link recordOrphanOutcome} needs. */
export interface OrphanOutcomePorts {
  /** Outcomes whose order does not exist (docs/domain.md section 5). */
  readonly orphans: OrphanPaymentRepository;
  readonly publisher: EventPublisher;
  readonly clock: Clock;
  /** Where the orphan counts of {@link ORPHAN_METRICS} go. */
  readonly metrics?: Metrics;
}

/** Counts one orphan outcome now, with the `service` dimension only. */
function countOrphan(ports: OrphanOutcomePorts, metricName: string): void {
  ports.metrics?.singleMetric().addMetric(metricName, MetricUnit.Count, 1);
}

/** The refund of an orphan charge arrived: the compensation is complete. */
async function closeOrphan(
  ports: OrphanOutcomePorts,
  refunded: PaymentRefunded,
  record: RecordOutlet,
): Promise<void> {
  const orderId = refunded.data.orderId;
  const result = await ports.orphans.recordRefund(refunded, ports.clock.now());
  if (result === 'not-charged') {
    throw new PoisonRecordError(
      `PaymentRefunded ${refunded.eventId} is for an unknown order ${orderId} with no orphan charge`,
    );
  }
  record.debug('orphan charge refunded', {
    orderId,
    refundId: refunded.data.refundId,
    duplicate: result === 'duplicate',
  });
}

/**
 * A payment outcome for an order that does not exist (docs/domain.md section 5).
 * Money moved (PaymentProcessed): recorded, and a PaymentOrphaned asks the payment
 * function for the refund, published once and counted (`OrphanCharges`, alarmed).
 * No money moved (PaymentFailed): recorded and counted (`OrphanPaymentFailures`),
 * nothing else to do, so no dead letter. The refund (PaymentRefunded) closes the
 * record. Anything else (a second, different outcome; a refund of no orphan charge)
 * is poison, for an operator: {@link PoisonRecordError}.
 *
 * @example
 * ```ts
 * if (!found) return recordOrphanOutcome(ports, { outcome, record });
 * ```
 */
export async function recordOrphanOutcome(
  ports: OrphanOutcomePorts,
  input: { readonly outcome: PaymentOutcome; readonly record: RecordOutlet },
): Promise<void> {
  const { outcome: event, record } = input;
  const orderId = event.data.orderId;
  if (event.eventType === 'PaymentRefunded') {
    return closeOrphan(ports, event, record);
  }
  const { created, orphan } = await ports.orphans.record(
    event,
    ports.clock.now(),
  );
  if (orphan.outcome.eventId !== event.eventId) {
    throw new PoisonRecordError(
      `${event.eventType} ${event.eventId} is for an unknown order ${orderId}, which already had ${orphan.outcome.eventType} ${orphan.outcome.eventId}`,
    );
  }
  if (event.eventType === 'PaymentFailed') {
    if (created) countOrphan(ports, ORPHAN_METRICS.failures);
    record.logger.warn('payment failed for an unknown order: recorded', {
      orderId,
      reason: event.data.reason,
      firstSeen: created,
    });
    return;
  }
  if (orphan.compensationPublishedAt) {
    record.debug('orphan charge: refund already requested', {
      orderId,
    });
    return;
  }
  const orphaned = paymentOrphanedBy(event, ports.clock);
  await ports.publisher.publish([orphaned]);
  countOrphan(ports, ORPHAN_METRICS.charges);
  await ports.orphans.markCompensationPublished(orderId, ports.clock.now());
  record.logger.warn('charge for an unknown order: refund requested', {
    orderId,
    paymentId: orphaned.data.paymentId,
    amount: orphaned.data.amount,
    paymentOrphanedId: orphaned.eventId,
  });
}
