/**
 * Reading an order: its snapshot, applied event ids, outbox and settlement, or its
 * events, each from one strongly consistent query of its partition.
 */
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { DomainEvent } from '#domain/events.ts';
import { Order } from '#domain/order.ts';
import { callStore } from '../dynamodb.ts';
import type { OrderRepository, StoredOrder } from '../order-repository.ts';
import {
  APPLIED_PREFIX,
  EVENT_PREFIX,
  eventSortKey,
  type OrdersTable,
  partitionKey,
  SNAPSHOT,
} from './items.ts';

/** Every item of the order's partition (those under `skPrefix`, if given). */
async function queryPartition(
  { db, tableName }: OrdersTable,
  orderId: string,
  skPrefix?: string,
): Promise<Record<string, unknown>[]> {
  const items: Record<string, unknown>[] = [];
  let start: Record<string, unknown> | undefined;
  // An order has few events, so this is one page; the loop only guards the 1 MB cap.
  do {
    const page = await callStore('orders.query', () =>
      db.send(
        new QueryCommand({
          TableName: tableName,
          KeyConditionExpression: skPrefix
            ? 'pk = :pk AND begins_with(sk, :prefix)'
            : 'pk = :pk',
          ExpressionAttributeValues: {
            ':pk': partitionKey(orderId),
            ...(skPrefix ? { ':prefix': skPrefix } : {}),
          },
          ConsistentRead: true,
          ExclusiveStartKey: start,
        }),
      ),
    );
    items.push(...(page.Items ?? []));
    start = page.LastEvaluatedKey;
  } while (start);
  return items;
}

/** {@link OrderRepository.get}: the order from one strongly consistent query. */
export async function get(
  table: OrdersTable,
  orderId: string,
): Promise<StoredOrder | undefined> {
  const items = await queryPartition(table, orderId);
  const snapshot = items.find((item) => item.sk === SNAPSHOT);
  if (!snapshot) return undefined;
  const appliedEventIds = new Set<string>();
  for (const item of items) {
    if (
      typeof item.sk === 'string' &&
      item.sk.startsWith(EVENT_PREFIX) &&
      typeof item.eventId === 'string'
    ) {
      appliedEventIds.add(item.eventId);
    }
  }
  const outbox = Array.isArray(snapshot.outbox)
    ? snapshot.outbox.map((event) => DomainEvent.parse(event))
    : [];
  const order = Order.parse(snapshot);
  if (typeof snapshot.settleBy !== 'number') {
    return { order, appliedEventIds, outbox };
  }
  const last = items.find((item) => item.sk === eventSortKey(order.version));
  const eventId = typeof last?.eventId === 'string' ? last.eventId : '';
  const guard = items.find((item) => item.sk === `${APPLIED_PREFIX}${eventId}`);
  return {
    order,
    appliedEventIds,
    outbox,
    settlement: {
      settleBy: snapshot.settleBy,
      eventId,
      fenced: guard?.fenced === true,
    },
  };
}

/** {@link OrderRepository.history}: the order's events, oldest first. */
export async function history(
  table: OrdersTable,
  orderId: string,
): Promise<DomainEvent[] | undefined> {
  // The sort key orders events by version, and Query returns them ascending.
  const items = await queryPartition(table, orderId, EVENT_PREFIX);
  if (items.length === 0) return undefined;
  return items.map((item) => DomainEvent.parse(item.event));
}
