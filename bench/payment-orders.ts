/**
 * The orders `npm run bench:payment` places (./payment.ts): valid OrderPlaced.v1
 * events of distinct orders, and what the payment function must decide for each.
 */
import { type Clock, newEvent, type OrderPlaced } from '#domain/events.ts';
import {
  DEFAULT_GATEWAY_SETTINGS,
  DEFAULT_PAYMENT_RULES,
  evaluatePayment,
} from '#domain/payment.ts';

const CURRENCIES = ['EUR', 'USD', 'GBP', 'CHF', 'SEK'] as const;

/**
 * Order `i` of a run: mostly charged, some above the limit or the fraud threshold,
 * some suspicious or declined by the simulated gateway, in several currencies. `run`
 * makes the order ids of one bench run its own.
 *
 * @example
 * ```ts
 * const event = orderPlaced(0, 'a1b2c3d4', { now: () => new Date(), uuid: randomUUID });
 * ```
 */
export function orderPlaced(i: number, run: string, clock: Clock): OrderPlaced {
  const prefix =
    i % 40 === 3
      ? DEFAULT_PAYMENT_RULES.suspiciousOrderIdPrefix
      : i % 25 === 7
        ? DEFAULT_GATEWAY_SETTINGS.declineOrderIdPrefix
        : 'ord';
  const major =
    i % 50 === 1
      ? 12_000 + (i % 7) * 1_000
      : i % 20 === 0
        ? 1_200 + (i % 13) * 300
        : 5 + ((i * 37) % 900);
  const currency = CURRENCIES[i % CURRENCIES.length] ?? 'EUR';
  const lines = 1 + (i % 3);
  const unit = Math.round((major * 100) / lines) + (i % 100);
  const items = Array.from({ length: lines }, (_, n) => ({
    productId: `sku-${(i * 7 + n) % 500}`,
    quantity: 1,
    unitPrice: { amount: unit, currency },
  }));
  return newEvent(
    'OrderPlaced',
    {
      orderId: `${prefix}-${run}-${i}`,
      customerId: `customer-${i % 997}`,
      items,
      total: { amount: unit * lines, currency },
      shippingAddress: {
        street: `${1 + (i % 200)} Main Street`,
        city: 'Springfield',
        postalCode: String(10_000 + (i % 89_999)),
        country: (['DE', 'FR', 'US', 'GB', 'CH'] as const)[i % 5] ?? 'DE',
      },
    },
    { correlationId: `bench-${run}-${i}`, causationId: null },
    clock,
  );
}

/**
 * What the payment function decides for an order with the default rules and the
 * simulated gateway's defaults: CHARGED or REJECTED.
 *
 * @example
 * ```ts
 * expectedStatus(orderPlaced(1, run, clock)); // 'REJECTED' (above the fraud threshold)
 * ```
 */
export function expectedStatus(event: OrderPlaced): 'CHARGED' | 'REJECTED' {
  if (
    evaluatePayment(event.data, DEFAULT_PAYMENT_RULES).decision === 'reject'
  ) {
    return 'REJECTED';
  }
  return event.data.orderId.startsWith(
    DEFAULT_GATEWAY_SETTINGS.declineOrderIdPrefix,
  )
    ? 'REJECTED'
    : 'CHARGED';
}
