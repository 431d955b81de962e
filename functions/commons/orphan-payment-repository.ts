/**
 * Payment outcomes whose order does not exist (docs/domain.md section 5), kept by the
 * order function in the Orders table beside the orders, under their own partition
 * `pk=ORPHAN#<orderId>`, `sk=PAYMENT`, so no order query ever sees them. One item per
 * order, created once by a conditional write:
 * ```
 * (none) --PaymentProcessed--> CHARGED --PaymentRefunded--> REFUNDED
 * (none) --PaymentFailed-----> REJECTED
 * ```
 * `compensationPublishedAt` records that the PaymentOrphaned asking for the refund
 * was published, so a redelivered PaymentProcessed publishes it again only if that
 * publish was lost (with the same eventId), and nothing once it was sent.
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import {
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import * as z from 'zod';
import {
  PaymentFailed,
  PaymentProcessed,
  PaymentRefunded,
} from '#domain/events.ts';
import { TransientError } from '#domain/failures.ts';
import { callStore, toStoreError } from './dynamodb.ts';

/** A payment outcome for an order that does not exist, as stored. */
export const OrphanPayment = z.object({
  orderId: z.string(),
  status: z.enum(['CHARGED', 'REJECTED', 'REFUNDED']),
  /** The PaymentProcessed or PaymentFailed that found no order. */
  outcome: z.discriminatedUnion('eventType', [PaymentProcessed, PaymentFailed]),
  /** The PaymentRefunded that closed a CHARGED orphan (null: not yet). */
  refund: PaymentRefunded.nullable().default(null),
  detectedAt: z.string(),
  updatedAt: z.string(),
  /** When the PaymentOrphaned asking for the refund was published (null: not yet). */
  compensationPublishedAt: z.string().nullable().default(null),
});
export type OrphanPayment = z.infer<typeof OrphanPayment>;

/** Where the order function keeps payment outcomes that found no order. */
export interface OrphanPaymentRepository {
  /**
   * Records the outcome once per order. `created: false` returns what was stored
   * before: the same outcome when the record is a redelivery, or another one (the
   * caller decides what that means).
   */
  record(
    outcome: PaymentProcessed | PaymentFailed,
    now: Date,
  ): Promise<{ created: boolean; orphan: OrphanPayment }>;
  /** The orphan record of an order, read strongly consistent. */
  get(orderId: string): Promise<OrphanPayment | undefined>;
  /** Notes that the PaymentOrphaned was published; the first time is kept. */
  markCompensationPublished(orderId: string, now: Date): Promise<void>;
  /**
   * Closes a CHARGED orphan with its refund. `'duplicate'` when this refund closed
   * it before; `'not-charged'` when there is no CHARGED orphan for the order (no
   * record, a rejected payment, or another refund).
   */
  recordRefund(
    refunded: PaymentRefunded,
    now: Date,
  ): Promise<'recorded' | 'duplicate' | 'not-charged'>;
}

function key(orderId: string) {
  return { pk: `ORPHAN#${orderId}`, sk: 'PAYMENT' };
}

/** The table the operations below work on. */
interface OrphanTable {
  readonly db: DynamoDBDocumentClient;
  readonly tableName: string;
}

/**
 * The DynamoDB implementation of {@link OrphanPaymentRepository} on the Orders table.
 *
 * @example
 * ```ts
 * const orphans = createOrphanPaymentRepository(db, config.ordersTable);
 * const { created, orphan } = await orphans.record(paymentProcessed, new Date());
 * ```
 */
export function createOrphanPaymentRepository(
  db: DynamoDBDocumentClient,
  tableName: string,
): OrphanPaymentRepository {
  const table: OrphanTable = { db, tableName };
  return {
    get: (orderId) => getOrphan(table, orderId),
    record: (outcome, now) => recordOrphan(table, outcome, now),
    markCompensationPublished: (orderId, now) =>
      markCompensationPublished(table, orderId, now),
    recordRefund: (refunded, now) => recordRefund(table, refunded, now),
  };
}

/** {@link OrphanPaymentRepository.get}. */
async function getOrphan(
  { db, tableName }: OrphanTable,
  orderId: string,
): Promise<OrphanPayment | undefined> {
  const { Item } = await callStore('orphans.get', () =>
    db.send(
      new GetCommand({
        TableName: tableName,
        Key: key(orderId),
        ConsistentRead: true,
      }),
    ),
  );
  return Item ? OrphanPayment.parse(Item) : undefined;
}

/** {@link OrphanPaymentRepository.record}. */
async function recordOrphan(
  table: OrphanTable,
  outcome: PaymentProcessed | PaymentFailed,
  now: Date,
): Promise<{ created: boolean; orphan: OrphanPayment }> {
  const { db, tableName } = table;
  const at = now.toISOString();
  const orphan: OrphanPayment = {
    orderId: outcome.data.orderId,
    status: outcome.eventType === 'PaymentProcessed' ? 'CHARGED' : 'REJECTED',
    outcome,
    refund: null,
    detectedAt: at,
    updatedAt: at,
    compensationPublishedAt: null,
  };
  try {
    await db.send(
      new PutCommand({
        TableName: tableName,
        // compensationPublishedAt stays absent (not NULL) until set, so that
        // if_not_exists in markCompensationPublished can set it.
        Item: {
          ...key(orphan.orderId),
          orderId: orphan.orderId,
          status: orphan.status,
          outcome: orphan.outcome,
          detectedAt: at,
          updatedAt: at,
        },
        ConditionExpression: 'attribute_not_exists(pk)',
      }),
    );
    return { created: true, orphan };
  } catch (error) {
    if (!(error instanceof ConditionalCheckFailedException)) {
      throw toStoreError(error, 'orphans.record');
    }
  }
  const stored = await getOrphan(table, orphan.orderId);
  if (!stored) {
    // Nothing deletes these items; a retry will find it or create it.
    throw new TransientError(
      `orphan ${orphan.orderId} was neither created nor found`,
    );
  }
  return { created: false, orphan: stored };
}

/** {@link OrphanPaymentRepository.markCompensationPublished}. */
async function markCompensationPublished(
  { db, tableName }: OrphanTable,
  orderId: string,
  now: Date,
): Promise<void> {
  await callStore('orphans.markCompensationPublished', () =>
    db.send(
      new UpdateCommand({
        TableName: tableName,
        Key: key(orderId),
        UpdateExpression:
          'SET compensationPublishedAt = if_not_exists(compensationPublishedAt, :now), updatedAt = :now',
        ConditionExpression: 'attribute_exists(pk)',
        ExpressionAttributeValues: { ':now': now.toISOString() },
      }),
    ),
  );
}

/** {@link OrphanPaymentRepository.recordRefund}. */
async function recordRefund(
  table: OrphanTable,
  refunded: PaymentRefunded,
  now: Date,
): Promise<'recorded' | 'duplicate' | 'not-charged'> {
  const { db, tableName } = table;
  const orderId = refunded.data.orderId;
  try {
    await db.send(
      new UpdateCommand({
        TableName: tableName,
        Key: key(orderId),
        UpdateExpression:
          'SET #status = :refunded, refund = :refund, updatedAt = :now',
        ConditionExpression: '#status = :charged',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: {
          ':refunded': 'REFUNDED',
          ':charged': 'CHARGED',
          ':refund': refunded,
          ':now': now.toISOString(),
        },
      }),
    );
    return 'recorded';
  } catch (error) {
    if (!(error instanceof ConditionalCheckFailedException)) {
      throw toStoreError(error, 'orphans.recordRefund');
    }
  }
  const stored = await getOrphan(table, orderId);
  return stored?.status === 'REFUNDED' &&
    stored.refund?.eventId === refunded.eventId
    ? 'duplicate'
    : 'not-charged';
}
