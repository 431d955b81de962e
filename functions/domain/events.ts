/**
 * The events contract: topics, headers, the envelope and every event type. This module
 * is the one source of these types; producers validate before sending and consumers on
 * receipt, and `npm run schemas` exports JSON Schema from it for other languages.
 */
import * as z from 'zod';
import { Money, sum } from './money.ts';

/** Versioned topic names: a breaking schema change makes a `.v2`, never an edit of `.v1`. */
export const TOPICS = {
  orderPlaced: 'order.placed.v1',
  orderCancelled: 'order.cancelled.v1',
  paymentProcessed: 'payment.processed.v1',
  paymentFailed: 'payment.failed.v1',
  paymentRefunded: 'payment.refunded.v1',
  paymentOrphaned: 'payment.orphaned.v1',
  shippingRequested: 'shipping.requested.v1',
} as const;
export type Topic = (typeof TOPICS)[keyof typeof TOPICS];

/** The dead-letter topic of a consumed topic: `<topic>.dead-letter`. */
export function deadLetterTopic(topic: string): string {
  return `${topic}.dead-letter`;
}

/** The topics some function consumes; each has a dead-letter topic. */
export const CONSUMED_TOPICS = [
  TOPICS.orderPlaced,
  TOPICS.orderCancelled,
  TOPICS.paymentProcessed,
  TOPICS.paymentFailed,
  TOPICS.paymentRefunded,
  TOPICS.paymentOrphaned,
] as const;

/** Header names on every record (values are UTF-8). */
export const HEADERS = {
  eventType: 'event-type',
  correlationId: 'correlation-id',
  contentType: 'content-type',
  /** How many times the dead-letter reprocessor has redriven this record (absent: 0). */
  redriveAttempt: 'redrive-attempt',
} as const;

export const CONTENT_TYPE_JSON = 'application/json';

/** 1-64 of `[A-Za-z0-9_-]`: client-chosen or generated. */
export const OrderId = z
  .string()
  .regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be 1-64 of A-Z, a-z, 0-9, _ and -');
export const CustomerId = z.string().min(1).max(128);
export const ProductId = z.string().min(1).max(128);

/**
 * The 249 codes ISO 3166-1 assigns. Not countries to ship to: the exceptionally
 * reserved (EU, UK, UN), the user-assigned (AA, QM-QZ, XA-XZ such as XK, ZZ) and the
 * withdrawn (SU, YU). A fixed list rather than ICU's region names, which know all of
 * those and throw on anything that is not two letters.
 */
const ISO_3166_ALPHA_2 = (
  'AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ ' +
  'BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS ' +
  'BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN ' +
  'CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE ' +
  'EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF ' +
  'GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM ' +
  'HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM ' +
  'JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC ' +
  'LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ' +
  'ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA ' +
  'NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG ' +
  'PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW ' +
  'SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ' +
  'ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO ' +
  'TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI ' +
  'VN VU WF WS YE YT ZA ZM ZW'
).split(' ') as [string, ...string[]];

/** An assigned ISO-3166 alpha-2 country code, e.g. `DE`. */
export const CountryCode = z.enum(ISO_3166_ALPHA_2, {
  error: 'must be an assigned ISO-3166 alpha-2 country code, e.g. DE',
});

export const ShippingAddress = z.object({
  street: z.string().min(1).max(200),
  city: z.string().min(1).max(100),
  postalCode: z.string().min(1).max(20),
  country: CountryCode,
});
export type ShippingAddress = z.infer<typeof ShippingAddress>;

export const OrderItem = z.object({
  productId: ProductId,
  quantity: z.number().int().min(1).max(10_000),
  unitPrice: Money,
});
export type OrderItem = z.infer<typeof OrderItem>;

/** Why a payment failed: business outcomes, not errors. */
export const PaymentFailureReason = z.enum([
  'AMOUNT_LIMIT_EXCEEDED',
  'FRAUD_SUSPECTED',
  'GATEWAY_DECLINED',
]);
export type PaymentFailureReason = z.infer<typeof PaymentFailureReason>;

/** The total of some items: the sum of quantity x unit price, in their one currency. */
export function itemsTotal(
  currency: string,
  items: readonly OrderItem[],
): Money {
  return sum(
    currency,
    items.map((item) => ({
      amount: item.unitPrice.amount * item.quantity,
      currency: item.unitPrice.currency,
    })),
  );
}

export const OrderPlacedData = z
  .object({
    orderId: OrderId,
    customerId: CustomerId,
    items: z.array(OrderItem).min(1).max(100),
    total: Money,
    shippingAddress: ShippingAddress,
  })
  .superRefine((data, ctx) => {
    try {
      const expected = itemsTotal(data.total.currency, data.items);
      if (expected.amount !== data.total.amount) {
        ctx.addIssue({
          code: 'custom',
          path: ['total', 'amount'],
          message: `must equal the sum of the items (${expected.amount})`,
        });
      }
    } catch (error) {
      ctx.addIssue({
        code: 'custom',
        path: ['items'],
        message: (error as Error).message,
      });
    }
  });

export const OrderCancelledData = z.object({
  orderId: OrderId,
  customerId: CustomerId,
  reason: z.string().min(1).max(500),
  total: Money,
});

export const PaymentProcessedData = z.object({
  orderId: OrderId,
  paymentId: z.string().min(1),
  transactionId: z.string().min(1),
  amount: Money,
});

export const PaymentFailedData = z.object({
  orderId: OrderId,
  paymentId: z.string().min(1),
  reason: PaymentFailureReason,
  detail: z.string(),
});

export const PaymentRefundedData = z.object({
  orderId: OrderId,
  paymentId: z.string().min(1),
  refundId: z.string().min(1),
  amount: Money,
});

/**
 * A charge whose order does not exist (docs/domain.md section 6): the payment
 * function refunds it. The fields repeat the PaymentProcessed that was charged.
 */
export const PaymentOrphanedData = z.object({
  orderId: OrderId,
  paymentId: z.string().min(1),
  transactionId: z.string().min(1),
  amount: Money,
});

export const ShippingRequestedData = z.object({
  orderId: OrderId,
  customerId: CustomerId,
  shippingAddress: ShippingAddress,
  items: z.array(OrderItem).min(1),
});

function envelope<T extends string, D extends z.ZodType>(
  eventType: T,
  data: D,
) {
  return z.object({
    eventId: z.uuid(),
    eventType: z.literal(eventType),
    version: z.literal(1),
    occurredAt: z.iso.datetime(),
    correlationId: z.string().min(1).max(256),
    causationId: z.uuid().nullable(),
    data,
  });
}

export const OrderPlaced = envelope('OrderPlaced', OrderPlacedData);
export const OrderCancelled = envelope('OrderCancelled', OrderCancelledData);
export const PaymentProcessed = envelope(
  'PaymentProcessed',
  PaymentProcessedData,
);
export const PaymentFailed = envelope('PaymentFailed', PaymentFailedData);
export const PaymentRefunded = envelope('PaymentRefunded', PaymentRefundedData);
export const PaymentOrphaned = envelope('PaymentOrphaned', PaymentOrphanedData);
export const ShippingRequested = envelope(
  'ShippingRequested',
  ShippingRequestedData,
);

export type OrderPlaced = z.infer<typeof OrderPlaced>;
export type OrderCancelled = z.infer<typeof OrderCancelled>;
export type PaymentProcessed = z.infer<typeof PaymentProcessed>;
export type PaymentFailed = z.infer<typeof PaymentFailed>;
export type PaymentRefunded = z.infer<typeof PaymentRefunded>;
export type PaymentOrphaned = z.infer<typeof PaymentOrphaned>;
export type ShippingRequested = z.infer<typeof ShippingRequested>;

/** Any event of the system, discriminated by `eventType`. */
export const DomainEvent = z.discriminatedUnion('eventType', [
  OrderPlaced,
  OrderCancelled,
  PaymentProcessed,
  PaymentFailed,
  PaymentRefunded,
  PaymentOrphaned,
  ShippingRequested,
]);
export type DomainEvent = z.infer<typeof DomainEvent>;
export type EventType = DomainEvent['eventType'];

/** The events the payment function consumes. */
export const PaymentInput = z.discriminatedUnion('eventType', [
  OrderPlaced,
  OrderCancelled,
  PaymentOrphaned,
]);
export type PaymentInput = z.infer<typeof PaymentInput>;

/** The events the order function folds from Kafka. */
export const PaymentOutcome = z.discriminatedUnion('eventType', [
  PaymentProcessed,
  PaymentFailed,
  PaymentRefunded,
]);
export type PaymentOutcome = z.infer<typeof PaymentOutcome>;

/** The topic each event type is published to. */
export const TOPIC_OF: Readonly<Record<EventType, Topic>> = {
  OrderPlaced: TOPICS.orderPlaced,
  OrderCancelled: TOPICS.orderCancelled,
  PaymentProcessed: TOPICS.paymentProcessed,
  PaymentFailed: TOPICS.paymentFailed,
  PaymentRefunded: TOPICS.paymentRefunded,
  PaymentOrphaned: TOPICS.paymentOrphaned,
  ShippingRequested: TOPICS.shippingRequested,
};

/** What an event is caused by: the request's correlation id and the causing event. */
export interface Causation {
  readonly correlationId: string;
  readonly causationId: string | null;
}

/** Where time and identifiers come from, so the domain stays pure and testable. */
export interface Clock {
  now(): Date;
  uuid(): string;
}

/**
 * Builds an event of the given type in the envelope and validates it, so a producer can
 * never send an event that breaks the contract.
 *
 * @example
 * ```ts
 * const event = newEvent('PaymentFailed', data, { correlationId, causationId }, clock);
 * ```
 */
export function newEvent<T extends EventType>(
  eventType: T,
  data: Extract<DomainEvent, { eventType: T }>['data'],
  causation: Causation,
  clock: Clock,
): Extract<DomainEvent, { eventType: T }> {
  return DomainEvent.parse({
    eventId: clock.uuid(),
    eventType,
    version: 1,
    occurredAt: clock.now().toISOString(),
    correlationId: causation.correlationId,
    causationId: causation.causationId,
    data,
  }) as Extract<DomainEvent, { eventType: T }>;
}
