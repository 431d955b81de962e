/**
 * What the order API's writes share: the ports they take, and publishing at once
 * what a write put in the order's outbox (docs/outbox.md).
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import type { EventPublisher } from '#commons/kafka-publisher.ts';
import type { OrderRepository } from '#commons/order-repository.ts';
import type { WriteTimings } from '#commons/settled-write.ts';
import type { Clock, DomainEvent } from '#domain/events.ts';

/** What the order API's use cases (./place-order.ts, ./cancel-order.ts) need. */
export interface OrderWritePorts {
  readonly orders: OrderRepository;
  /** Publishing, behind a circuit breaker that fails fast while Kafka is down. */
  readonly publisher: EventPublisher;
  readonly clock: Clock;
  readonly logger: Logger;
  /** How long a write may take before it is settled (docs/outbox.md, "Timings"). */
  readonly timings: WriteTimings;
}

/**
 * Publishes what a write put in the outbox, and clears it; `false` when Kafka did
 * not take the events in time, or the breaker is open (the relay will publish
 * them: nothing is lost).
 *
 * @example
 * ```ts
 * const published = await publishNow(ports, order.orderId, order.version, [placed]);
 * ```
 */
export async function publishNow(
  ports: OrderWritePorts,
  orderId: string,
  version: number,
  events: readonly DomainEvent[],
): Promise<boolean> {
  const { orders, publisher, logger, timings } = ports;
  try {
    // The publisher's own deadline (docs/timeouts.md) bounds the wait.
    await publisher.publish(events);
  } catch (error) {
    logger.warn('publish left to the outbox relay', { orderId, error });
    return false;
  }
  try {
    await orders.clearOutbox(orderId, version, {
      signal: AbortSignal.timeout(timings.callMs),
    });
  } catch (error) {
    // The relay will publish them again, under the same event ids: harmless.
    logger.warn('outbox not cleared after publishing', { orderId, error });
  }
  return true;
}
