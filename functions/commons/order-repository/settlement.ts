/**
 * Settling an API write whose outcome the API did not learn (docs/outbox.md): the
 * API fences it, and the relay voids it if it landed, so a 503 never leaves an
 * order behind.
 */
import { TransactWriteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { cancellationCodes, toStoreError } from '../dynamodb.ts';
import type { OrderRepository, WriteOptions } from '../order-repository.ts';
import { OrderVersionConflictError } from './errors.ts';
import {
  APPLIED_PREFIX,
  eventSortKey,
  type OrdersTable,
  partitionKey,
  SNAPSHOT,
} from './items.ts';

/** {@link OrderRepository.fence}: marks the guard of a write given up on. */
export async function fence(
  { db, tableName }: OrdersTable,
  orderId: string,
  eventId: string,
  options: WriteOptions = {},
): Promise<'blocked' | 'marked'> {
  try {
    const { Attributes } = await db.send(
      new UpdateCommand({
        TableName: tableName,
        Key: {
          pk: partitionKey(orderId),
          sk: `${APPLIED_PREFIX}${eventId}`,
        },
        UpdateExpression: 'SET fenced = :yes, eventId = :eventId',
        ExpressionAttributeValues: { ':yes': true, ':eventId': eventId },
        ReturnValues: 'ALL_OLD',
      }),
      { abortSignal: options.signal },
    );
    return Attributes ? 'marked' : 'blocked';
  } catch (error) {
    throw toStoreError(error, 'orders.fence');
  }
}

/**
 * {@link OrderRepository.voidWrite}: undoes a fenced write, the guard kept, in one
 * transaction.
 */
export async function voidWrite(
  { db, tableName }: OrdersTable,
  orderId: string,
  version: number,
  eventId: string,
  previous: Record<string, unknown> | undefined,
): Promise<'voided' | 'stands'> {
  const pk = partitionKey(orderId);
  const snapshotCondition = {
    ConditionExpression: 'version = :version',
    ExpressionAttributeValues: { ':version': version },
  };
  try {
    await db.send(
      new TransactWriteCommand({
        TransactItems: [
          {
            ConditionCheck: {
              TableName: tableName,
              Key: { pk, sk: `${APPLIED_PREFIX}${eventId}` },
              ConditionExpression: 'fenced = :yes',
              ExpressionAttributeValues: { ':yes': true },
            },
          },
          {
            Delete: {
              TableName: tableName,
              Key: { pk, sk: eventSortKey(version) },
              ConditionExpression: 'eventId = :eventId',
              ExpressionAttributeValues: { ':eventId': eventId },
            },
          },
          previous
            ? {
                Put: {
                  TableName: tableName,
                  Item: { ...previous, pk, sk: SNAPSHOT },
                  ...snapshotCondition,
                },
              }
            : {
                Delete: {
                  TableName: tableName,
                  Key: { pk, sk: SNAPSHOT },
                  ...snapshotCondition,
                },
              },
        ],
      }),
    );
    return 'voided';
  } catch (error) {
    const codes = cancellationCodes(error);
    if (codes.includes('ConditionalCheckFailed')) return 'stands';
    if (codes.includes('TransactionConflict')) {
      throw new OrderVersionConflictError(
        `cannot settle version ${version} of order ${orderId} now: it is being written`,
        { cause: error },
      );
    }
    throw toStoreError(error, 'orders.voidWrite');
  }
}
