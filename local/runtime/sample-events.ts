/**
 * Events as a function receives them, built on request (`npm run event`): an MSK
 * batch, an HTTP API request, a scheduled event. Each is made by the code the local
 * runtime builds its own with (docs/local-commands.md): the Kafka event by
 * `kafkaEvent` (./esm/records/kafka-event.ts), the HTTP event by `buildHttpEvent` and
 * `matchRoute` (./http/routing.ts), the scheduled event by `scheduledEvent`
 * (./scheduled-event.ts). Nothing here is a second encoder.
 */
import { Buffer } from 'node:buffer';
import { randomBytes, randomUUID } from 'node:crypto';
import {
  CONTENT_TYPE_JSON,
  HEADERS,
  type OrderPlaced,
  TOPICS,
} from '#domain/events.ts';
import { placeOrder } from '#domain/order.ts';
import { DEFAULT_EVENT_SOURCE_ARN } from './esm/batch-event.ts';
import { type KafkaEvent, kafkaEvent } from './esm/records/kafka-event.ts';
import { packRecords, type RawRecord } from './esm/records/packed-records.ts';
import { LOCAL_OPERATOR } from './http/authorization.ts';
import { buildHttpEvent, type LocalHttpEvent } from './http/event.ts';
import { matchRoute } from './http/routing.ts';
import type { LocalRoute } from './template.ts';

/** A command line asks for an event that cannot be built: the message says why. */
export class SampleEventError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'SampleEventError';
  }
}

/** One record of a sample MSK batch: text, as it goes on the wire in UTF-8. */
export interface SampleRecord {
  /** Absent: a record without a key. */
  readonly key?: string;
  readonly value: string;
  /** In order; a name may repeat. */
  readonly headers: readonly (readonly [string, string])[];
}

/** What {@link sampleMskEvent} builds a batch from. */
export interface SampleBatch {
  readonly topic: string;
  /** Default 0. */
  readonly partition?: number;
  /** The first record's offset; the others follow it. Default 0. */
  readonly offset?: number;
  readonly records: readonly SampleRecord[];
  /** The event's `bootstrapServers`. */
  readonly brokers: readonly string[];
  /** Every record's timestamp, epoch ms. Default: now. */
  readonly timestamp?: number;
}

/**
 * The `aws:kafka` event the local event source mapping would invoke with for these
 * records: packed and built by the same code (`packRecords`, `kafkaEvent`), with the
 * mapping's event source ARN and `CREATE_TIME` timestamps (a topic's default).
 *
 * @example
 * ```ts
 * const event = sampleMskEvent({
 *   topic: 'order.placed.v1',
 *   records: [{ value: '{"hello":1}', headers: [['correlation-id', 'c-1']] }],
 *   brokers: ['127.0.0.1:9092'],
 * });
 * ```
 */
export function sampleMskEvent(batch: SampleBatch): KafkaEvent {
  const partition = batch.partition ?? 0;
  const first = batch.offset ?? 0;
  const timestamp = batch.timestamp ?? Date.now();
  const raw: RawRecord[] = batch.records.map((record, i) => {
    const headers: Record<string, string[]> = {};
    for (const [name, value] of record.headers) {
      headers[name] = [...(headers[name] ?? []), value];
    }
    return {
      partition,
      offset: first + i,
      timestamp,
      key: record.key === undefined ? null : Buffer.from(record.key, 'utf8'),
      value: Buffer.from(record.value, 'utf8'),
      headers,
    };
  });
  return kafkaEvent(
    {
      eventSourceArn: DEFAULT_EVENT_SOURCE_ARN,
      bootstrapServers: batch.brokers.join(','),
    },
    packRecords(batch.topic, 'CREATE_TIME', raw),
  );
}

/**
 * The body of a valid `POST /orders`: 2 x 19.99 EUR to Köln.
 *
 * @example
 * ```ts
 * JSON.stringify(sampleOrderRequest('order-1'));
 * ```
 */
export function sampleOrderRequest(orderId: string) {
  return {
    orderId,
    customerId: 'cust-42',
    currency: 'EUR',
    items: [{ productId: 'sku-1', quantity: 2, unitPrice: 1999 }],
    shippingAddress: {
      street: 'Hauptstraße 1',
      city: 'Köln',
      postalCode: '50667',
      country: 'DE',
    },
  };
}

/**
 * A valid OrderPlaced.v1 record, as the order API's outbox publishes it: placed by
 * the domain's `placeOrder` (so the payment function accepts it), keyed by the order
 * id, with the publisher's headers.
 *
 * @example
 * ```ts
 * const record = sampleOrderPlaced('order-1');
 * ```
 */
export function sampleOrderPlaced(
  orderId: string,
  now: Date = new Date(),
): SampleRecord {
  const { event } = placeOrder(
    sampleOrderRequest(orderId),
    { correlationId: `event-${orderId}`, causationId: null },
    { now: () => now, uuid: randomUUID },
  );
  return orderRecord(event);
}

function orderRecord(event: OrderPlaced): SampleRecord {
  return {
    key: event.data.orderId,
    value: JSON.stringify(event),
    headers: [
      [HEADERS.eventType, event.eventType],
      [HEADERS.correlationId, event.correlationId],
      [HEADERS.contentType, CONTENT_TYPE_JSON],
    ],
  };
}

/** The topic `--order` records go to unless told. */
export const ORDER_TOPIC = TOPICS.orderPlaced;

/**
 * A fresh order id for a sample: `order-` and 8 hex digits.
 *
 * @example
 * ```ts
 * newOrderId(); // 'order-3f9a0c12'
 * ```
 */
export function newOrderId(): string {
  return `order-${randomBytes(4).toString('hex')}`;
}

/** What {@link sampleHttpEvent} builds a request from. */
export interface SampleRequest {
  readonly method: string;
  /** The path, with the query after `?` if any; percent-encoded as on the wire. */
  readonly path: string;
  readonly headers: readonly (readonly [string, string])[];
  /** Absent: no body. */
  readonly body?: string;
}

/** An HTTP event and the route (and so the function) it is for. */
export interface SampleHttpEvent {
  readonly event: LocalHttpEvent;
  readonly route: Pick<
    LocalRoute,
    'routeKey' | 'functionLogicalId' | 'authorizationType'
  >;
}

/**
 * The payload 2.0 event the local HTTP API would invoke with for this request, on
 * the route it would pick among `routes` (the template's): built by the same code
 * (`matchRoute`, `buildHttpEvent`). The headers a client sends (host, user-agent,
 * content-length, and content-type for a body) are added unless given. An admin
 * (`AWS_IAM`) route gets the authorizer context of the local operator, as the local
 * API adds once the admin token is accepted. No route matching throws a
 * {@link SampleEventError} listing them.
 *
 * @example
 * ```ts
 * const { event, route } = sampleHttpEvent(
 *   { method: 'GET', path: '/orders/o-1', headers: [] },
 *   model.routes,
 * );
 * ```
 */
export function sampleHttpEvent(
  request: SampleRequest,
  routes: readonly LocalRoute[],
): SampleHttpEvent {
  const queryAt = request.path.indexOf('?');
  const path = queryAt < 0 ? request.path : request.path.slice(0, queryAt);
  const rawQueryString = queryAt < 0 ? '' : request.path.slice(queryAt + 1);
  const method = request.method.toUpperCase();
  const match = matchRoute(routes, method, path);
  if (!match) {
    throw new SampleEventError(
      `no route matches ${method} ${path}; the routes are ${routes.map((route) => route.routeKey).join(', ')}`,
    );
  }
  const body = Buffer.from(request.body ?? '', 'utf8');
  const headers: Record<string, string[]> = {
    host: ['127.0.0.1:3000'],
    'user-agent': ['npm-run-event'],
    ...(request.body === undefined
      ? {}
      : {
          'content-type': [CONTENT_TYPE_JSON],
          'content-length': [String(body.length)],
        }),
  };
  const given = new Set<string>();
  for (const [name, value] of request.headers) {
    const key = name.toLowerCase();
    // A header given replaces the default of that name; given twice, it repeats.
    headers[key] = given.has(key) ? [...(headers[key] ?? []), value] : [value];
    given.add(key);
  }
  const event = buildHttpEvent(
    {
      method,
      path,
      rawQueryString,
      headers,
      body,
      sourceIp: '127.0.0.1',
    },
    { routeKey: match.route.routeKey, pathParameters: match.pathParameters },
    {
      apiId: 'localapi00',
      ...(match.route.authorizationType === 'AWS_IAM'
        ? { authorizer: { iam: { ...LOCAL_OPERATOR } } }
        : {}),
    },
  );
  return { event, route: match.route };
}

/**
 * A header given on the command line, `NAME=VALUE` or `NAME: VALUE`: split at the
 * first `=` or `:`, whichever comes first; the value may be empty.
 *
 * @example
 * ```ts
 * parseHeader('correlation-id=c-1'); // ['correlation-id', 'c-1']
 * parseHeader('Authorization: Bearer x='); // ['Authorization', 'Bearer x=']
 * ```
 */
export function parseHeader(text: string): [string, string] {
  const at = text.search(/[=:]/);
  const name = at < 0 ? '' : text.slice(0, at).trim();
  if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name)) {
    throw new SampleEventError(
      `--header ${text}: expected NAME=VALUE or 'NAME: VALUE', e.g. correlation-id=c-1`,
    );
  }
  return [name, text.slice(at + 1).trim()];
}

/**
 * A partition or offset given on the command line: a non-negative integer.
 *
 * @example
 * ```ts
 * parseCount('7', '--offset'); // 7
 * ```
 */
export function parseCount(text: string, option: string): number {
  const value = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(value)) {
    throw new SampleEventError(
      `${option} ${text}: expected a whole number from 0`,
    );
  }
  return value;
}
