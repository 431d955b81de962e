/**
 * The console's view of the orders table (local only, docs/console.md): a Scan of
 * the order snapshots (`sk = SNAPSHOT`) and of the orphan payments (`pk = ORPHAN#`),
 * item shapes of functions/commons/order-repository.ts and
 * orphan-payment-repository.ts. A Scan reads the whole table: fine on a developer's
 * machine, never something the functions do.
 */
import {
  type DynamoDBDocumentClient,
  GetCommand,
  ScanCommand,
} from '@aws-sdk/lib-dynamodb';
import { DEFAULT_BUDGETS } from '#commons/config.ts';
import { createDocumentClient } from '#commons/dynamodb.ts';
import { isRecord } from '#commons/guards.ts';
import { OrderStatus } from '#domain/order.ts';
import { LOCAL_AWS } from '#platform/dynamodb.ts';

/** An order as the console lists it. */
export interface OrderSummary {
  readonly orderId: string;
  readonly status: string;
  readonly statusReason: string | null;
  readonly total: { readonly amount: number; readonly currency: string } | null;
  readonly customerId: string | null;
  readonly createdAt: string | null;
  readonly updatedAt: string | null;
  readonly version: number | null;
}

/** A payment whose order does not exist (docs/domain.md section 5). */
export interface OrphanSummary {
  readonly orderId: string;
  readonly status: string;
  readonly detectedAt: string | null;
  readonly updatedAt: string | null;
}

/** Pages of a Scan read at most (1 MB each): a bound on a huge local table. */
const MAX_PAGES = 50;

/** Reads the orders table. */
export interface OrdersTable {
  /** Orders newest first (by createdAt), and orphans newest first. */
  list(query: {
    readonly status?: OrderStatus;
    readonly limit: number;
  }): Promise<{ orders: OrderSummary[]; orphans: OrphanSummary[] }>;
  /** One order's snapshot and orphan item, either possibly absent. */
  get(orderId: string): Promise<{
    order: OrderSummary | null;
    orphan: OrphanSummary | null;
  }>;
  /** Closes the client's connections. */
  close(): Promise<void>;
}

/**
 * The orders table at `endpoint`, through the project's document client.
 *
 * @example
 * ```ts
 * const table = ordersTable('http://127.0.0.1:8000', 'OrdersTable');
 * const { orders } = await table.list({ limit: 100 });
 * ```
 */
export function ordersTable(
  endpoint: string,
  tableName: string,
  // The consumers' budget (3 s a request, 3 attempts): a Scan page is the heaviest
  // read here, and nobody waits on it with a deadline of their own.
  db: DynamoDBDocumentClient = createDocumentClient(
    {
      endpoint,
      region: LOCAL_AWS.region,
      budget: DEFAULT_BUDGETS.consumer.store,
    },
    { credentials: LOCAL_AWS.credentials },
  ),
): OrdersTable {
  return {
    list: (query) => listOrders(db, tableName, query),

    async get(orderId) {
      const [order, orphan] = await Promise.all([
        db.send(
          new GetCommand({
            TableName: tableName,
            Key: { pk: `ORDER#${orderId}`, sk: 'SNAPSHOT' },
            ConsistentRead: true,
          }),
        ),
        db.send(
          new GetCommand({
            TableName: tableName,
            Key: { pk: `ORPHAN#${orderId}`, sk: 'PAYMENT' },
            ConsistentRead: true,
          }),
        ),
      ]);
      return {
        order: order.Item ? orderOf(order.Item) : null,
        orphan: orphan.Item ? orphanOf(orphan.Item) : null,
      };
    },

    async close() {
      db.destroy();
    },
  };
}

/**
 * {@link OrdersTable.list}: Scans the snapshots and orphans, at most
 * {@link MAX_PAGES} pages, and sorts each newest first.
 */
async function listOrders(
  db: DynamoDBDocumentClient,
  tableName: string,
  query: Parameters<OrdersTable['list']>[0],
): ReturnType<OrdersTable['list']> {
  const orders: OrderSummary[] = [];
  const orphans: OrphanSummary[] = [];
  let start: Record<string, unknown> | undefined;
  for (let page = 0; page < MAX_PAGES; page += 1) {
    const answer = await db.send(
      new ScanCommand({
        TableName: tableName,
        FilterExpression:
          '#sk = :snapshot OR (begins_with(#pk, :orphan) AND #sk = :payment)',
        ProjectionExpression:
          '#pk, #sk, orderId, #status, statusReason, #total, customerId, createdAt, updatedAt, version, detectedAt',
        ExpressionAttributeNames: {
          '#pk': 'pk',
          '#sk': 'sk',
          '#status': 'status',
          '#total': 'total',
        },
        ExpressionAttributeValues: {
          ':snapshot': 'SNAPSHOT',
          ':orphan': 'ORPHAN#',
          ':payment': 'PAYMENT',
        },
        ...(start ? { ExclusiveStartKey: start } : {}),
      }),
    );
    for (const item of answer.Items ?? []) {
      if (item.sk === 'SNAPSHOT') {
        const order = orderOf(item);
        if (!query.status || order.status === query.status) orders.push(order);
      } else {
        orphans.push(orphanOf(item));
      }
    }
    start = answer.LastEvaluatedKey;
    if (!start) break;
  }
  orders.sort(newestFirst((o) => o.createdAt));
  orphans.sort(newestFirst((o) => o.detectedAt));
  return {
    orders: orders.slice(0, query.limit),
    orphans: orphans.slice(0, query.limit),
  };
}

/**
 * An order summary from a snapshot item; fields of another shape read as null, so
 * one odd item never hides the others.
 *
 * @example
 * ```ts
 * orderOf({ orderId: 'o-1', status: 'PAID', version: 3 }).status; // 'PAID'
 * ```
 */
export function orderOf(item: Record<string, unknown>): OrderSummary {
  const total = isRecord(item.total) ? item.total : undefined;
  return {
    orderId: text(item.orderId) ?? String(item.pk ?? '').replace(/^ORDER#/, ''),
    status: text(item.status) ?? 'UNKNOWN',
    statusReason: text(item.statusReason),
    total:
      total &&
      typeof total.amount === 'number' &&
      typeof total.currency === 'string'
        ? { amount: total.amount, currency: total.currency }
        : null,
    customerId: text(item.customerId),
    createdAt: text(item.createdAt),
    updatedAt: text(item.updatedAt),
    version: typeof item.version === 'number' ? item.version : null,
  };
}

function orphanOf(item: Record<string, unknown>): OrphanSummary {
  return {
    orderId:
      text(item.orderId) ?? String(item.pk ?? '').replace(/^ORPHAN#/, ''),
    status: text(item.status) ?? 'UNKNOWN',
    detectedAt: text(item.detectedAt),
    updatedAt: text(item.updatedAt),
  };
}

/** Order statuses a `status` filter may name. */
export const ORDER_STATUSES = OrderStatus.options;

function newestFirst<T>(at: (item: T) => string | null) {
  return (a: T, b: T) => (at(b) ?? '').localeCompare(at(a) ?? '');
}

function text(value: unknown): string | null {
  return typeof value === 'string' ? value : null;
}
