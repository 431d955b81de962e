/**
 * The use case behind POST /orders/{orderId}/cancel: the domain's cancellation
 * (#domain/order.ts), stored with the outbox it leaves, settled, then published at
 * once (docs/domain.md section 4, docs/outbox.md).
 */
import { settledWrite } from '#commons/settled-write.ts';
import {
  type Order,
  type OrderStatus,
  requestCancellation,
} from '#domain/order.ts';
import { type OrderWritePorts, publishNow } from './order-writes.ts';

/** What cancelling an order did. */
export type CancelOrderResult =
  /** Stored; `published` when its OrderCancelled is out already (else the relay's). */
  | {
      readonly outcome: 'cancelled';
      readonly order: Order;
      readonly published: boolean;
    }
  /** No such order: nothing was stored. */
  | { readonly outcome: 'not-found' }
  /** The order's status does not allow it: nothing was stored. */
  | { readonly outcome: 'invalid-state'; readonly status: OrderStatus };

/**
 * Cancels an order at a customer's request.
 *
 * @example
 * ```ts
 * const result = await cancelOrder(ports, { orderId, reason, correlationId });
 * if (result.outcome === 'cancelled') return json(200, result.order);
 * ```
 */
export async function cancelOrder(
  ports: OrderWritePorts,
  input: {
    readonly orderId: string;
    readonly reason: string;
    readonly correlationId: string;
  },
): Promise<CancelOrderResult> {
  const { orders, clock, timings } = ports;
  const { orderId, reason } = input;
  const found = await orders.get(orderId);
  if (!found) return { outcome: 'not-found' };
  const causation = { correlationId: input.correlationId, causationId: null };
  const result = requestCancellation(found.order, reason, causation, clock);
  if (!result.ok) return { outcome: 'invalid-state', status: result.status };
  const outbox = [...found.outbox, result.event];
  await settledWrite({
    orders,
    orderId,
    eventId: result.event.eventId,
    write: (options) =>
      orders.append(result.order, result.event, outbox, options),
    timings,
  });
  const published = await publishNow(
    ports,
    orderId,
    result.order.version,
    outbox,
  );
  return { outcome: 'cancelled', order: result.order, published };
}
