/**
 * The items of the Orders table (see ../order-repository.ts): per order, the
 * snapshot, one item per event and one guard per applied event; their keys, and
 * the three puts of one write.
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { DomainEvent } from '#domain/events.ts';
import type { Order } from '#domain/order.ts';

/** The Orders table, as every operation of the repository reaches it. */
export interface OrdersTable {
  readonly db: DynamoDBDocumentClient;
  readonly tableName: string;
}

/** The sort key of the snapshot. */
export const SNAPSHOT = 'SNAPSHOT';
/** The sort key prefix of the event items. */
export const EVENT_PREFIX = 'EVENT#';
/** The sort key prefix of the guards. */
export const APPLIED_PREFIX = 'APPLIED#';

/** The partition key of an order. */
export function partitionKey(orderId: string): string {
  return `ORDER#${orderId}`;
}

/** The sort key of the event item of `version`, zero-padded. */
export function eventSortKey(version: number): string {
  return `${EVENT_PREFIX}${String(version).padStart(10, '0')}`;
}

/** The three puts of one write: guard, event, snapshot, in this order. */
export function writeItems(
  tableName: string,
  order: Order,
  event: DomainEvent,
  outbox: readonly DomainEvent[],
  snapshotCondition: {
    ConditionExpression: string;
    ExpressionAttributeValues?: Record<string, number>;
  },
  settleBy: number | undefined,
) {
  const pk = partitionKey(order.orderId);
  return [
    {
      Put: {
        TableName: tableName,
        Item: {
          pk,
          sk: `${APPLIED_PREFIX}${event.eventId}`,
          eventId: event.eventId,
          version: order.version,
        },
        ConditionExpression: 'attribute_not_exists(pk)',
      },
    },
    {
      Put: {
        TableName: tableName,
        Item: {
          pk,
          sk: eventSortKey(order.version),
          version: order.version,
          eventId: event.eventId,
          eventType: event.eventType,
          occurredAt: event.occurredAt,
          event,
        },
        ConditionExpression: 'attribute_not_exists(pk)',
      },
    },
    {
      Put: {
        TableName: tableName,
        Item: {
          pk,
          sk: SNAPSHOT,
          ...order,
          ...(outbox.length > 0 ? { outbox } : {}),
          ...(settleBy !== undefined ? { settleBy } : {}),
        },
        ...snapshotCondition,
      },
    },
  ];
}
