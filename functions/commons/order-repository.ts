/**
 * Orders in DynamoDB, event-sourced with a snapshot (docs/domain.md section 5). One
 * partition per order, `pk=ORDER#<orderId>`, holding:
 * - `sk=SNAPSHOT`: the order's current state as plain attributes, with its `version`;
 * - `sk=EVENT#<version, 10 digits>`: each event, in order (zero padding makes the
 *   string order the numeric one), the whole event under `event`;
 * - `sk=APPLIED#<eventId>`: a guard per applied event. Events are keyed by version, so
 *   only this item lets one transaction refuse an eventId that was already applied.
 * Every write puts all three in one transaction, so nothing is ever half-written.
 * The snapshot also carries an `outbox`: events a write caused (ShippingRequested) that
 * are not yet published. It is written in the same transaction and cleared once they
 * are published, so a crash in between loses nothing: the next delivery publishes them.
 * `revert` removes the last event again when it could not be published (the API
 * answers 503 then, and the order must not stay half-made).
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import {
  type DynamoDBDocumentClient,
  QueryCommand,
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { DomainEvent, type OrderPlaced } from '#domain/events.ts';
import { TransientError } from '#domain/failures.ts';
import { Order } from '#domain/order.ts';
import { callStore, cancellationCodes, toStoreError } from './dynamodb.ts';

/**
 * Another writer changed the order since it was read (or is writing it right now).
 * Re-read and apply the event again; left unhandled, it is transient, so the consumer
 * module retries the record.
 */
export class OrderVersionConflictError extends TransientError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'OrderVersionConflictError';
  }
}

/** An order as read, with the ids of every event applied to it (for deduplication). */
export interface StoredOrder {
  readonly order: Order;
  readonly appliedEventIds: ReadonlySet<string>;
  /** Events caused by the last writes and not yet published. */
  readonly outbox: readonly DomainEvent[];
}

/** Where orders and their events are kept. */
export interface OrderRepository {
  /**
   * Stores a new order (version 1) with the event that placed it; `'exists'` when an
   * order with this id is already stored (nothing is written then).
   */
  create(order: Order, event: OrderPlaced): Promise<'created' | 'exists'>;
  /** The order and its applied event ids, from one strongly consistent query. */
  get(orderId: string): Promise<StoredOrder | undefined>;
  /** The order's events, oldest first; undefined for an unknown order. */
  history(orderId: string): Promise<DomainEvent[] | undefined>;
  /**
   * Records `event` and the new snapshot `order` (whose version is the previous one
   * plus 1) atomically. `'duplicate'` when the event was applied before (nothing is
   * written); throws {@link OrderVersionConflictError} when the stored version is not
   * `order.version - 1` (or the order does not exist).
   */
  append(
    order: Order,
    event: DomainEvent,
    outbox?: readonly DomainEvent[],
  ): Promise<'appended' | 'duplicate'>;
  /**
   * Empties the outbox once its events are published; `false` (nothing changed) when
   * the order has moved past `version` since (its new snapshot carried the outbox on).
   */
  clearOutbox(orderId: string, version: number): Promise<boolean>;
  /**
   * Undoes the last write when its event could not be published: removes `event`
   * (item and guard) and restores `previous`, or removes the order when `previous` is
   * undefined (a create). Conditional on `event` still being the last one; throws
   * {@link OrderVersionConflictError} (reverting nothing) when another event followed.
   */
  revert(previous: Order | undefined, event: DomainEvent): Promise<void>;
}

const SNAPSHOT = 'SNAPSHOT';
const EVENT_PREFIX = 'EVENT#';
const APPLIED_PREFIX = 'APPLIED#';

function partitionKey(orderId: string): string {
  return `ORDER#${orderId}`;
}

function eventSortKey(version: number): string {
  return `${EVENT_PREFIX}${String(version).padStart(10, '0')}`;
}

/** The three puts of one write: guard, event, snapshot, in this order. */
function writeItems(
  tableName: string,
  order: Order,
  event: DomainEvent,
  outbox: readonly DomainEvent[],
  snapshotCondition: {
    ConditionExpression: string;
    ExpressionAttributeValues?: Record<string, number>;
  },
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
        },
        ...snapshotCondition,
      },
    },
  ];
}

function checkEventBelongs(order: Order, event: DomainEvent): void {
  if (event.data.orderId !== order.orderId) {
    throw new RangeError(
      `event ${event.eventId} is for order ${event.data.orderId}, not ${order.orderId}`,
    );
  }
}

/**
 * The DynamoDB implementation of {@link OrderRepository} on the Orders table.
 *
 * @example
 * ```ts
 * const orders = createOrderRepository(db, config.ordersTable);
 * const stored = await orders.get('order-1');
 * ```
 */
export function createOrderRepository(
  db: DynamoDBDocumentClient,
  tableName: string,
): OrderRepository {
  async function queryPartition(
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

  return {
    async create(order, event) {
      if (order.version !== 1) {
        throw new RangeError(`a new order has version 1, got ${order.version}`);
      }
      checkEventBelongs(order, event);
      try {
        await db.send(
          new TransactWriteCommand({
            TransactItems: writeItems(tableName, order, event, [], {
              ConditionExpression: 'attribute_not_exists(pk)',
            }),
          }),
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
    },

    async get(orderId) {
      const items = await queryPartition(orderId);
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
      return { order: Order.parse(snapshot), appliedEventIds, outbox };
    },

    async history(orderId) {
      // The sort key orders events by version, and Query returns them ascending.
      const items = await queryPartition(orderId, EVENT_PREFIX);
      if (items.length === 0) return undefined;
      return items.map((item) => DomainEvent.parse(item.event));
    },

    async append(order, event, outbox = []) {
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
            TransactItems: writeItems(tableName, order, event, outbox, {
              ConditionExpression: 'version = :previous',
              ExpressionAttributeValues: { ':previous': previous },
            }),
          }),
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
    },

    async clearOutbox(orderId, version) {
      try {
        await db.send(
          new UpdateCommand({
            TableName: tableName,
            Key: { pk: partitionKey(orderId), sk: SNAPSHOT },
            UpdateExpression: 'REMOVE outbox',
            ConditionExpression: 'version = :version',
            ExpressionAttributeValues: { ':version': version },
          }),
        );
        return true;
      } catch (error) {
        if (error instanceof ConditionalCheckFailedException) return false;
        throw toStoreError(error, 'orders.clearOutbox');
      }
    },

    async revert(previous, event) {
      const orderId = previous?.orderId ?? event.data.orderId;
      const pk = partitionKey(orderId);
      const version = (previous?.version ?? 0) + 1;
      const snapshotCondition = {
        ConditionExpression: 'version = :version',
        ExpressionAttributeValues: { ':version': version },
      };
      try {
        await db.send(
          new TransactWriteCommand({
            TransactItems: [
              {
                Delete: {
                  TableName: tableName,
                  Key: { pk, sk: `${APPLIED_PREFIX}${event.eventId}` },
                  ConditionExpression: 'attribute_exists(pk)',
                },
              },
              {
                Delete: {
                  TableName: tableName,
                  Key: { pk, sk: eventSortKey(version) },
                  ConditionExpression: 'eventId = :eventId',
                  ExpressionAttributeValues: { ':eventId': event.eventId },
                },
              },
              previous
                ? {
                    Put: {
                      TableName: tableName,
                      Item: { pk, sk: SNAPSHOT, ...previous },
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
      } catch (error) {
        const codes = cancellationCodes(error);
        if (
          codes.includes('ConditionalCheckFailed') ||
          codes.includes('TransactionConflict')
        ) {
          throw new OrderVersionConflictError(
            `cannot revert event ${event.eventId} of order ${orderId}: it is not the last one (version ${version})`,
            { cause: error },
          );
        }
        throw toStoreError(error, 'orders.revert');
      }
    },
  };
}
