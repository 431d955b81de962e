/**
 * Orders in DynamoDB, event-sourced with a snapshot (docs/domain.md section 5). One
 * partition per order, `pk=ORDER#<orderId>`, holding:
 * - `sk=SNAPSHOT`: the order's current state as plain attributes, with its `version`;
 * - `sk=EVENT#<version, 10 digits>`: each event, in order (zero padding makes the
 *   string order the numeric one), the whole event under `event`;
 * - `sk=APPLIED#<eventId>`: a guard per applied event. Events are keyed by version, so
 *   only this item lets one transaction refuse an eventId that was already applied.
 * Every write puts all three in one transaction, so nothing is ever half-written.
 *
 * The snapshot also carries an `outbox`: the events a write caused that are not yet
 * published, written in the same transaction and cleared once they are published
 * (docs/outbox.md). The table's stream feeds them to the outbox relay, so a crash or a
 * broker outage between the write and the publish loses nothing.
 *
 * An API write is also stamped with `settleBy`, the instant by which the API answers.
 * A write whose outcome the API did not learn, it `fence`s: the event's guard is
 * marked, so that the write can never land later, or, if it landed, the relay voids
 * it (`voidWrite`): a 503 never leaves an order behind (docs/outbox.md).
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

/**
 * The order's last write is an API write that may still be voided (docs/outbox.md).
 * Nothing may build on it until it settles; transient, so the record comes again.
 */
export class OrderNotSettledError extends TransientError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'OrderNotSettledError';
  }
}

/** An order as read, with the ids of every event applied to it (for deduplication). */
export interface StoredOrder {
  readonly order: Order;
  readonly appliedEventIds: ReadonlySet<string>;
  /** Events caused by the last writes and not yet published. */
  readonly outbox: readonly DomainEvent[];
  /**
   * When the last write was an API write: by when the API answers, the write's event,
   * and whether the API fenced it (gave up on it: then it is to be voided).
   */
  readonly settlement?: {
    readonly settleBy: number;
    readonly eventId: string;
    readonly fenced: boolean;
  };
}

/** Options of a write made for an API request. */
export interface WriteOptions {
  /**
   * Epoch milliseconds by which the API answers for this write: stored on the
   * snapshot, so that the relay knows when the API can no longer fence it.
   */
  readonly settleBy?: number;
  /** Aborts the call (it may still have been applied: see `fence`). */
  readonly signal?: AbortSignal;
}

/** Where orders and their events are kept. */
export interface OrderRepository {
  /**
   * Stores a new order (version 1) with the event that placed it, the event also in
   * the outbox; `'exists'` when an order with this id is already stored (nothing is
   * written then). Idempotent per event: a retry of the same write is the same write.
   */
  create(
    order: Order,
    event: OrderPlaced,
    options?: WriteOptions,
  ): Promise<'created' | 'exists'>;
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
    options?: WriteOptions,
  ): Promise<'appended' | 'duplicate'>;
  /**
   * Empties the outbox once its events are published; `false` (nothing changed) when
   * the order has moved past `version` since (its new snapshot carried the outbox on).
   */
  clearOutbox(
    orderId: string,
    version: number,
    options?: WriteOptions,
  ): Promise<boolean>;
  /**
   * After a write of `eventId` whose outcome is unknown (it timed out), marks its
   * guard as given up: `'blocked'` when the write had not landed (now it never can:
   * its transaction needs the guard absent), `'marked'` when it had (the relay voids
   * it). Either way nothing stays stored.
   */
  fence(
    orderId: string,
    eventId: string,
    options?: WriteOptions,
  ): Promise<'blocked' | 'marked'>;
  /**
   * Undoes the fenced write of `eventId` that made `version`: removes its event and
   * restores `previous` (the snapshot as it was, from the stream's old image), or
   * removes the order when `previous` is undefined (a create). The guard stays, so
   * the write can never be applied again. `'stands'` (nothing changed) when the write
   * is not fenced, or another write followed it.
   */
  voidWrite(
    orderId: string,
    version: number,
    eventId: string,
    previous: Record<string, unknown> | undefined,
  ): Promise<'voided' | 'stands'>;
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
    async create(order, event, options = {}) {
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
      const order = Order.parse(snapshot);
      if (typeof snapshot.settleBy !== 'number') {
        return { order, appliedEventIds, outbox };
      }
      const last = items.find(
        (item) => item.sk === eventSortKey(order.version),
      );
      const eventId = typeof last?.eventId === 'string' ? last.eventId : '';
      const guard = items.find(
        (item) => item.sk === `${APPLIED_PREFIX}${eventId}`,
      );
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
    },

    async history(orderId) {
      // The sort key orders events by version, and Query returns them ascending.
      const items = await queryPartition(orderId, EVENT_PREFIX);
      if (items.length === 0) return undefined;
      return items.map((item) => DomainEvent.parse(item.event));
    },

    async append(order, event, outbox = [], options = {}) {
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
    },

    async clearOutbox(orderId, version, options = {}) {
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
    },

    async fence(orderId, eventId, options = {}) {
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
    },

    async voidWrite(orderId, version, eventId, previous) {
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
    },
  };
}
