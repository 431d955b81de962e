/**
 * The use case behind the order function: fold a payment outcome (PaymentProcessed,
 * PaymentFailed, PaymentRefunded) into its order, one conditional transaction of
 * event and snapshot, and publish what it caused (ShippingRequested when the order
 * becomes PAID). Redelivery is a no-op; an outcome that makes no sense in the
 * order's state is recorded and ignored (docs/domain.md section 5). An outcome
 * whose order does not exist goes to ./record-orphan-outcome.ts.
 */
import { setTimeout as delay } from 'node:timers/promises';
import {
  OrderNotSettledError,
  type OrderRepository,
  OrderVersionConflictError,
  type StoredOrder,
} from '#commons/order-repository.ts';
import { DEFAULT_WRITE_TIMINGS, settledAfter } from '#commons/settled-write.ts';
import type { Clock, DomainEvent, PaymentOutcome } from '#domain/events.ts';
import { TransientError } from '#domain/failures.ts';
import { deterministicUuid } from '#domain/ids.ts';
import { applyEvent } from '#domain/order.ts';
import {
  type OrphanOutcomePorts,
  recordOrphanOutcome,
} from './record-orphan-outcome.ts';
import type { RecordOutlet } from './record-outlet.ts';

/** What {@link applyPaymentOutcome} needs: the orders, and the orphans' ports. */
export interface PaymentOutcomePorts extends OrphanOutcomePorts {
  readonly orders: OrderRepository;
}

/** Optimistic concurrency: re-read and retry this often before calling it transient. */
const MAX_CONFLICTS = 5;

/**
 * How long a record waits for the order's last API write to settle (the API's
 * answer deadline plus the relay's grace, and a second more), and how often it looks.
 */
const SETTLE_WAIT_MS = settledAfter(DEFAULT_WRITE_TIMINGS.answerMs) + 1000;
const SETTLE_POLL_MS = 250;

/** Publishes what a write caused, then empties the outbox it was kept in. */
async function publishOutbox(
  ports: PaymentOutcomePorts,
  orderId: string,
  version: number,
  outbox: readonly DomainEvent[],
): Promise<void> {
  if (outbox.length === 0) return;
  await ports.publisher.publish(outbox);
  await ports.orders.clearOutbox(orderId, version);
}

/**
 * Whether the order's last write is an API write that may yet be voided (fenced,
 * or a cancellation the API may still give up): an outcome folded on top of it
 * would make it stand (docs/outbox.md). A creation whose OrderPlaced led to this
 * outcome was published, so it stands.
 */
function mayYetBeVoided(found: StoredOrder): boolean {
  // The API's settleBy is wall-clock time, whatever clock the events use.
  const settlement = found.settlement;
  return Boolean(
    settlement &&
      (settlement.fenced ||
        (found.order.version > 1 &&
          Date.now() <= settledAfter(settlement.settleBy))),
  );
}

/**
 * Folds one payment outcome into its order.
 *
 * @example
 * ```ts
 * await applyPaymentOutcome(ports, { outcome: record.value, record });
 * ```
 */
export async function applyPaymentOutcome(
  ports: PaymentOutcomePorts,
  input: { readonly outcome: PaymentOutcome; readonly record: RecordOutlet },
): Promise<void> {
  const { outcome: event, record } = input;
  const orderId = event.data.orderId;
  // Events derived from this one get ids derived from it: a redelivery that publishes
  // them again publishes the very same event.
  const derived: Clock = {
    now: ports.clock.now,
    uuid: () => deterministicUuid('ShippingRequested', event.eventId),
  };
  const settleWaitEnd = performance.now() + SETTLE_WAIT_MS;
  for (let attempt = 1; attempt <= MAX_CONFLICTS; attempt += 1) {
    // Strongly consistent, and the order API stores an order before its OrderPlaced
    // is published: an order not found here does not exist (docs/domain.md section 5).
    const found = await ports.orders.get(orderId);
    if (!found) return recordOrphanOutcome(ports, input);
    if (found.appliedEventIds.has(event.eventId)) {
      record.debug('already applied', { eventId: event.eventId });
      // A crash may have come between recording and publishing: finish the job.
      await publishOutbox(ports, orderId, found.order.version, found.outbox);
      return;
    }
    if (mayYetBeVoided(found)) {
      // It settles within seconds (the API's answer plus the grace, or the relay's
      // void): wait here rather than spend the mapping's retries.
      if (performance.now() < settleWaitEnd) {
        await delay(SETTLE_POLL_MS);
        attempt -= 1;
        continue;
      }
      throw new OrderNotSettledError(
        `order ${orderId} version ${found.order.version} is not settled by the API yet`,
      );
    }
    const {
      order: next,
      outcome,
      emit,
      note,
    } = applyEvent(found.order, event, derived);
    // Unpublished events of earlier writes ride along, so a new snapshot keeps them.
    const outbox = [...found.outbox, ...emit];
    try {
      const written = await ports.orders.append(next, event, outbox);
      if (written === 'duplicate') return;
    } catch (error) {
      if (error instanceof OrderVersionConflictError) continue;
      throw error;
    }
    await publishOutbox(ports, orderId, next.version, outbox);
    record.debug(outcome === 'applied' ? 'order updated' : 'event ignored', {
      orderId,
      eventType: event.eventType,
      status: next.status,
      version: next.version,
      ...(note ? { note } : {}),
    });
    return;
  }
  throw new TransientError(
    `order ${orderId} kept changing under ${MAX_CONFLICTS} attempts`,
  );
}
