/**
 * The operations on an order's REFUND item (docs/domain.md section 6): read it,
 * claim the order's one refund while its payment is CHARGED, mark it done.
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import {
  GetCommand,
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import type { Money } from '#domain/money.ts';
import { callStore, cancellationCodes, toStoreError } from '../dynamodb.ts';
import type { PaymentRepository } from '../payment-repository.ts';
import { PaymentStateError } from './errors.ts';
import { key, PAYMENT, type PaymentsTable, REFUND, Refund } from './items.ts';

/** {@link PaymentRepository.getRefund}: the REFUND item, read strongly consistent. */
export async function getRefund(
  { db, tableName }: PaymentsTable,
  orderId: string,
): Promise<Refund | undefined> {
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

/**
 * {@link PaymentRepository.claimRefund}: creates the CLAIMED REFUND item while the
 * PAYMENT item is CHARGED, in one transaction.
 */
export async function claimRefund(
  table: PaymentsTable,
  orderId: string,
  refundId: string,
  amount: Money,
  now: Date,
): Promise<'claimed' | 'already-refunded' | 'not-charged'> {
  const { db, tableName } = table;
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
      const existing = await getRefund(table, orderId);
      return existing?.status === 'CLAIMED' && existing.refundId === refundId
        ? 'claimed'
        : 'already-refunded';
    }
    if (payment === 'ConditionalCheckFailed') return 'not-charged';
    throw toStoreError(error, 'payments.claimRefund');
  }
}

/** {@link PaymentRepository.recordRefund}: the REFUND item CLAIMED to REFUNDED. */
export async function recordRefund(
  table: PaymentsTable,
  orderId: string,
  refundId: string,
  now: Date,
): Promise<Refund> {
  const { db, tableName } = table;
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
  const current = await getRefund(table, orderId);
  if (current?.status === 'REFUNDED' && current.refundId === refundId) {
    return current;
  }
  throw new PaymentStateError(
    `cannot record refund ${refundId} for order ${orderId}: refund is ${current ? `${current.status} (${current.refundId})` : 'not claimed'}`,
  );
}
