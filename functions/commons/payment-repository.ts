/**
 * Payments in DynamoDB: one payment per order, ever, and one refund (docs/domain.md
 * section 6). Per order, `pk=ORDER#<orderId>` holds at most two items, each created
 * once by a conditional write:
 *
 * `sk=PAYMENT`, whose `status` moves only forward:
 * ```
 * (none) --claimCharge--> CLAIMED --recordOutcome--> CHARGED | REJECTED
 * (none) --startPayment--> REJECTED       (a rule rejection: no claim, no gateway)
 * (none) --voidUnpaid--> VOIDED            (an unpaid order was cancelled)
 * ```
 * `startPayment` is `claimCharge` or the rule rejection in one conditional write
 * that also returns the existing item when there is one, so a redelivered record
 * needs no read.
 * Whoever creates the item decides: after VOIDED no charge can be claimed, after a
 * claim no void can happen. A CLAIMED item without an outcome means the gateway call
 * was interrupted (timeout, crash): the redelivered record calls `claimCharge` with the
 * same deterministic paymentId (derive it from the orderId) and gets `'claimed'` again,
 * so it calls the gateway again with that paymentId as its idempotency key, and records
 * the outcome. A different paymentId gets `'already-charged'`: another attempt holds it.
 *
 * `sk=REFUND`, `status` CLAIMED --recordRefund--> REFUNDED, created only while the
 * PAYMENT item is CHARGED; retries work as for charges, by the same refundId.
 *
 * `publishedAt` (absent until set) on either item records that the outcome event was
 * published, so a redelivery after a crash between the outcome and the publish
 * publishes it again (with a deterministic eventId) and one after the publish does not.
 */
import {
  type AttributeValue,
  ConditionalCheckFailedException,
} from '@aws-sdk/client-dynamodb';
import {
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import * as z from 'zod';
import { PaymentFailureReason } from '#domain/events.ts';
import { TransientError } from '#domain/failures.ts';
import { Money } from '#domain/money.ts';
import { callStore, cancellationCodes, toStoreError } from './dynamodb.ts';

/** A payment cannot take the requested step from its current status. */
export class PaymentStateError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'PaymentStateError';
  }
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

/**
 * The order's charge is claimed but has no outcome yet, so it can be neither voided
 * nor refunded now. Transient: once the charge is decided, a retry knows what to do.
 */
export class ChargeInProgressError extends TransientError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'ChargeInProgressError';
  }
}

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

/** Where the payment function records charges, voids and refunds. */
export interface PaymentRepository {
  /**
   * Claims the order's one charge. `'claimed'`: go ahead and call the gateway (also
   * returned to a retry with the same paymentId while no outcome is recorded);
   * `'already-charged'`: a charge was claimed by another paymentId or already has an
   * outcome (CHARGED or REJECTED; read {@link PaymentRepository.getPayment});
   * `'voided'`: the order was cancelled first, no charge may happen.
   */
  claimCharge(
    orderId: string,
    paymentId: string,
    amount: Money,
    now: Date,
  ): Promise<'claimed' | 'already-charged' | 'voided'>;
  /**
   * Starts the order's one payment with one conditional write, and never reads:
   * when the PAYMENT item exists, the write's failure returns it. A claim that
   * meets its own earlier claim (same paymentId, no outcome) is `'claimed'` again,
   * as with {@link PaymentRepository.claimCharge}; a rejection that meets one is
   * `'claimed'` too, so that the caller records the outcome.
   */
  startPayment(
    orderId: string,
    paymentId: string,
    amount: Money,
    start: PaymentStart,
    now: Date,
  ): Promise<PaymentStarted>;
  /**
   * Records the gateway's answer for a CLAIMED payment; repeating the same outcome is
   * a no-op. Throws {@link PaymentStateError} if nothing is claimed or another outcome
   * is already recorded.
   */
  recordOutcome(
    orderId: string,
    outcome: ChargeOutcome,
    now: Date,
  ): Promise<Payment>;
  /** The order's PAYMENT item, read strongly consistent. */
  getPayment(orderId: string): Promise<Payment | undefined>;
  /**
   * For an unpaid order that was cancelled: records that no charge may happen later.
   * `'already-charged'`: a charge came first (CHARGED, refund it); `'already-voided'`:
   * no charge can happen any more (voided before, or the charge was REJECTED). Throws
   * {@link ChargeInProgressError} while a charge is CLAIMED without outcome, so the record
   * is retried once the outcome is known.
   */
  voidUnpaid(
    orderId: string,
    reason: string,
    now: Date,
  ): Promise<'voided' | 'already-charged' | 'already-voided'>;
  /**
   * Claims the order's one refund; only a CHARGED payment can be refunded
   * (`'not-charged'` otherwise). A retry with the same refundId before
   * {@link PaymentRepository.recordRefund} gets `'claimed'` again.
   */
  claimRefund(
    orderId: string,
    refundId: string,
    amount: Money,
    now: Date,
  ): Promise<'claimed' | 'already-refunded' | 'not-charged'>;
  /** Marks the claimed refund done; repeating it is a no-op. */
  recordRefund(orderId: string, refundId: string, now: Date): Promise<Refund>;
  /** The order's REFUND item, read strongly consistent. */
  getRefund(orderId: string): Promise<Refund | undefined>;
  /**
   * Notes that the outcome event of the payment (CHARGED or REJECTED) or of the
   * refund (REFUNDED) was published; the first time is kept. Throws
   * {@link PaymentStateError} when there is no outcome to publish.
   */
  markPublished(
    orderId: string,
    item: 'payment' | 'refund',
    now: Date,
  ): Promise<void>;
}

const PAYMENT = 'PAYMENT';
const REFUND = 'REFUND';

function key(orderId: string, sk: string) {
  return { pk: `ORDER#${orderId}`, sk };
}

/** A string attribute of the raw (not unmarshalled) item a failed condition returns. */
function rawString(
  item: Record<string, AttributeValue> | undefined,
  name: string,
): string | undefined {
  return item?.[name]?.S;
}

/**
 * The DynamoDB implementation of {@link PaymentRepository} on the Payments table.
 *
 * @example
 * ```ts
 * const payments = createPaymentRepository(db, config.paymentsTable);
 * const paymentId = deterministicUuid('payment', orderId);
 * if ((await payments.claimCharge(orderId, paymentId, total, now)) === 'claimed') {
 *   // call the gateway, then payments.recordOutcome(...)
 * }
 * ```
 */
export function createPaymentRepository(
  db: DynamoDBDocumentClient,
  tableName: string,
): PaymentRepository {
  async function getPayment(orderId: string): Promise<Payment | undefined> {
    const { Item } = await callStore('payments.get', () =>
      db.send(
        new GetCommand({
          TableName: tableName,
          Key: key(orderId, PAYMENT),
          ConsistentRead: true,
        }),
      ),
    );
    return Item ? Payment.parse(Item) : undefined;
  }

  async function getRefund(orderId: string): Promise<Refund | undefined> {
    const { Item } = await callStore('payments.getRefund', () =>
      db.send(
        new GetCommand({
          TableName: tableName,
          Key: key(orderId, REFUND),
          ConsistentRead: true,
        }),
      ),
    );
    return Item ? Refund.parse(Item) : undefined;
  }

  /** Creates the PAYMENT item unless one exists; returns the existing one's raw item. */
  async function createPaymentItem(
    item: Record<string, unknown>,
    operation: string,
  ): Promise<
    | { created: true }
    | {
        created: false;
        status?: string;
        paymentId?: string;
        existing?: Record<string, unknown>;
      }
  > {
    try {
      await db.send(
        new PutCommand({
          TableName: tableName,
          Item: item,
          ConditionExpression: 'attribute_not_exists(pk)',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return { created: true };
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) {
        return {
          created: false,
          status: rawString(error.Item, 'status'),
          paymentId: rawString(error.Item, 'paymentId'),
          ...(error.Item ? { existing: unmarshall(error.Item) } : {}),
        };
      }
      throw toStoreError(error, operation);
    }
  }

  return {
    async claimCharge(orderId, paymentId, amount, now) {
      const at = now.toISOString();
      const result = await createPaymentItem(
        {
          ...key(orderId, PAYMENT),
          orderId,
          status: 'CLAIMED',
          paymentId,
          amount,
          claimedAt: at,
          updatedAt: at,
        },
        'payments.claimCharge',
      );
      if (result.created) return 'claimed';
      if (result.status === 'VOIDED') return 'voided';
      // An interrupted attempt of the same payment may go on; anything else is decided.
      if (result.status === 'CLAIMED' && result.paymentId === paymentId) {
        return 'claimed';
      }
      return 'already-charged';
    },

    async startPayment(orderId, paymentId, amount, start, now) {
      const at = now.toISOString();
      const item = {
        ...key(orderId, PAYMENT),
        orderId,
        paymentId,
        amount,
        claimedAt: at,
        updatedAt: at,
        ...(start.status === 'CLAIMED'
          ? { status: 'CLAIMED' }
          : {
              status: 'REJECTED',
              reason: start.reason,
              detail: start.detail,
              rejectedAt: at,
            }),
      };
      const result = await createPaymentItem(item, 'payments.startPayment');
      if (result.created) {
        return start.status === 'CLAIMED'
          ? { step: 'claimed' }
          : { step: 'decided', payment: Payment.parse(item) };
      }
      if (result.status === 'VOIDED') return { step: 'voided' };
      if (result.status === 'CLAIMED' && result.paymentId === paymentId) {
        return { step: 'claimed' };
      }
      return { step: 'decided', payment: Payment.parse(result.existing) };
    },

    async recordOutcome(orderId, outcome, now) {
      const at = now.toISOString();
      const fields =
        outcome.status === 'CHARGED'
          ? { transactionId: outcome.transactionId, chargedAt: at }
          : {
              reason: outcome.reason,
              detail: outcome.detail,
              rejectedAt: at,
            };
      const assignments = Object.keys(fields).map(
        (name) => `#${name} = :${name}`,
      );
      try {
        const { Attributes } = await db.send(
          new UpdateCommand({
            TableName: tableName,
            Key: key(orderId, PAYMENT),
            UpdateExpression: `SET #status = :status, #updatedAt = :updatedAt, ${assignments.join(', ')}`,
            ConditionExpression: '#status = :claimed',
            ExpressionAttributeNames: Object.fromEntries(
              ['status', 'updatedAt', ...Object.keys(fields)].map((name) => [
                `#${name}`,
                name,
              ]),
            ),
            ExpressionAttributeValues: {
              ':status': outcome.status,
              ':updatedAt': at,
              ':claimed': 'CLAIMED',
              ...Object.fromEntries(
                Object.entries(fields).map(([name, value]) => [
                  `:${name}`,
                  value,
                ]),
              ),
            },
            ReturnValues: 'ALL_NEW',
          }),
        );
        return Payment.parse(Attributes);
      } catch (error) {
        if (!(error instanceof ConditionalCheckFailedException)) {
          throw toStoreError(error, 'payments.recordOutcome');
        }
      }
      // Not CLAIMED: fine if this very outcome was recorded before (a retry).
      const current = await getPayment(orderId);
      const same =
        (current?.status === 'CHARGED' &&
          outcome.status === 'CHARGED' &&
          current.transactionId === outcome.transactionId) ||
        (current?.status === 'REJECTED' &&
          outcome.status === 'REJECTED' &&
          current.reason === outcome.reason);
      if (current && same) return current;
      throw new PaymentStateError(
        `cannot record ${outcome.status} for order ${orderId}: payment is ${current?.status ?? 'not claimed'}`,
      );
    },

    getPayment,

    async voidUnpaid(orderId, reason, now) {
      const at = now.toISOString();
      const result = await createPaymentItem(
        {
          ...key(orderId, PAYMENT),
          orderId,
          status: 'VOIDED',
          voidReason: reason,
          voidedAt: at,
          updatedAt: at,
        },
        'payments.voidUnpaid',
      );
      if (result.created) return 'voided';
      switch (result.status) {
        case 'CHARGED':
          return 'already-charged';
        case 'VOIDED':
        case 'REJECTED':
          return 'already-voided';
        default:
          // CLAIMED: the gateway may be charging right now; decide once it has answered.
          throw new ChargeInProgressError(
            `cannot void order ${orderId} yet: a charge is in progress`,
          );
      }
    },

    async claimRefund(orderId, refundId, amount, now) {
      const at = now.toISOString();
      try {
        await db.send(
          new TransactWriteCommand({
            TransactItems: [
              {
                ConditionCheck: {
                  TableName: tableName,
                  Key: key(orderId, PAYMENT),
                  ConditionExpression: '#status = :charged',
                  ExpressionAttributeNames: { '#status': 'status' },
                  ExpressionAttributeValues: { ':charged': 'CHARGED' },
                },
              },
              {
                Put: {
                  TableName: tableName,
                  Item: {
                    ...key(orderId, REFUND),
                    orderId,
                    status: 'CLAIMED',
                    refundId,
                    amount,
                    claimedAt: at,
                    refundedAt: null,
                    updatedAt: at,
                  },
                  ConditionExpression: 'attribute_not_exists(pk)',
                },
              },
            ],
          }),
        );
        return 'claimed';
      } catch (error) {
        const [payment, refund] = cancellationCodes(error);
        if (refund === 'ConditionalCheckFailed') {
          const existing = await getRefund(orderId);
          return existing?.status === 'CLAIMED' &&
            existing.refundId === refundId
            ? 'claimed'
            : 'already-refunded';
        }
        if (payment === 'ConditionalCheckFailed') return 'not-charged';
        throw toStoreError(error, 'payments.claimRefund');
      }
    },

    async recordRefund(orderId, refundId, now) {
      const at = now.toISOString();
      try {
        const { Attributes } = await db.send(
          new UpdateCommand({
            TableName: tableName,
            Key: key(orderId, REFUND),
            UpdateExpression:
              'SET #status = :refunded, refundedAt = :at, updatedAt = :at',
            ConditionExpression: '#status = :claimed AND refundId = :refundId',
            ExpressionAttributeNames: { '#status': 'status' },
            ExpressionAttributeValues: {
              ':refunded': 'REFUNDED',
              ':claimed': 'CLAIMED',
              ':refundId': refundId,
              ':at': at,
            },
            ReturnValues: 'ALL_NEW',
          }),
        );
        return Refund.parse(Attributes);
      } catch (error) {
        if (!(error instanceof ConditionalCheckFailedException)) {
          throw toStoreError(error, 'payments.recordRefund');
        }
      }
      const current = await getRefund(orderId);
      if (current?.status === 'REFUNDED' && current.refundId === refundId) {
        return current;
      }
      throw new PaymentStateError(
        `cannot record refund ${refundId} for order ${orderId}: refund is ${current ? `${current.status} (${current.refundId})` : 'not claimed'}`,
      );
    },

    getRefund,

    async markPublished(orderId, item, now) {
      const decided =
        item === 'payment' ? ['CHARGED', 'REJECTED'] : ['REFUNDED'];
      try {
        await db.send(
          new UpdateCommand({
            TableName: tableName,
            Key: key(orderId, item === 'payment' ? PAYMENT : REFUND),
            UpdateExpression:
              'SET publishedAt = if_not_exists(publishedAt, :now)',
            ConditionExpression: `#status IN (${decided.map((_, i) => `:s${i}`).join(', ')})`,
            ExpressionAttributeNames: { '#status': 'status' },
            ExpressionAttributeValues: {
              ':now': now.toISOString(),
              ...Object.fromEntries(
                decided.map((status, i) => [`:s${i}`, status]),
              ),
            },
          }),
        );
      } catch (error) {
        if (error instanceof ConditionalCheckFailedException) {
          throw new PaymentStateError(
            `order ${orderId} has no ${item} outcome to mark as published`,
            { cause: error },
          );
        }
        throw toStoreError(error, 'payments.markPublished');
      }
    },
  };
}
