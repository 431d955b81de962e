/**
 * Orders: state, the HTTP request that places one, and the pure fold
 * `applyEvent(order, event)` with the state machine of docs/domain.md section 5.
 *
 * ```
 * PENDING --PaymentProcessed--> PAID --(emit ShippingRequested)
 * PENDING --PaymentFailed--> PAYMENT_FAILED
 * PENDING --cancel--> CANCELLED
 * PAID --cancel--> CANCELLATION_REQUESTED --PaymentRefunded--> REFUNDED
 * ```
 */
import * as z from 'zod';
import {
  type Causation,
  type Clock,
  CustomerId,
  DomainEvent,
  itemsTotal,
  newEvent,
  type OrderCancelled,
  OrderId,
  OrderItem,
  type OrderPlaced,
  type PaymentOutcome,
  type PaymentProcessed,
  ProductId,
  ShippingAddress,
  type ShippingRequested,
} from './events.ts';
import { PoisonRecordError } from './failures.ts';
import { CurrencyCode, MinorUnits, Money } from './money.ts';

export const OrderStatus = z.enum([
  'PENDING',
  'PAID',
  'PAYMENT_FAILED',
  'CANCELLED',
  'CANCELLATION_REQUESTED',
  'REFUNDED',
]);
export type OrderStatus = z.infer<typeof OrderStatus>;

/** An order as stored (the snapshot) and as the API returns it. */
export const Order = z.object({
  orderId: OrderId,
  customerId: CustomerId,
  status: OrderStatus,
  /** For PAYMENT_FAILED: the PaymentFailed reason; for cancellations: the reason given. */
  statusReason: z.string().nullable(),
  items: z.array(OrderItem).min(1),
  total: Money,
  shippingAddress: ShippingAddress,
  /** How many events have been recorded for this order (1 after placing it). */
  version: z.number().int().min(1),
  createdAt: z.iso.datetime(),
  updatedAt: z.iso.datetime(),
});
export type Order = z.infer<typeof Order>;

/** The body of `GET /orders/{orderId}/events`: every event of the order, oldest first. */
export const OrderHistory = z.object({
  orderId: OrderId,
  events: z.array(DomainEvent),
});
export type OrderHistory = z.infer<typeof OrderHistory>;

/**
 * One line of `POST /orders`: the unit price is a bare integer in minor units of the
 * request's `currency`, so a client cannot mix currencies within one order.
 */
export const PlaceOrderItem = z.strictObject({
  productId: ProductId,
  quantity: OrderItem.shape.quantity,
  unitPrice: MinorUnits,
});
export type PlaceOrderItem = z.infer<typeof PlaceOrderItem>;

/**
 * The body of `POST /orders` (docs/domain.md section 4). Objects are strict so a
 * misspelt field is refused rather than silently dropped; the total is not part of it
 * because the server computes it.
 *
 * @example
 * ```ts
 * const result = PlaceOrderRequest.safeParse(JSON.parse(body));
 * if (!result.success) return problem(422, result.error.issues);
 * ```
 */
export const PlaceOrderRequest = z
  .strictObject({
    orderId: OrderId.optional(),
    customerId: CustomerId,
    currency: CurrencyCode,
    items: z.array(PlaceOrderItem).min(1).max(100),
    shippingAddress: z.strictObject(ShippingAddress.shape),
  })
  .superRefine((request, ctx) => {
    // A total beyond 2^53 would lose cents in JSON numbers; refusing it here keeps it
    // a 4xx instead of a failed event validation (a 5xx) later.
    const total = request.items.reduce(
      (acc, item) => acc + item.unitPrice * item.quantity,
      0,
    );
    if (!Number.isSafeInteger(total)) {
      ctx.addIssue({
        code: 'custom',
        path: ['items'],
        message: `the total must not exceed ${Number.MAX_SAFE_INTEGER} minor units`,
      });
    }
  });
export type PlaceOrderRequest = z.infer<typeof PlaceOrderRequest>;

/**
 * The body of `POST /orders/{orderId}/cancel`.
 *
 * @example
 * ```ts
 * const { reason } = CancelOrderRequest.parse({ reason: 'changed my mind' });
 * ```
 */
export const CancelOrderRequest = z.strictObject({
  reason: z.string().trim().min(1).max(500),
});
export type CancelOrderRequest = z.infer<typeof CancelOrderRequest>;

/**
 * Places an order: a new PENDING order (version 1) and its OrderPlaced event. The total
 * is always computed here from the items, never taken from the client.
 *
 * @example
 * ```ts
 * const { order, event } = placeOrder(request, { correlationId, causationId: null }, clock);
 * ```
 */
export function placeOrder(
  request: PlaceOrderRequest,
  causation: Causation,
  clock: Clock,
): { order: Order; event: OrderPlaced } {
  const orderId = request.orderId ?? clock.uuid();
  const items: OrderItem[] = request.items.map((item) => ({
    productId: item.productId,
    quantity: item.quantity,
    unitPrice: { amount: item.unitPrice, currency: request.currency },
  }));
  const event = newEvent(
    'OrderPlaced',
    {
      orderId,
      customerId: request.customerId,
      items,
      total: itemsTotal(request.currency, items),
      shippingAddress: request.shippingAddress,
    },
    causation,
    clock,
  );
  // The order's timestamps are the event's, so the snapshot and its history agree.
  const order: Order = {
    ...event.data,
    status: 'PENDING',
    statusReason: null,
    version: 1,
    createdAt: event.occurredAt,
    updatedAt: event.occurredAt,
  };
  return { order, event };
}

/** The state a cancellation moves an order to, by the state it is in now. */
const CANCELLATION: Partial<Record<OrderStatus, OrderStatus>> = {
  PENDING: 'CANCELLED',
  // Paid: the money must come back first, so it waits for PaymentRefunded.
  PAID: 'CANCELLATION_REQUESTED',
};

/** The result of {@link requestCancellation}. */
export type CancellationResult =
  | { ok: true; order: Order; event: OrderCancelled }
  | { ok: false; error: 'INVALID_STATE'; status: OrderStatus };

/**
 * Cancels an order at a customer's request: PENDING becomes CANCELLED, PAID becomes
 * CANCELLATION_REQUESTED (the payment function refunds). Any other state is refused
 * as a value (the API answers 409), not thrown.
 *
 * @example
 * ```ts
 * const result = requestCancellation(order, 'changed my mind', causation, clock);
 * if (!result.ok) return conflict(result.status);
 * ```
 */
export function requestCancellation(
  order: Order,
  reason: string,
  causation: Causation,
  clock: Clock,
): CancellationResult {
  const next = CANCELLATION[order.status];
  if (next === undefined) {
    return { ok: false, error: 'INVALID_STATE', status: order.status };
  }
  const event = newEvent(
    'OrderCancelled',
    {
      orderId: order.orderId,
      customerId: order.customerId,
      reason,
      total: order.total,
    },
    causation,
    clock,
  );
  return {
    ok: true,
    order: {
      ...order,
      status: next,
      statusReason: reason,
      version: order.version + 1,
      updatedAt: event.occurredAt,
    },
    event,
  };
}

/** The result of {@link applyEvent}. */
export interface ApplyResult {
  order: Order;
  /** `ignored`: recorded, but it makes no sense in the order's state. */
  outcome: 'applied' | 'ignored';
  /** Events to publish because of this transition (ShippingRequested on PAID). */
  emit: ShippingRequested[];
  /** Why it was ignored, for the logs and the event history; null when applied. */
  note: string | null;
}

/** The one state each payment outcome applies to, and where it leads. */
const TRANSITIONS: Readonly<
  Record<PaymentOutcome['eventType'], { from: OrderStatus; to: OrderStatus }>
> = {
  PaymentProcessed: { from: 'PENDING', to: 'PAID' },
  PaymentFailed: { from: 'PENDING', to: 'PAYMENT_FAILED' },
  PaymentRefunded: { from: 'CANCELLATION_REQUESTED', to: 'REFUNDED' },
};

/**
 * Folds a payment outcome into an order. The caller records every event, so the
 * version goes up and `updatedAt` becomes the event's time whether it was applied or
 * ignored; an outcome that makes no sense in the current state (a payment for a
 * cancelled order) is ignored with a note, never thrown, so it cannot crash-loop a
 * partition.
 *
 * @throws {PoisonRecordError} when the event belongs to another order (a routing bug).
 *
 * @example
 * ```ts
 * const { order: next, emit } = applyEvent(order, paymentProcessed, clock);
 * // next.status === 'PAID', emit = [ShippingRequested]
 * ```
 */
export function applyEvent(
  order: Order,
  event: PaymentOutcome,
  clock: Clock,
): ApplyResult {
  if (event.data.orderId !== order.orderId) {
    throw new PoisonRecordError(
      `${event.eventType} ${event.eventId} is for order ${event.data.orderId}, not ${order.orderId}`,
    );
  }
  const recorded = {
    ...order,
    version: order.version + 1,
    updatedAt: event.occurredAt,
  };
  const transition = TRANSITIONS[event.eventType];
  if (order.status !== transition.from) {
    return {
      order: recorded,
      outcome: 'ignored',
      emit: [],
      note: `${event.eventType} ignored: order ${order.orderId} is ${order.status}, and only a ${transition.from} order takes it`,
    };
  }
  const next: Order = { ...recorded, status: transition.to };
  if (event.eventType === 'PaymentFailed') {
    next.statusReason = event.data.reason;
  }
  const emit =
    event.eventType === 'PaymentProcessed'
      ? [shippingRequestFor(order, event, clock)]
      : [];
  return { order: next, outcome: 'applied', emit, note: null };
}

/**
 * The ShippingRequested a payment causes for an order. Its id comes from the clock, so
 * a caller that derives ids from the payment event gets the same event every time.
 *
 * @example
 * ```ts
 * const shipping = shippingRequestFor(order, paymentProcessed, clock);
 * ```
 */
export function shippingRequestFor(
  order: Order,
  payment: PaymentProcessed,
  clock: Clock,
): ShippingRequested {
  return newEvent(
    'ShippingRequested',
    {
      orderId: order.orderId,
      customerId: order.customerId,
      shippingAddress: order.shippingAddress,
      items: order.items,
    },
    { correlationId: payment.correlationId, causationId: payment.eventId },
    clock,
  );
}
