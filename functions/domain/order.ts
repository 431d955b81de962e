/**
 * Orders: state, the HTTP request that places one, and (to be completed) the pure fold
 * `applyEvent(order, event)` with the state machine of domain.md section 5.
 */
import { z } from 'zod';
import { CustomerId, OrderId, OrderItem, ShippingAddress } from './events.ts';
import { Money } from './money.ts';

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
