/**
 * The items of the Payments table: per order, `pk=ORDER#<orderId>` holds the
 * PAYMENT item and the REFUND item (see ../payment-repository.ts); their schemas,
 * keys, and the shapes the operations take and give.
 */
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import * as z from 'zod';
import { PaymentFailureReason } from '#domain/events.ts';
import { Money } from '#domain/money.ts';
import type { PaymentRepository } from '../payment-repository.ts';

/** The Payments table, as every operation of the repository reaches it. */
export interface PaymentsTable {
  readonly db: DynamoDBDocumentClient;
  readonly tableName: string;
}

const Claimed = z.object({
  orderId: z.string(),
  status: z.literal('CLAIMED'),
  paymentId: z.string(),
  amount: Money,
  claimedAt: z.string(),
  updatedAt: z.string(),
  publishedAt: z.string().nullable().default(null),
});
const Charged = Claimed.extend({
  status: z.literal('CHARGED'),
  transactionId: z.string(),
  chargedAt: z.string(),
});
const Rejected = Claimed.extend({
  status: z.literal('REJECTED'),
  reason: PaymentFailureReason,
  detail: z.string(),
  rejectedAt: z.string(),
});
const Voided = z.object({
  orderId: z.string(),
  status: z.literal('VOIDED'),
  voidReason: z.string(),
  voidedAt: z.string(),
  updatedAt: z.string(),
  publishedAt: z.string().nullable().default(null),
});

/** The PAYMENT item of an order, by status (see the module comment). */
export const Payment = z.discriminatedUnion('status', [
  Claimed,
  Charged,
  Rejected,
  Voided,
]);
export type Payment = z.infer<typeof Payment>;
/** CLAIMED, then CHARGED or REJECTED; or VOIDED. */
export type PaymentStatus = Payment['status'];

/** The REFUND item of an order. */
export const Refund = z.object({
  orderId: z.string(),
  status: z.enum(['CLAIMED', 'REFUNDED']),
  refundId: z.string(),
  amount: Money,
  claimedAt: z.string(),
  refundedAt: z.string().nullable(),
  updatedAt: z.string(),
  /** When the PaymentRefunded event was published (null: not yet). */
  publishedAt: z.string().nullable().default(null),
});
export type Refund = z.infer<typeof Refund>;

/** What the gateway said about a claimed charge. */
export type ChargeOutcome =
  | { status: 'CHARGED'; transactionId: string }
  | { status: 'REJECTED'; reason: PaymentFailureReason; detail: string };

/**
 * How the payment of an order starts: `charge` claims it for the gateway;
 * `REJECTED` records a rule rejection at once, no claim needed (no gateway call).
 */
export type PaymentStart =
  | { status: 'CLAIMED' }
  | { status: 'REJECTED'; reason: PaymentFailureReason; detail: string };

/** What stands once {@link PaymentRepository.startPayment} has written (or not). */
export type PaymentStarted =
  /** Claimed by this paymentId with no outcome yet: decide it, then record it. */
  | { step: 'claimed' }
  /** The order was cancelled first: no charge may happen. */
  | { step: 'voided' }
  /** The PAYMENT item as it stands: the rejection just recorded, or an earlier one. */
  | { step: 'decided'; payment: Payment };

/** The sort key of the PAYMENT item. */
export const PAYMENT = 'PAYMENT';
/** The sort key of the REFUND item. */
export const REFUND = 'REFUND';

/** The key of an item of the order. */
export function key(orderId: string, sk: string) {
  return { pk: `ORDER#${orderId}`, sk };
}

/** A string attribute of the raw (not unmarshalled) item a failed condition returns. */
export function rawString(
  item: Record<string, AttributeValue> | undefined,
  name: string,
): string | undefined {
  return item?.[name]?.S;
}
