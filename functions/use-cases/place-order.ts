/**
 * The use case behind POST /orders: store a new order with its OrderPlaced in the
 * outbox, settled, then publish it at once (docs/domain.md section 4,
 * docs/outbox.md). The rules of a new order are the domain's `placeOrder`
 * (#domain/order.ts), imported here as `newOrder`.
 */
import { settledWrite } from '#commons/settled-write.ts';
import {
  placeOrder as newOrder,
  type Order,
  type PlaceOrderRequest,
} from '#domain/order.ts';
import { type OrderWritePorts, publishNow } from './order-writes.ts';

/** What placing an order did. */
export type PlaceOrderResult =
  /** Stored; `published` when its OrderPlaced is out already (else the relay's). */
  | {
      readonly placed: true;
      readonly order: Order;
      readonly published: boolean;
    }
  /** An order with this id exists: nothing was stored. */
  | { readonly placed: false; readonly orderId: string };

/** Voids the order's creation when the API gave it up; whether it did. */
async function voidGivenUpCreate(
  ports: OrderWritePorts,
  orderId: string,
): Promise<boolean> {
  const { orders, logger } = ports;
  const found = await orders.get(orderId);
  const settlement = found?.settlement;
  if (found?.order.version !== 1 || !settlement?.fenced) return false;
  const outcome = await orders.voidWrite(
    orderId,
    1,
    settlement.eventId,
    undefined,
  );
  logger.info('a given-up creation voided before placing again', {
    orderId,
    outcome,
  });
  return true;
}

/**
 * Places an order: stores it (settled: a 2xx promise, or nothing stored), then
 * publishes its OrderPlaced at once when Kafka takes it.
 *
 * @example
 * ```ts
 * const result = await placeOrder(ports, { request, correlationId });
 * if (!result.placed) return conflict(result.orderId);
 * ```
 */
export async function placeOrder(
  ports: OrderWritePorts,
  input: {
    readonly request: PlaceOrderRequest;
    readonly correlationId: string;
  },
): Promise<PlaceOrderResult> {
  const { orders, clock, logger, timings } = ports;
  const causation = { correlationId: input.correlationId, causationId: null };
  const { order, event: placed } = newOrder(input.request, causation, clock);
  const create = () =>
    settledWrite({
      orders,
      orderId: order.orderId,
      eventId: placed.eventId,
      write: (options) => orders.create(order, placed, options),
      timings,
    });
  let stored = await create();
  // The order a request before this one placed, gave up and answered 503 for
  // (fenced), but the relay has not voided yet: void it now, as the relay would,
  // so that the client's retry is not told 409 about an order that is going away.
  if (stored === 'exists' && (await voidGivenUpCreate(ports, order.orderId))) {
    stored = await create();
  }
  if (stored === 'exists') return { placed: false, orderId: order.orderId };
  const published = await publishNow(ports, order.orderId, order.version, [
    placed,
  ]);
  logger.info('order placed', {
    orderId: order.orderId,
    correlationId: causation.correlationId,
    published,
  });
  return { placed: true, order, published };
}
