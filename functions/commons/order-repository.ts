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
 *
 * This file is the port and the factory that wires its DynamoDB operations; they
 * are files of ./order-repository/: items.ts (keys and the puts of a write),
 * reads.ts, writes.ts, settlement.ts (fence and void) and errors.ts.
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { DomainEvent, OrderPlaced } from '#domain/events.ts';
import type { Order } from '#domain/order.ts';
import type { OrderVersionConflictError } from './order-repository/errors.ts';
import type { OrdersTable } from './order-repository/items.ts';
import { get, history } from './order-repository/reads.ts';
import { fence, voidWrite } from './order-repository/settlement.ts';
import { append, clearOutbox, create } from './order-repository/writes.ts';

export {
  OrderNotSettledError,
  OrderVersionConflictError,
} from './order-repository/errors.ts';

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
  const table: OrdersTable = { db, tableName };
  return {
    create: (order, event, options) => create(table, order, event, options),
    get: (orderId) => get(table, orderId),
    history: (orderId) => history(table, orderId),
    append: (order, event, outbox, options) =>
      append(table, order, event, outbox, options),
    clearOutbox: (orderId, version, options) =>
      clearOutbox(table, orderId, version, options),
    fence: (orderId, eventId, options) =>
      fence(table, orderId, eventId, options),
    voidWrite: (orderId, version, eventId, previous) =>
      voidWrite(table, orderId, version, eventId, previous),
  };
}
