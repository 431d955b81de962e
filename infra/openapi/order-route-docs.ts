/** What the document says of each order route (and the health probes). */
import type { ORDER_ROUTES } from '../http-api.ts';
import { ORDER_EXAMPLES, placed } from './examples.ts';
import type { RouteDoc, Success } from './route-doc.ts';

/**
 * What the document says of every order route. Typed by the route list of
 * infra/http-api.ts, so a route added there without documentation fails to compile
 * (and the tests, which compare the document with the synthesized template).
 */
export const ORDER_ROUTE_DOCS: Readonly<
  Record<(typeof ORDER_ROUTES)[number], RouteDoc>
> = {
  'POST /orders': {
    summary: 'Place an order',
    description: [
      'Stores a PENDING order and its `OrderPlaced` event in one transaction, then publishes the event. The server computes the total from the items; objects are strict (an unknown field is refused).',
      '`201` when Kafka took the event, `202` when the outbox relay will publish it: either way the order is stored and will be paid or refused. Payment is asynchronous: read the order to see `PAID` or `PAYMENT_FAILED` (docs/domain.md sections 5 and 6).',
      'Payment rules of the seeds: an `orderId` starting with `suspicious`, or a total above 10 000 major units, is `FRAUD_SUSPECTED`; a total above 1 000 major units is `AMOUNT_LIMIT_EXCEEDED`; the simulated gateway declines an `orderId` starting with `decline` (`GATEWAY_DECLINED`) and fails the first 2 charges of one starting with `flaky`.',
    ].join('\n\n'),
    tag: 'orders',
    headers: ['IdempotencyKey'],
    body: {
      schema: 'PlaceOrderRequest',
      required: true,
      description:
        '`unitPrice` is an integer in minor units of `currency`; 1 to 100 items; the total is at most 2^53-1 minor units.',
      examples: ORDER_EXAMPLES,
    },
    success: {
      201: {
        description: 'Placed, and `OrderPlaced` published.',
        schema: 'Order',
        headers: ['Location'],
        example: placed.order,
      },
      202: {
        description:
          'Placed; `OrderPlaced` will be published by the outbox relay (Kafka did not take it in time).',
        schema: 'Order',
        headers: ['Location'],
        example: placed.order,
      },
    },
    failures: {
      400: {
        description: 'The body is not JSON, or not a valid order.',
        problems: ['invalid-json', 'validation'],
      },
      409: {
        description:
          'The `orderId` is taken, or a request with the same `Idempotency-Key` is in progress (then with `Retry-After: 1`).',
        problems: ['order-exists', 'idempotency-in-progress'],
        retryAfter: true,
      },
      415: {
        description: 'Not `application/json`.',
        problems: ['unsupported-media-type'],
      },
      422: {
        description: 'The `Idempotency-Key` was used with another body.',
        problems: ['idempotency-key-reused'],
      },
    },
    callsDependencies: true,
  },
  'GET /orders/{orderId}': {
    summary: 'Read an order',
    description: 'The order as stored now.',
    tag: 'orders',
    success: {
      200: {
        description: 'The order.',
        schema: 'Order',
        example: placed.order,
      },
    },
    failures: {
      404: {
        description: 'No such order.',
        problems: ['order-not-found', 'route-not-found'],
      },
    },
    callsDependencies: true,
  },
  'GET /orders/{orderId}/events': {
    summary: 'Read an order’s events',
    description:
      'Every event recorded for the order, oldest first: `OrderPlaced`, then the payment outcomes and cancellations.',
    tag: 'orders',
    success: {
      200: {
        description: 'The order id and its events.',
        schema: 'OrderHistory',
        example: { orderId: placed.order.orderId, events: [placed.event] },
      },
    },
    failures: {
      404: {
        description: 'No such order.',
        problems: ['order-not-found', 'route-not-found'],
      },
    },
    callsDependencies: true,
  },
  'POST /orders/{orderId}/cancel': {
    summary: 'Cancel an order',
    description:
      'A PENDING order becomes CANCELLED; a PAID one CANCELLATION_REQUESTED, then REFUNDED once the payment function has refunded it. `200` when Kafka took `OrderCancelled`, `202` when the outbox relay will publish it.',
    tag: 'orders',
    body: {
      schema: 'CancelOrderRequest',
      required: true,
      description: 'Why: 1-500 characters.',
      examples: {
        changedMind: {
          summary: 'A reason',
          value: { reason: 'changed my mind' },
        },
      },
    },
    success: {
      200: {
        description: 'Cancelled (or cancellation requested), and published.',
        schema: 'Order',
      },
      202: {
        description:
          'Cancelled (or cancellation requested); the outbox relay will publish `OrderCancelled`.',
        schema: 'Order',
      },
    },
    failures: {
      400: {
        description: 'The body is not JSON, or has no valid reason.',
        problems: ['invalid-json', 'validation'],
      },
      404: {
        description: 'No such order.',
        problems: ['order-not-found', 'route-not-found'],
      },
      409: {
        description: 'The order is neither PENDING nor PAID.',
        problems: ['invalid-state'],
      },
      415: {
        description: 'Not `application/json`.',
        problems: ['unsupported-media-type'],
      },
    },
    callsDependencies: true,
  },
  'GET /health': {
    summary: 'Readiness (old name)',
    description: 'As `GET /health/ready`. Always open.',
    tag: 'health',
    success: readinessAnswers(),
    callsDependencies: false,
  },
  'GET /health/live': {
    summary: 'Liveness',
    description: 'The function runs; calls no dependency. Always open.',
    tag: 'health',
    success: {
      200: {
        description: 'Alive.',
        schema: 'Liveness',
        example: { status: 'ok' },
      },
    },
    callsDependencies: false,
  },
  'GET /health/ready': {
    summary: 'Readiness',
    description:
      'Whether DynamoDB and Kafka answer within 2 s each and the publish circuit is not open (docs/timeouts.md). Always open.',
    tag: 'health',
    success: readinessAnswers(),
    callsDependencies: false,
  },
};

function readinessAnswers(): Readonly<Record<number, Success>> {
  return {
    200: {
      description: 'Ready: every check is up.',
      schema: 'Readiness',
      example: { status: 'ok', checks: { kafka: 'up', store: 'up' } },
    },
    503: {
      description:
        'Not ready: the failing checks and why, and when to ask again (`Retry-After`).',
      schema: 'Readiness',
      headers: ['Retry-After'],
      example: {
        status: 'degraded',
        checks: { kafka: 'down', store: 'up' },
        reasons: { kafka: 'publish circuit open' },
      },
    },
  };
}
