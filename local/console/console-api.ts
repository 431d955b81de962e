/**
 * The console's JSON API under `/_console/api/`: `orders` (a page of the orders
 * table), `orders/{orderId}` (one order with its timeline), `flow`, and `stream`
 * (handed to the live updates).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import * as z from 'zod';
import { messageOf } from '#commons/guards.ts';
import { OrderId } from '#domain/events.ts';
import type { FlowMonitor } from './flow.ts';
import { decode, json } from './http-answers.ts';
import type { LiveUpdates } from './live-updates.ts';
import type { RuntimeObserver } from './observer.ts';
import type { OrderIndex } from './order-index.ts';
import { ORDER_STATUSES, type OrdersTable } from './orders-table.ts';
import { timelineOf } from './timeline.ts';

/** The query of `GET /_console/api/orders`. */
const OrdersQuery = z.object({
  status: z.enum(ORDER_STATUSES).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});

/** What the API reads. */
export interface ConsoleApiOptions {
  /** The orders table; absent when no function of the template names one. */
  readonly table: OrdersTable | undefined;
  readonly flow: FlowMonitor;
  readonly index: OrderIndex;
  readonly observer: RuntimeObserver;
  readonly live: LiveUpdates;
  /** Named in the 503 when DynamoDB does not answer. */
  readonly dynamodbEndpoint: string;
}

/** Answers one API call, by its name: the path after `api/`. */
export type ConsoleApi = (
  name: string,
  request: IncomingMessage,
  response: ServerResponse,
  rawQueryString: string,
) => Promise<void>;

/**
 * The console's API.
 *
 * @example
 * ```ts
 * const api = consoleApi({ table, flow, index, observer, live, dynamodbEndpoint });
 * await api('orders', request, response, 'status=PAID');
 * ```
 */
export function consoleApi(options: ConsoleApiOptions): ConsoleApi {
  const { flow, live } = options;
  return async (name, request, response, rawQueryString) => {
    if (name === 'stream') return live.openStream(request, response);
    if (name === 'flow') return json(response, 200, await flow.snapshot());
    if (name === 'orders') {
      return listOrders(options, response, rawQueryString);
    }
    if (name.startsWith('orders/')) {
      return showOrder(options, response, name.slice('orders/'.length));
    }
    json(response, 404, { message: 'Not Found' });
  };
}

/** `api/orders`: a page of the orders table, by status or not. */
async function listOrders(
  options: ConsoleApiOptions,
  response: ServerResponse,
  rawQueryString: string,
): Promise<void> {
  const { table } = options;
  const query = OrdersQuery.safeParse(
    Object.fromEntries(new URLSearchParams(rawQueryString)),
  );
  if (!query.success) {
    return json(response, 400, {
      message: 'Bad Request',
      detail: z.prettifyError(query.error),
    });
  }
  if (!table) return noTable(response);
  const listed = await fromStore(options, response, () =>
    table.list({
      limit: query.data.limit,
      ...(query.data.status ? { status: query.data.status } : {}),
    }),
  );
  if (listed) json(response, 200, listed);
}

/** `api/orders/{orderId}`: the stored order and its timeline. */
async function showOrder(
  options: ConsoleApiOptions,
  response: ServerResponse,
  segment: string,
): Promise<void> {
  const { table, index, observer } = options;
  const orderId = decode(segment);
  if (orderId === undefined || !OrderId.safeParse(orderId).success) {
    return json(response, 400, {
      message: 'Bad Request',
      detail: 'an order id is 1-64 characters of [A-Za-z0-9_-]',
    });
  }
  if (!table) return noTable(response);
  const stored = await fromStore(options, response, () => table.get(orderId));
  if (!stored) return;
  json(response, 200, {
    ...stored,
    timeline: timelineOf(
      orderId,
      index.eventsOf(orderId),
      observer.invocations(),
    ),
  });
}

/** The store's answer, or `undefined` after a 503 when DynamoDB did not answer. */
async function fromStore<T>(
  options: ConsoleApiOptions,
  response: ServerResponse,
  call: () => Promise<T>,
): Promise<T | undefined> {
  try {
    return await call();
  } catch (error) {
    json(response, 503, {
      message: 'Service Unavailable',
      local: `DynamoDB at ${options.dynamodbEndpoint} did not answer (${messageOf(error)}); check it with 'npm run platform -- status'`,
    });
    return undefined;
  }
}

function noTable(response: ServerResponse): void {
  json(response, 404, {
    message: 'Not Found',
    local: 'no function of the template names an ORDERS_TABLE',
  });
}
