/**
 * The order HTTP API (API Gateway HTTP API, payload format 2.0): docs/domain.md
 * section 4.
 *
 *   POST /orders                      place an order (Idempotency-Key supported)
 *   GET  /orders/{orderId}            the order
 *   GET  /orders/{orderId}/events     its event history, oldest first
 *   POST /orders/{orderId}/cancel     cancel (from PENDING or PAID)
 *   GET  /health/live                 liveness: the function runs (no dependency calls)
 *   GET  /health/ready                readiness: the store and Kafka answer, the
 *                                     publish circuit is not open
 *   GET  /health                      readiness, as /health/ready
 *
 * A write stores the order and the event it causes in one transaction (the event in
 * the order's outbox), then publishes the event at once; whatever it could not
 * publish, the outbox relay publishes from the table's stream (docs/outbox.md). So a
 * 2xx means the event will be published (201/200 when it already is, 202 when the
 * relay will), and a 503 means nothing was stored.
 *
 * Parsing, wiring and the HTTP answers live here; what a write does lives in the
 * use cases (./use-cases/place-order.ts, ./use-cases/cancel-order.ts), the rules in
 * #domain/order.ts.
 */
import {
  IdempotencyAlreadyInProgressError,
  IdempotencyConfig,
  IdempotencyPersistenceLayerError,
  IdempotencyValidationError,
  makeIdempotent,
} from '@aws-lambda-powertools/idempotency';
import { DynamoDBPersistenceLayer } from '@aws-lambda-powertools/idempotency/dynamodb';
import type { Logger } from '@aws-lambda-powertools/logger';
import httpRouterHandler from '@middy/http-router';
import type { Context } from 'aws-lambda';
import { createPublishBreaker } from '#commons/circuit-breaker.ts';
import { HealthConfig, tableName } from '#commons/config.ts';
import {
  createDocumentClient,
  StoreUnavailableError,
} from '#commons/dynamodb.ts';
import { edgeHandler } from '#commons/edge-handler.ts';
import {
  type Liveness,
  probe,
  type Readiness as ReadinessBody,
} from '#commons/health.ts';
import {
  correlationIdOf,
  type HttpEvent,
  type HttpResult,
  httpEdge,
  json,
  ProblemError,
  parseJsonBody,
} from '#commons/http.ts';
import type { EventPublisher } from '#commons/kafka-publisher.ts';
import {
  createOrderRepository,
  type OrderRepository,
} from '#commons/order-repository.ts';
import {
  DEFAULT_WRITE_TIMINGS,
  type WriteTimings,
} from '#commons/settled-write.ts';
import { TABLES } from '#commons/table-specs.ts';
import { wireFromEnvironment } from '#commons/wiring.ts';
import { type Clock, OrderId } from '#domain/events.ts';
import {
  CancelOrderRequest,
  type Order,
  type OrderHistory,
  PlaceOrderRequest,
} from '#domain/order.ts';
import { cancelOrder } from './use-cases/cancel-order.ts';
import type { OrderWritePorts } from './use-cases/order-writes.ts';
import { placeOrder } from './use-cases/place-order.ts';

/** What the API needs; the handler below wires the real ones from the environment. */
export interface OrderApiDependencies {
  readonly orders: OrderRepository;
  /** Publishing, behind a circuit breaker that fails fast while Kafka is down. */
  readonly publisher: EventPublisher;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Readiness probes for GET /health/ready (and GET /health). */
  readonly ready: () => Promise<Readiness>;
  /** How long a write may take before it is settled (docs/outbox.md, "Timings"). */
  readonly timings?: WriteTimings;
  /** Powertools idempotency for `Idempotency-Key`; off when undefined. */
  readonly idempotency?: {
    readonly persistenceStore: DynamoDBPersistenceLayer;
    readonly config: IdempotencyConfig;
  };
}

/** What the readiness probes found. */
export interface Readiness {
  readonly kafka: boolean;
  readonly store: boolean;
  /** Why each failing check failed, e.g. `publish circuit open`. */
  readonly reasons?: Partial<Record<'kafka' | 'store', string>>;
  /** When to ask again, in seconds; default 5. */
  readonly retryAfterSeconds?: number;
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
 * that is down (the idempotency store included) becomes 503 with Retry-After in
 * `problemResponses`, as in every API.
 */
function mapOrderApiErrors(error: unknown): ProblemError | undefined {
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

/** 200 when every dependency is ready; else 503 naming what is not, with Retry-After. */
async function readiness(deps: OrderApiDependencies): Promise<HttpResult> {
  const checks = await deps.ready();
  const up = checks.kafka && checks.store;
  const body: ReadinessBody = {
    status: up ? 'ok' : 'degraded',
    checks: {
      kafka: checks.kafka ? 'up' : 'down',
      store: checks.store ? 'up' : 'down',
    },
    ...(!up && checks.reasons ? { reasons: checks.reasons } : {}),
  };
  if (up) return json(200, body);
  return json(503, body, {
    'retry-after': String(checks.retryAfterSeconds ?? 5),
  });
}

/** POST /orders: {@link placeOrder}, behind Powertools idempotency when it is on. */
function postOrders(deps: OrderApiDependencies, ports: OrderWritePorts) {
  /** What each POST /orders answered, for when saving it as idempotent fails. */
  const answered = new WeakMap<HttpEvent, HttpResult>();

  const createOrder = async (event: HttpEvent): Promise<HttpResult> => {
    const request = parseJsonBody(event, PlaceOrderRequest);
    const result = await placeOrder(ports, {
      request,
      correlationId: correlationIdOf(event),
    });
    if (!result.placed) {
      throw new ProblemError(409, 'order-exists', 'Order already exists', {
        detail: `an order ${result.orderId} exists; use another orderId or an Idempotency-Key`,
      });
    }
    const { order, published } = result;
    const answer = json(published ? 201 : 202, order, {
      location: `/orders/${order.orderId}`,
    });
    answered.set(event, answer);
    return answer;
  };

  const idempotentCreate = deps.idempotency
    ? makeIdempotent(createOrder, deps.idempotency)
    : createOrder;

  return async (event: HttpEvent, context: Context): Promise<HttpResult> => {
    deps.idempotency?.config.registerLambdaContext(context);
    try {
      return await idempotentCreate(event);
    } catch (error) {
      // The order is stored, only its idempotency record is not: the answer
      // stands (a retry with the key then meets the order: 409).
      if (!(error instanceof IdempotencyPersistenceLayerError)) throw error;
      const result = answered.get(event);
      if (result) {
        deps.logger.warn('idempotency record not saved', { error });
        return result;
      }
      // Its record could not be read, written or removed: the request did
      // nothing else (a 503 like any store outage).
      throw new StoreUnavailableError('the idempotency store is unavailable', {
        cause: error,
        ambiguous: false,
      });
    }
  };
}

/** POST /orders/{orderId}/cancel: {@link cancelOrder}. */
function postCancel(ports: OrderWritePorts) {
  return async (event: HttpEvent): Promise<HttpResult> => {
    const orderId = orderIdFrom(event);
    const { reason } = parseJsonBody(event, CancelOrderRequest);
    const result = await cancelOrder(ports, {
      orderId,
      reason,
      correlationId: correlationIdOf(event),
    });
    switch (result.outcome) {
      case 'not-found':
        throw notFound(orderId);
      case 'invalid-state':
        throw new ProblemError(409, 'invalid-state', 'Cannot cancel', {
          detail: `an order in status ${result.status} cannot be cancelled`,
        });
      case 'cancelled':
        return json(result.published ? 200 : 202, result.order);
    }
  };
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
  const { orders, logger } = deps;
  const ports: OrderWritePorts = {
    orders,
    publisher: deps.publisher,
    clock: deps.clock,
    logger,
    timings: deps.timings ?? DEFAULT_WRITE_TIMINGS,
  };
  const ready = () => readiness(deps);

  const routes = httpRouterHandler<HttpEvent, HttpResult>([
    { method: 'POST', path: '/orders', handler: postOrders(deps, ports) },
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
        return json(200, { orderId, events } satisfies OrderHistory);
      },
    },
    {
      method: 'POST',
      path: '/orders/{orderId}/cancel',
      handler: postCancel(ports),
    },
    {
      method: 'GET',
      path: '/health/live',
      handler: async () => json(200, { status: 'ok' } satisfies Liveness),
    },
    { method: 'GET', path: '/health/ready', handler: ready },
    { method: 'GET', path: '/health', handler: ready },
  ]);

  return edgeHandler(
    { logger },
    routes,
    httpEdge({ logger, map: mapOrderApiErrors }),
  );
}

/** Each call to the idempotency table (docs/outbox.md, "Timings"). */
const IDEMPOTENCY_CALL_MS = 400;

function wireOrderApi(): OrderApiDependencies {
  const wiring = wireFromEnvironment({
    service: 'order',
    store: 'api',
    kafka: 'api',
    settings: {
      ordersTable: tableName(TABLES.orders.envVar),
      idempotencyTable: tableName(TABLES.idempotency.envVar),
      health: HealthConfig,
    },
  });
  const { settings: config, logger } = wiring;
  const orders = createOrderRepository(wiring.db, config.ordersTable);
  const publisher = createPublishBreaker(wiring.publisher);
  return {
    orders,
    publisher,
    logger,
    clock: wiring.clock,
    // Each probe has its own deadline; they run side by side. An open publish
    // circuit is not ready without asking Kafka (POSTs would answer 503); a
    // half-open one is, when Kafka answers: the next publish is its trial.
    ready: async () => {
      const { probeTimeoutMs } = config.health;
      const [kafka, store] = await Promise.all([
        publisher.state() === 'open'
          ? { up: false as const, reason: 'publish circuit open' }
          : probe(() => publisher.ping(), probeTimeoutMs),
        probe(() => orders.get('health-check'), probeTimeoutMs),
      ]);
      for (const [name, result] of Object.entries({ kafka, store })) {
        if (!result.up) {
          logger.warn(`${name} not ready`, {
            reason: result.reason,
            error: 'error' in result ? result.error : undefined,
          });
        }
      }
      return {
        kafka: kafka.up,
        store: store.up,
        reasons: {
          ...(kafka.up ? {} : { kafka: kafka.reason }),
          ...(store.up ? {} : { store: store.reason }),
        },
        retryAfterSeconds: publisher.retryAfterSeconds(),
      };
    },
    idempotency: {
      persistenceStore: new DynamoDBPersistenceLayer({
        tableName: config.idempotencyTable,
        // One short try per call: the record is written before the order and
        // removed after a failure, both inside the 3 s an answer may take.
        awsSdkV3Client: createDocumentClient({
          ...wiring.dynamodb,
          budget: {
            connectTimeoutMs: IDEMPOTENCY_CALL_MS,
            requestTimeoutMs: IDEMPOTENCY_CALL_MS,
            maxAttempts: 1,
          },
        }),
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
export const handler = createOrderApi(wireOrderApi());

export type { Order };
