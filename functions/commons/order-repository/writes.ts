/**
 * Writing an order: create it, append an event to it (each a transaction of guard,
 * event and snapshot, docs/domain.md section 5), and clear its outbox once the
 * outbox's events are published (docs/outbox.md).
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { TransactWriteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { DomainEvent, OrderPlaced } from '#domain/events.ts';
import type { Order } from '#domain/order.ts';
import { cancellationCodes, toStoreError } from '../dynamodb.ts';
import type { OrderRepository, WriteOptions } from '../order-repository.ts';
import { OrderVersionConflictError } from './errors.ts';
import {
  type OrdersTable,
  partitionKey,
  SNAPSHOT,
  writeItems,
} from './items.ts';

/**
 * An API write is idempotent on its event id, so that the SDK's retry of a write
 * whose answer was lost is the same write, not a refusal. Not for the consumers'
 * writes: a redelivered event must meet the guard and come back `'duplicate'`.
 */
function apiToken(event: DomainEvent, options: WriteOptions) {
  return options.settleBy === undefined
    ? {}
    : { ClientRequestToken: event.eventId };
}

function checkEventBelongs(order: Order, event: DomainEvent): void {
  if (event.data.orderId !== order.orderId) {
    throw new RangeError(
      `event ${event.eventId} is for order ${event.data.orderId}, not ${order.orderId}`,
    );
  }
}

/**
 * {@link OrderRepository.create}: version 1, its event and its guard, in one
 * transaction.
 */
export async function create(
  { db, tableName }: OrdersTable,
  order: Order,
  event: OrderPlaced,
  options: WriteOptions = {},
): Promise<'created' | 'exists'> {
  if (order.version !== 1) {
    throw new RangeError(`a new order has version 1, got ${order.version}`);
  }
  checkEventBelongs(order, event);
  try {
    await db.send(
      new TransactWriteCommand({
        TransactItems: writeItems(
          tableName,
          order,
          event,
          [event],
          { ConditionExpression: 'attribute_not_exists(pk)' },
          options.settleBy,
        ),
        ...apiToken(event, options),
      }),
      { abortSignal: options.signal },
    );
    return 'created';
  } catch (error) {
    const codes = cancellationCodes(error);
    if (codes.includes('ConditionalCheckFailed')) return 'exists';
    if (codes.includes('TransactionConflict')) {
      throw new OrderVersionConflictError(
        `order ${order.orderId} is being created concurrently`,
        { cause: error },
      );
    }
    throw toStoreError(error, 'orders.create');
  }
}

/**
 * {@link OrderRepository.append}: the next version, its event and its guard, in
 * one transaction.
 */
export async function append(
  { db, tableName }: OrdersTable,
  order: Order,
  event: DomainEvent,
  outbox: readonly DomainEvent[] = [],
  options: WriteOptions = {},
): Promise<'appended' | 'duplicate'> {
  if (order.version < 2) {
    throw new RangeError(
      `an appended snapshot has version 2 or more, got ${order.version}`,
    );
  }
  checkEventBelongs(order, event);
  const previous = order.version - 1;
  try {
    await db.send(
      new TransactWriteCommand({
        TransactItems: writeItems(
          tableName,
          order,
          event,
          outbox,
          {
            ConditionExpression: 'version = :previous',
            ExpressionAttributeValues: { ':previous': previous },
          },
          options.settleBy,
        ),
        ...apiToken(event, options),
      }),
      { abortSignal: options.signal },
    );
    return 'appended';
  } catch (error) {
    const [guard, eventItem, snapshot] = cancellationCodes(error);
    // The guard first: an applied event stays a no-op even if the order moved on.
    if (guard === 'ConditionalCheckFailed') return 'duplicate';
    if (
      eventItem === 'ConditionalCheckFailed' ||
      snapshot === 'ConditionalCheckFailed' ||
      [guard, eventItem, snapshot].includes('TransactionConflict')
    ) {
      throw new OrderVersionConflictError(
        `order ${order.orderId} is no longer at version ${previous}`,
        { cause: error },
      );
    }
    throw toStoreError(error, 'orders.append');
  }
}

/** {@link OrderRepository.clearOutbox}: removes the snapshot's outbox. */
export async function clearOutbox(
  { db, tableName }: OrdersTable,
  orderId: string,
  version: number,
  options: WriteOptions = {},
): Promise<boolean> {
  try {
    await db.send(
      new UpdateCommand({
        TableName: tableName,
        Key: { pk: partitionKey(orderId), sk: SNAPSHOT },
        UpdateExpression: 'REMOVE outbox',
        ConditionExpression: 'version = :version',
        ExpressionAttributeValues: { ':version': version },
      }),
      { abortSignal: options.signal },
    );
    return true;
  } catch (error) {
    if (error instanceof ConditionalCheckFailedException) return false;
    throw toStoreError(error, 'orders.clearOutbox');
  }
}
