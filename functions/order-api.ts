/**
 * The order HTTP API (API Gateway HTTP API, payload format 2.0): docs/domain.md
 * section 4.
 *
 *   POST /orders                      place an order (Idempotency-Key supported)
 *   GET  /orders/{orderId}            the order
 *   GET  /orders/{orderId}/events     its event history, oldest first
 *   POST /orders/{orderId}/cancel     cancel (from PENDING or PAID)
 *   GET  /health                      liveness and readiness of Kafka and the store
 *
 * A write stores the order and the event it causes in one transaction (the event in
 * the order's outbox), then publishes the event at once; whatever it could not
 * publish, the outbox relay publishes from the table's stream (docs/outbox.md). So a
 * 2xx means the event will be published (201/200 when it already is, 202 when the
 * relay will), and a 503 means nothing was stored.
 *
 * Parsing and wiring live here; the rules live in #domain/order.ts.
 */
import { randomUUID } from 'node:crypto';
import {
  IdempotencyAlreadyInProgressError,
  IdempotencyConfig,
  IdempotencyPersistenceLayerError,
  IdempotencyValidationError,
  makeIdempotent,
} from '@aws-lambda-powertools/idempotency';
import { DynamoDBPersistenceLayer } from '@aws-lambda-powertools/idempotency/dynamodb';
import type { Logger } from '@aws-lambda-powertools/logger';
import middy from '@middy/core';
import httpRouterHandler from '@middy/http-router';
import type { Context } from 'aws-lambda';
import { createPublishBreaker } from '#commons/circuit-breaker.ts';
import {
  DynamoDbConfig,
  KafkaConfig,
  loadConfig,
  tableName,
} from '#commons/config.ts';
import { createDocumentClient } from '#commons/dynamodb.ts';
import {
  bodyLimit,
  correlationIdOf,
  type HttpEvent,
  type HttpResult,
  json,
  ProblemError,
  parseJsonBody,
  problemResponses,
} from '#commons/http.ts';
import {
  createKafkaPublisher,
  type EventPublisher,
} from '#commons/kafka-publisher.ts';
import { createLogger } from '#commons/observability.ts';
import {
  createOrderRepository,
  type OrderRepository,
} from '#commons/order-repository.ts';
import {
  DEFAULT_WRITE_TIMINGS,
  settledWrite,
  type WriteTimings,
} from '#commons/settled-write.ts';
import { type Clock, type DomainEvent, OrderId } from '#domain/events.ts';
import { TransientError } from '#domain/failures.ts';
import {
  CancelOrderRequest,
  type Order,
  PlaceOrderRequest,
  placeOrder,
  requestCancellation,
} from '#domain/order.ts';
import { TABLES } from '#infra/tables.ts';

/** What the API needs; the handler below wires the real ones from the environment. */
export interface OrderApiDependencies {
  readonly orders: OrderRepository;
  /** Publishing, behind a circuit breaker that fails fast while Kafka is down. */
  readonly publisher: EventPublisher;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Readiness probes for GET /health. */
  readonly ready: () => Promise<{ kafka: boolean; store: boolean }>;
  /** How long a write may take before it is settled (docs/outbox.md, "Timings"). */
  readonly timings?: WriteTimings;
  /** How long the API waits for Kafka before leaving an event to the relay. */
  readonly publishTimeoutMs?: number;
  /** Powertools idempotency for `Idempotency-Key`; off when undefined. */
  readonly idempotency?: {
    readonly persistenceStore: DynamoDBPersistenceLayer;
    readonly config: IdempotencyConfig;
  };
}

function orderIdFrom(event: HttpEvent): string {
  const result = OrderId.safeParse(event.pathParameters?.orderId);
  if (!result.success) {
    throw new ProblemError(404, 'order-not-found', 'Order not found', {
      detail: 'order ids are 1-64 of A-Z, a-z, 0-9, _ and -',
    });
  }
  return result.data;
}

function notFound(orderId: string): ProblemError {
  return new ProblemError(404, 'order-not-found', 'Order not found', {
    detail: `there is no order ${orderId}`,
  });
}

/**
 * The API's own errors as problems: Idempotency-Key misuse (422, 409). A dependency
 * that is down becomes 503 with Retry-After in `problemResponses`, as in every API.
 */
function mapOrderApiErrors(error: unknown): ProblemError | undefined {
  if (error instanceof IdempotencyPersistenceLayerError) {
    // The idempotency record could not be read, written or removed: the request
    // itself did nothing (a failure after a write is answered in the route).
    return new ProblemError(503, 'unavailable', 'Service unavailable', {
      detail: 'the idempotency store is unavailable; nothing was done',
      headers: { 'retry-after': '1' },
    });
  }
  if (error instanceof IdempotencyValidationError) {
    return new ProblemError(
      422,
      'idempotency-key-reused',
      'Idempotency-Key reused with another request',
      { detail: 'this Idempotency-Key was used with a different body' },
    );
  }
  if (error instanceof IdempotencyAlreadyInProgressError) {
    return new ProblemError(
      409,
      'idempotency-in-progress',
      'A request with this Idempotency-Key is in progress',
      { headers: { 'retry-after': '1' } },
    );
  }
  return undefined;
}

/**
 * Builds the API handler from its dependencies.
 *
 * @example
 * ```ts
 * const api = createOrderApi({ orders, publisher, clock, logger, ready });
 * await api(httpEvent, context);
 * ```
 */
export function createOrderApi(deps: OrderApiDependencies) {
  const { orders, publisher, clock, logger } = deps;
  const timings = deps.timings ?? DEFAULT_WRITE_TIMINGS;
  const publishTimeoutMs = deps.publishTimeoutMs ?? DEFAULT_PUBLISH_TIMEOUT_MS;

  /**
   * Publishes what a write put in the outbox, and clears it; `false` when Kafka did
   * not take the events in time (the relay will publish them: nothing is lost).
   */
  const publishNow = async (
    orderId: string,
    version: number,
    events: readonly DomainEvent[],
  ): Promise<boolean> => {
    try {
      await withDeadline(
        publisher.publish(events),
        publishTimeoutMs,
        'publish',
      );
    } catch (error) {
      logger.warn('publish left to the outbox relay', { orderId, error });
      return false;
    }
    try {
      await orders.clearOutbox(orderId, version, {
        signal: AbortSignal.timeout(timings.callMs),
      });
    } catch (error) {
      // The relay will publish them again, under the same event ids: harmless.
      logger.warn('outbox not cleared after publishing', { orderId, error });
    }
    return true;
  };

  /** What each POST /orders answered, for when saving it as idempotent fails. */
  const answered = new WeakMap<HttpEvent, HttpResult>();

  const createOrder = async (event: HttpEvent): Promise<HttpResult> => {
    const request = parseJsonBody(event, PlaceOrderRequest);
    const causation = {
      correlationId: correlationIdOf(event),
      causationId: null,
    };
    const { order, event: placed } = placeOrder(request, causation, clock);
    const stored = await settledWrite({
      orders,
      orderId: order.orderId,
      version: order.version,
      eventId: placed.eventId,
      write: (options) => orders.create(order, placed, options),
      stored: 'created',
      timings,
    });
    if (stored === 'exists') {
      throw new ProblemError(409, 'order-exists', 'Order already exists', {
        detail: `an order ${order.orderId} exists; use another orderId or an Idempotency-Key`,
      });
    }
    const published = await publishNow(order.orderId, order.version, [placed]);
    logger.info('order placed', {
      orderId: order.orderId,
      correlationId: causation.correlationId,
      published,
    });
    const result = json(published ? 201 : 202, order, {
      location: `/orders/${order.orderId}`,
    });
    answered.set(event, result);
    return result;
  };

  const idempotentCreate = deps.idempotency
    ? makeIdempotent(createOrder, deps.idempotency)
    : createOrder;

  const routes = httpRouterHandler<HttpEvent, HttpResult>([
    {
      method: 'POST',
      path: '/orders',
      handler: async (event: HttpEvent, context: Context) => {
        deps.idempotency?.config.registerLambdaContext(context);
        try {
          return await idempotentCreate(event);
        } catch (error) {
          // The order is stored, only its idempotency record is not: the answer
          // stands (a retry with the key then meets the order: 409).
          const result = answered.get(event);
          if (result && error instanceof IdempotencyPersistenceLayerError) {
            logger.warn('idempotency record not saved', { error });
            return result;
          }
          throw error;
        }
      },
    },
    {
      method: 'GET',
      path: '/orders/{orderId}',
      handler: async (event: HttpEvent) => {
        const orderId = orderIdFrom(event);
        const found = await orders.get(orderId);
        if (!found) throw notFound(orderId);
        return json(200, found.order);
      },
    },
    {
      method: 'GET',
      path: '/orders/{orderId}/events',
      handler: async (event: HttpEvent) => {
        const orderId = orderIdFrom(event);
        const events = await orders.history(orderId);
        if (!events) throw notFound(orderId);
        return json(200, { orderId, events });
      },
    },
    {
      method: 'POST',
      path: '/orders/{orderId}/cancel',
      handler: async (event: HttpEvent) => {
        const orderId = orderIdFrom(event);
        const { reason } = parseJsonBody(event, CancelOrderRequest);
        const found = await orders.get(orderId);
        if (!found) throw notFound(orderId);
        const causation = {
          correlationId: correlationIdOf(event),
          causationId: null,
        };
        const result = requestCancellation(
          found.order,
          reason,
          causation,
          clock,
        );
        if (!result.ok) {
          throw new ProblemError(409, 'invalid-state', 'Cannot cancel', {
            detail: `an order in status ${result.status} cannot be cancelled`,
          });
        }
        const outbox = [...found.outbox, result.event];
        await settledWrite({
          orders,
          orderId,
          version: result.order.version,
          eventId: result.event.eventId,
          write: (options) =>
            orders.append(result.order, result.event, outbox, options),
          stored: 'appended',
          timings,
        });
        const published = await publishNow(
          orderId,
          result.order.version,
          outbox,
        );
        return json(published ? 200 : 202, result.order);
      },
    },
    {
      method: 'GET',
      path: '/health',
      handler: async () => {
        const checks = await deps.ready();
        const up = checks.kafka && checks.store;
        return json(up ? 200 : 503, {
          status: up ? 'ok' : 'degraded',
          checks: {
            kafka: checks.kafka ? 'up' : 'down',
            store: checks.store ? 'up' : 'down',
          },
        });
      },
    },
  ]);

  return middy<HttpEvent, HttpResult>()
    .use(problemResponses({ logger, map: mapOrderApiErrors }))
    .use(bodyLimit())
    .handler(routes);
}

/** Kafka's share of the 3 s an API answer may take (docs/outbox.md, "Timings"). */
const DEFAULT_PUBLISH_TIMEOUT_MS = 1000;

/** Kafka did not confirm in time. */
class PublishTimeoutError extends TransientError {
  constructor(message: string) {
    super(message);
    this.name = 'PublishTimeoutError';
  }
}

/** `promise`, or a {@link PublishTimeoutError} after `ms` (the promise runs on). */
async function withDeadline<T>(
  promise: Promise<T>,
  ms: number,
  what: string,
): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new PublishTimeoutError(`${what} took over ${ms} ms`)),
      ms,
    );
  });
  // A late rejection of the abandoned promise is not an unhandled one.
  promise.catch(() => {});
  try {
    return await Promise.race([promise, expired]);
  } finally {
    clearTimeout(timer);
  }
}

function wireFromEnvironment(): OrderApiDependencies {
  const config = loadConfig({
    kafka: KafkaConfig,
    dynamodb: DynamoDbConfig,
    ordersTable: tableName(TABLES.orders.envVar),
    idempotencyTable: tableName(TABLES.idempotency.envVar),
  });
  const logger = createLogger('order');
  const client = createDocumentClient(config.dynamodb);
  const orders = createOrderRepository(client, config.ordersTable);
  const kafka = createKafkaPublisher(config.kafka, { logger });
  const publisher = createPublishBreaker(kafka);
  return {
    orders,
    publisher,
    logger,
    clock: { now: () => new Date(), uuid: randomUUID },
    ready: async () => {
      const [kafka, store] = await Promise.all([
        publisher.connect().then(
          () => true,
          () => false,
        ),
        orders.get('health-check').then(
          () => true,
          () => false,
        ),
      ]);
      return { kafka, store };
    },
    idempotency: {
      persistenceStore: new DynamoDBPersistenceLayer({
        tableName: config.idempotencyTable,
        awsSdkV3Client: client,
      }),
      config: new IdempotencyConfig({
        eventKeyJmesPath: 'headers."idempotency-key"',
        payloadValidationJmesPath: 'body',
        throwOnNoIdempotencyKey: false,
        expiresAfterSeconds: 24 * 60 * 60,
      }),
    },
  };
}

/** The Lambda handler: dependencies built once per container, at cold start. */
export const handler = createOrderApi(wireFromEnvironment());

export type { Order };
