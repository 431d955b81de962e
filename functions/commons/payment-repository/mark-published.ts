/**
 * Noting that an outcome event was published: `publishedAt` on the decided PAYMENT
 * or REFUND item, so that a redelivery publishes again only what was not.
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { toStoreError } from '../dynamodb.ts';
import type { PaymentRepository } from '../payment-repository.ts';
import { PaymentStateError } from './errors.ts';
import { key, PAYMENT, type PaymentsTable, REFUND } from './items.ts';

/**
 * {@link PaymentRepository.markPublished}: sets `publishedAt` on a decided PAYMENT
 * or REFUND item, once.
 */
export async function markPublished(
  { db, tableName }: PaymentsTable,
  orderId: string,
  item: 'payment' | 'refund',
  now: Date,
): Promise<void> {
  const decided = item === 'payment' ? ['CHARGED', 'REJECTED'] : ['REFUNDED'];
  try {
    await db.send(
      new UpdateCommand({
        TableName: tableName,
        Key: key(orderId, item === 'payment' ? PAYMENT : REFUND),
        UpdateExpression: 'SET publishedAt = if_not_exists(publishedAt, :now)',
        ConditionExpression: `#status IN (${decided.map((_, i) => `:s${i}`).join(', ')})`,
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: {
          ':now': now.toISOString(),
          ...Object.fromEntries(decided.map((status, i) => [`:s${i}`, status])),
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
}
