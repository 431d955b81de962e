/**
 * The OpenAPI 3.1 contract of the HTTP API (docs/openapi.md), built from what the
 * system already says: the routes of `infra/http-api.ts`, the zod schemas the handlers
 * parse and answer with (JSON Schema 2020-12 through `z.toJSONSchema`, the dialect of
 * OpenAPI 3.1), and the problem types of `functions/commons/http.ts` and the handlers.
 * `npm run openapi` writes it to docs/openapi.json; the local HTTP API serves it at
 * `/openapi.json` and renders it at `/_docs`. No function imports this module, so
 * nothing of it reaches a Lambda bundle.
 */
import * as z from 'zod';
import { Liveness, Readiness } from '#commons/health.ts';
import { FieldError, Problem } from '#commons/http.ts';
import {
  DeadLetterId,
  DeadLetterListQuery,
  DeadLetterPage,
  DeadLetterStatus,
  DeadLetterView,
  DiscardRequest,
  RedriveManyRequest,
  RedriveManyResponse,
  RedriveRequest,
} from '#domain/dead-letter.ts';
import { CountryCode, DomainEvent, OrderId } from '#domain/events.ts';
import { CurrencyCode, Money } from '#domain/money.ts';
import {
  CancelOrderRequest,
  Order,
  OrderHistory,
  OrderStatus,
  PlaceOrderRequest,
  placeOrder,
} from '#domain/order.ts';
import packageJson from '../package.json' with { type: 'json' };
import { ADMIN_ROUTES, ORDER_ROUTES, PUBLIC_ROUTES } from './http-api.ts';

/** A JSON Schema (2020-12) or any other JSON object of the document. */
export type JsonObject = { readonly [key: string]: unknown };

/** A route of the HTTP API, as `infra/http-api.ts` lists them. */
export type DocumentedRoute =
  | (typeof ORDER_ROUTES)[number]
  | (typeof ADMIN_ROUTES)[number];

/** A server of the document. */
export interface OpenApiServer {
  readonly url: string;
  readonly description?: string;
  readonly variables?: Readonly<
    Record<string, { readonly default: string; readonly description?: string }>
  >;
}

/** A parameter, inline or a `$ref` to `components.parameters`. */
export type OpenApiParameter =
  | { readonly $ref: string }
  | {
      readonly name: string;
      readonly in: 'path' | 'query' | 'header';
      readonly required: boolean;
      readonly description: string;
      readonly schema: JsonObject;
    };

/** One media type of a request body or a response. */
export interface OpenApiMediaType {
  readonly schema: JsonObject;
  readonly examples?: Readonly<
    Record<string, { readonly summary: string; readonly value: unknown }>
  >;
}

/** One response of an operation. */
export interface OpenApiResponse {
  readonly description: string;
  readonly headers?: Readonly<Record<string, { readonly $ref: string }>>;
  readonly content?: Readonly<Record<string, OpenApiMediaType>>;
}

/** One operation (a route). */
export interface OpenApiOperation {
  readonly operationId: string;
  readonly summary: string;
  readonly description: string;
  readonly tags: readonly string[];
  /** `[]`: open; `[{}, { ordersJwt: [] }]`: open unless the stage configures JWT. */
  readonly security: readonly Readonly<Record<string, readonly string[]>>[];
  readonly parameters: readonly OpenApiParameter[];
  readonly requestBody?: {
    readonly required: boolean;
    readonly description: string;
    readonly content: Readonly<Record<string, OpenApiMediaType>>;
  };
  readonly responses: Readonly<
    Record<string, OpenApiResponse | { readonly $ref: string }>
  >;
}

/** The document, as far as this module writes it. */
export interface OpenApiDocument {
  readonly openapi: '3.1.1';
  readonly info: {
    readonly title: string;
    readonly version: string;
    readonly description: string;
    readonly license: { readonly name: string; readonly identifier: string };
  };
  readonly servers: readonly OpenApiServer[];
  readonly tags: readonly {
    readonly name: string;
    readonly description: string;
  }[];
  readonly paths: Readonly<
    Record<string, Readonly<Partial<Record<'get' | 'post', OpenApiOperation>>>>
  >;
  readonly components: {
    readonly schemas: Readonly<Record<string, JsonObject>>;
    readonly parameters: Readonly<Record<string, OpenApiParameter>>;
    readonly headers: Readonly<
      Record<
        string,
        { readonly description: string; readonly schema: JsonObject }
      >
    >;
    readonly responses: Readonly<Record<string, OpenApiResponse>>;
    readonly securitySchemes: Readonly<Record<string, JsonObject>>;
  };
}

/** The servers of the committed document: `npm run dev`, and the stack on AWS. */
export const DEFAULT_SERVERS: readonly OpenApiServer[] = [
  {
    url: 'http://127.0.0.1:3000',
    description:
      '`npm run dev`: the local HTTP API (admin routes take `Authorization: Bearer <admin token printed at start>`)',
  },
  {
    url: 'https://{apiId}.execute-api.{region}.amazonaws.com',
    description: 'AWS: the `ApiUrl` output of the stack (the `$default` stage)',
    variables: {
      apiId: { default: 'abcde12345', description: 'the HTTP API id' },
      region: { default: 'us-east-1', description: 'the stack’s region' },
    },
  },
];

/**
 * The error bodies API Gateway answers itself, before or instead of a function:
 * `{"message": "Forbidden"}` and the like (JSON, not problem+json).
 */
export const GatewayError = z.object({
  message: z.string(),
  /** Only from the local runtime, on a 401 or 403: how to authenticate there. */
  local: z
    .string()
    .optional()
    .describe(
      'Only from the local runtime (npm run dev), on a 401 or 403: how to authenticate there.',
    ),
});

/**
 * Request bodies, by component name: read with `io: 'input'` (what a client sends).
 * The tests parse every example of the document with these.
 */
export const REQUEST_SCHEMAS = {
  PlaceOrderRequest,
  CancelOrderRequest,
  RedriveRequest,
  RedriveManyRequest,
  DiscardRequest,
} as const satisfies Record<string, z.ZodType>;

/** Response bodies, by component name: read with `io: 'output'` (what is sent). */
export const RESPONSE_SCHEMAS = {
  Order,
  OrderHistory,
  Liveness,
  Readiness,
  Problem,
  GatewayError,
  DeadLetterView,
  DeadLetterPage,
  RedriveManyResponse,
} as const satisfies Record<string, z.ZodType>;

/** Schemas that several bodies share, given a name of their own (and a note). */
const SHARED_SCHEMAS: Readonly<
  Record<string, { schema: z.ZodType; description?: string }>
> = {
  OrderId: { schema: OrderId },
  OrderStatus: { schema: OrderStatus },
  CurrencyCode: {
    schema: CurrencyCode,
    description:
      'An ISO-4217 currency code, e.g. `EUR`. The server accepts the codes the ICU data of Node.js knows (functions/domain/money.ts); the list is not repeated here.',
  },
  CountryCode: { schema: CountryCode },
  Money: {
    schema: Money,
    description:
      'Integer minor units of an ISO-4217 currency: `{ "amount": 123450, "currency": "EUR" }` is 1234.50 EUR. Never a float.',
  },
  DomainEvent: {
    schema: DomainEvent,
    description:
      'An event of the system in its envelope (docs/domain.md section 3; the JSON Schema of each event type is in schemas/).',
  },
  DeadLetterStatus: { schema: DeadLetterStatus },
  DeadLetterId: { schema: DeadLetterId },
  FieldError: { schema: FieldError },
};

type RequestSchema = keyof typeof REQUEST_SCHEMAS;
type ResponseSchema = keyof typeof RESPONSE_SCHEMAS;

/**
 * The stable problem types (`/problems/<slug>`) the functions answer, and what each
 * means; a route lists those it can answer, by status.
 */
export const PROBLEM_TYPES = {
  'invalid-json':
    'The body is not JSON, or nests arrays or objects more than 64 deep.',
  validation:
    'The body (or query) breaks the schema; `errors` lists every failing field.',
  'invalid-cursor': 'The `cursor` is not one this API returned for this query.',
  'order-not-found':
    'There is no such order (also for an id that cannot be one).',
  'dead-letter-not-found':
    'There is no such dead letter (also for an id that is not `<topic>:<partition>:<offset>`).',
  'order-exists':
    'An order with this `orderId` exists; use another, or an `Idempotency-Key` to retry safely.',
  'idempotency-in-progress':
    'A request with this `Idempotency-Key` is still being answered; retry after `Retry-After`.',
  'idempotency-key-reused':
    'This `Idempotency-Key` was used with a different body.',
  'invalid-state':
    'The order or dead letter is not in a state that allows this (the detail says which it is in).',
  'payload-too-large': 'The body is over 64 KiB.',
  'unsupported-media-type': 'A body was sent that is not `application/json`.',
  unavailable:
    'A dependency (Kafka, DynamoDB) is down or too slow: nothing was done; retry after `Retry-After`.',
  internal:
    'A bug: the request failed unexpectedly. Quote the `x-correlation-id` when reporting it.',
  'route-not-found':
    'API Gateway routed the request, but the path it hands the function matches none of its routes: an id holding a `/` (sent as `%2F`, handed over decoded), or an empty segment (`//orders`).',
} as const;
export type ProblemSlug = keyof typeof PROBLEM_TYPES;

/** A success answer: a JSON body, and its headers besides `x-correlation-id`. */
interface Success {
  readonly description: string;
  readonly schema: ResponseSchema;
  readonly headers?: readonly ('Location' | 'Retry-After')[];
  readonly example?: unknown;
}

/** A problem answer: the problem types it can carry. */
interface Failure {
  readonly description: string;
  readonly problems: readonly ProblemSlug[];
  readonly retryAfter?: true;
}

/** What the document says of one route. */
interface RouteDoc {
  readonly summary: string;
  readonly description: string;
  readonly tag: 'orders' | 'health' | 'dead-letters';
  readonly query?: z.ZodObject;
  readonly headers?: readonly 'IdempotencyKey'[];
  readonly body?: {
    readonly schema: RequestSchema;
    readonly required: boolean;
    readonly description: string;
    readonly examples: Readonly<
      Record<string, { readonly summary: string; readonly value: unknown }>
    >;
  };
  readonly success: Readonly<Record<number, Success>>;
  readonly failures?: Readonly<Record<number, Failure>>;
  /** Whether the route calls a dependency, so that it may answer 503 `unavailable`. */
  readonly callsDependencies: boolean;
}

/** A fixed clock, so that the examples built by the domain are the same every time. */
const EXAMPLE_CLOCK = {
  now: () => new Date('2025-01-15T10:00:00.000Z'),
  uuid: () => '3f1c2a4e-8b7d-4c6e-9a5f-1e2d3c4b5a69',
};

const ADDRESS = {
  street: 'Hauptstr. 1',
  city: 'Berlin',
  postalCode: '10115',
  country: 'DE',
};

/** `POST /orders` bodies: one that is paid, and one for each way a payment fails. */
export const ORDER_EXAMPLES = {
  paid: {
    summary: 'Paid: 2 x 19.99 EUR (the server picks the orderId)',
    value: {
      customerId: 'cust-42',
      currency: 'EUR',
      items: [{ productId: 'sku-1', quantity: 2, unitPrice: 1999 }],
      shippingAddress: ADDRESS,
    },
  },
  declined: {
    summary:
      'Card declined: an orderId starting with `decline` (GATEWAY_DECLINED)',
    value: {
      orderId: 'decline-1001',
      customerId: 'cust-42',
      currency: 'EUR',
      items: [{ productId: 'sku-1', quantity: 1, unitPrice: 1999 }],
      shippingAddress: ADDRESS,
    },
  },
  suspicious: {
    summary: 'Fraud: an orderId starting with `suspicious` (FRAUD_SUSPECTED)',
    value: {
      orderId: 'suspicious-1001',
      customerId: 'cust-42',
      currency: 'EUR',
      items: [{ productId: 'sku-1', quantity: 1, unitPrice: 1999 }],
      shippingAddress: ADDRESS,
    },
  },
  overLimit: {
    summary:
      'Over the limit: a total above 1 000.00 EUR (AMOUNT_LIMIT_EXCEEDED)',
    value: {
      customerId: 'cust-42',
      currency: 'EUR',
      items: [{ productId: 'sku-tv', quantity: 1, unitPrice: 150000 }],
      shippingAddress: ADDRESS,
    },
  },
  aboveFraudThreshold: {
    summary: 'Fraud: a total above 10 000.00 EUR (FRAUD_SUSPECTED)',
    value: {
      customerId: 'cust-42',
      currency: 'EUR',
      items: [{ productId: 'sku-car', quantity: 1, unitPrice: 1500000 }],
      shippingAddress: ADDRESS,
    },
  },
  flaky: {
    summary:
      'Paid after retries: an orderId starting with `flaky` (the gateway fails twice)',
    value: {
      orderId: 'flaky-1001',
      customerId: 'cust-42',
      currency: 'EUR',
      items: [{ productId: 'sku-1', quantity: 1, unitPrice: 1999 }],
      shippingAddress: ADDRESS,
    },
  },
  yen: {
    summary: 'A currency without minor units: 1 500 JPY is `1500`',
    value: {
      customerId: 'cust-7',
      currency: 'JPY',
      items: [{ productId: 'sku-tea', quantity: 3, unitPrice: 500 }],
      shippingAddress: {
        street: '1-1 Chiyoda',
        city: 'Tokyo',
        postalCode: '100-0001',
        country: 'JP',
      },
    },
  },
} as const;

/** The order and its history the `paid` example places, built by the domain itself. */
const placed = placeOrder(
  PlaceOrderRequest.parse(ORDER_EXAMPLES.paid.value),
  { correlationId: 'req-7f3a', causationId: null },
  EXAMPLE_CLOCK,
);

const EXAMPLE_LETTER_ID = 'order.placed.v1.dead-letter:0:42';

/** A parked dead letter, as `GET /dead-letters/{id}` shows it. */
const EXAMPLE_DEAD_LETTER = DeadLetterView.parse({
  id: EXAMPLE_LETTER_ID,
  source: 'consumer',
  original: {
    topic: 'order.placed.v1',
    partition: 0,
    offset: '17',
    timestamp: 1736935200000,
    key: Buffer.from('o-1').toString('base64'),
    value: Buffer.from('not json').toString('base64'),
    headers: [],
    keyText: 'o-1',
    valueText: 'not json',
  },
  error: {
    class: 'poison',
    name: 'NotJsonRecordError',
    message: 'the record value is not JSON',
    stack: null,
  },
  consumer: 'payment',
  attempt: 0,
  correlationId: null,
  failedAt: '2025-01-15T10:00:01.000Z',
  status: 'PARKED',
  redriveAt: null,
  history: [
    {
      at: '2025-01-15T10:00:02.000Z',
      action: 'RECEIVED',
      by: 'dlq-reprocessor',
      note: null,
    },
    {
      at: '2025-01-15T10:00:02.000Z',
      action: 'PARKED',
      by: 'dlq-reprocessor',
      note: 'poison: waits for an operator',
    },
  ],
  redrivenFrom: null,
  lineageId: EXAMPLE_LETTER_ID,
  redrivenTo: [],
});

/**
 * What the document says of every route. Typed by the route lists of
 * infra/http-api.ts, so a route added there without documentation fails to compile
 * (and the tests, which compare the document with the synthesized template).
 */
const ROUTE_DOCS: Readonly<Record<DocumentedRoute, RouteDoc>> = {
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
  'GET /dead-letters': {
    summary: 'List dead letters',
    description:
      'Pages of stored dead letters, filtered by status and/or original topic; sorted by time, newest first, only when filtered by status (docs/domain.md section 7).',
    tag: 'dead-letters',
    query: DeadLetterListQuery,
    success: {
      200: {
        description: 'A page; pass `cursor` to get the next one.',
        schema: 'DeadLetterPage',
        example: { items: [EXAMPLE_DEAD_LETTER], cursor: null },
      },
    },
    failures: {
      400: {
        description: 'A query parameter is not valid.',
        problems: ['validation', 'invalid-cursor'],
      },
    },
    callsDependencies: true,
  },
  'GET /dead-letters/{id}': {
    summary: 'Show a dead letter',
    description:
      'The letter: the original record (key and value also as text where UTF-8), the error, its history and lineage.',
    tag: 'dead-letters',
    success: {
      200: {
        description: 'The dead letter.',
        schema: 'DeadLetterView',
        example: EXAMPLE_DEAD_LETTER,
      },
    },
    failures: {
      404: {
        description: 'No such dead letter.',
        problems: ['dead-letter-not-found', 'route-not-found'],
      },
    },
    callsDependencies: true,
  },
  'POST /dead-letters/{id}/redrive': {
    summary: 'Redrive a dead letter',
    description:
      'Sends the original record (or a corrected value) back to its topic and marks the letter REDRIVEN. A corrected value for one of our topics must pass the event schema. The body is optional.',
    tag: 'dead-letters',
    body: {
      schema: 'RedriveRequest',
      required: false,
      description:
        'Optional: `value`, the JSON to send instead of the original; `note`, up to 500 characters.',
      examples: {
        asIs: { summary: 'As it was, with a note', value: { note: 'retry' } },
        corrected: {
          summary: 'With a corrected value',
          value: {
            value: { eventId: '…the corrected event…' },
            note: 'fixed by hand',
          },
        },
      },
    },
    success: {
      200: {
        description: 'Redriven: the letter, as `GET` shows it.',
        schema: 'DeadLetterView',
      },
    },
    failures: {
      400: {
        description:
          'The body is not JSON or not valid; or the corrected value breaks the event contract.',
        problems: ['invalid-json', 'validation'],
      },
      404: {
        description: 'No such dead letter.',
        problems: ['dead-letter-not-found', 'route-not-found'],
      },
      409: {
        description:
          'Not SCHEDULED or PARKED, or there is no value to send (send a corrected one).',
        problems: ['invalid-state'],
      },
      415: {
        description: 'A body that is not `application/json`.',
        problems: ['unsupported-media-type'],
      },
    },
    callsDependencies: true,
  },
  'POST /dead-letters/redrive': {
    summary: 'Redrive many dead letters',
    description:
      'Redrives each id in turn; one that cannot be redriven is reported in `results` and the others go on.',
    tag: 'dead-letters',
    body: {
      schema: 'RedriveManyRequest',
      required: true,
      description: '1 to 100 ids, and an optional note.',
      examples: {
        two: {
          summary: 'Two letters',
          value: {
            ids: [EXAMPLE_LETTER_ID, 'order.placed.v1.dead-letter:0:43'],
            note: 'after the fix of 15 Jan',
          },
        },
      },
    },
    success: {
      200: {
        description: 'One result per id.',
        schema: 'RedriveManyResponse',
        example: {
          results: [
            { id: EXAMPLE_LETTER_ID, status: 'REDRIVEN' },
            {
              id: 'order.placed.v1.dead-letter:0:43',
              error: 'Not found',
              detail: 'no dead letter order.placed.v1.dead-letter:0:43',
            },
          ],
        },
      },
    },
    failures: {
      400: {
        description:
          'The body is not JSON or not valid (an id that is not `<topic>:<partition>:<offset>`).',
        problems: ['invalid-json', 'validation'],
      },
      415: {
        description: 'Not `application/json`.',
        problems: ['unsupported-media-type'],
      },
    },
    callsDependencies: true,
  },
  'POST /dead-letters/{id}/discard': {
    summary: 'Discard a dead letter',
    description:
      'Marks a SCHEDULED or PARKED letter DISCARDED, with the reason in its history. Nothing is deleted.',
    tag: 'dead-letters',
    body: {
      schema: 'DiscardRequest',
      required: true,
      description: 'Why: 1-500 characters.',
      examples: {
        testData: { summary: 'A reason', value: { reason: 'test data' } },
      },
    },
    success: {
      200: {
        description: 'Discarded: the letter, as `GET` shows it.',
        schema: 'DeadLetterView',
      },
    },
    failures: {
      400: {
        description: 'The body is not JSON, or has no valid reason.',
        problems: ['invalid-json', 'validation'],
      },
      404: {
        description: 'No such dead letter.',
        problems: ['dead-letter-not-found', 'route-not-found'],
      },
      409: {
        description: 'Not SCHEDULED or PARKED.',
        problems: ['invalid-state'],
      },
      415: {
        description: 'Not `application/json`.',
        problems: ['unsupported-media-type'],
      },
    },
    callsDependencies: true,
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

/** The path parameters of a route, by name. */
const PATH_PARAMETERS: Readonly<
  Record<string, { schema: z.ZodType; description: string }>
> = {
  orderId: {
    schema: OrderId,
    description:
      'The order’s id: 1-64 of `A-Z a-z 0-9 _ -` (anything else is 404).',
  },
  id: {
    schema: DeadLetterId,
    description:
      'The dead letter’s id, `<dead-letter topic>:<partition>:<offset>`, percent-encoded or not (anything else is 404).',
  },
};

const TAGS = [
  {
    name: 'orders',
    description:
      'Place, read and cancel orders (docs/domain.md section 4). Open, or behind a JWT authorizer when the stage sets `api.jwt`.',
  },
  {
    name: 'health',
    description: 'Probes: always open.',
  },
  {
    name: 'dead-letters',
    description:
      'The operators’ routes over stored dead letters (docs/domain.md section 7): IAM (SigV4) on AWS, a bearer token locally.',
  },
];

const DESCRIPTION = `Orders, payments and dead-letter reprocessing on AWS Lambda, with Kafka (Amazon MSK) between the functions. This is the contract of the API Gateway HTTP API (payload format 2.0) in front of the order function and the dead-letter reprocessor, generated from the zod schemas the functions use (docs/openapi.md).

**Money is a promise.** A \`2xx\` means the effect will happen whatever fails afterwards; a \`503\` means nothing happened and nothing will, so the request may be sent again (with the same \`Idempotency-Key\` for \`POST /orders\`). No request, however malformed, is answered \`5xx\` except \`503\` for a dependency that is down.

**Errors** from the functions are \`application/problem+json\` (RFC 9457): \`type\` is \`/problems/<slug>\`, stable; each route lists the types it can answer. Any request with a body over 64 KiB is \`413 payload-too-large\`. API Gateway itself answers some requests before a function sees them, with a JSON \`{"message": ...}\` body: \`403\` (admin routes, unsigned), \`401\` (JWT routes, no or a bad token), \`404\` (no such route), \`413\` (over 10 MB), \`429\` (throttled) and \`503\` (the function took more than 30 s).

**Correlation:** send \`x-correlation-id\` (1-256 printable ASCII characters) to follow a request through the logs and Kafka headers; every answer of a function carries it back (the request id when none was sent).`;

/** `{orderId}` of `/orders/{orderId}/events`. */
function pathParameterNames(path: string): string[] {
  return [...path.matchAll(/\{([^}+]+)\+?\}/g)].map((match) => match[1] ?? '');
}

/**
 * A parameter's JSON Schema from zod, without `$schema`; a named schema inside it
 * becomes a `$ref` to `components.schemas`.
 */
function jsonSchema(schema: z.ZodType): JsonObject {
  const {
    $schema: _dialect,
    $defs,
    ...rest
  } = z.toJSONSchema(schema, {
    io: 'input',
    metadata: componentRegistry(),
  }) as JsonObject & { $defs?: Record<string, unknown> };
  for (const name of Object.keys($defs ?? {})) {
    if (!componentRegistry().has(schemaNamed(name))) {
      throw new Error(`parameter schema ${name} is not a component`);
    }
  }
  return JSON.parse(
    JSON.stringify(rest).replaceAll('"#/$defs/', '"#/components/schemas/'),
  ) as JsonObject;
}

function schemaNamed(name: string): z.ZodType {
  const all: Record<string, z.ZodType> = {
    ...Object.fromEntries(
      Object.entries(SHARED_SCHEMAS).map(([id, { schema }]) => [id, schema]),
    ),
    ...REQUEST_SCHEMAS,
    ...RESPONSE_SCHEMAS,
  };
  const schema = all[name];
  if (!schema) throw new Error(`no schema named ${name}`);
  return schema;
}

function componentRef(name: string): string {
  return `#/components/schemas/${name}`;
}

let registry: z.core.$ZodRegistry<{ id: string; description?: string }>;

/** Every named schema: the shared ones, and every request and response body. */
function componentRegistry() {
  if (registry) return registry;
  registry = z.registry<{ id: string; description?: string }>();
  for (const [id, { schema, description }] of Object.entries(SHARED_SCHEMAS)) {
    registry.add(schema, { id, ...(description ? { description } : {}) });
  }
  for (const [id, schema] of Object.entries({
    ...REQUEST_SCHEMAS,
    ...RESPONSE_SCHEMAS,
  })) {
    registry.add(schema, { id });
  }
  return registry;
}

/**
 * `components.schemas`: what a client sends (request bodies, and the schemas they and
 * the parameters refer to) read with `io: 'input'`, responses as they are sent
 * (`io: 'output'`: a zod object drops unknown keys, so its output has
 * `additionalProperties: false`). A schema on both sides must read the same both
 * ways, or this throws: it would need a name for each.
 */
function componentSchemas(): Record<string, JsonObject> {
  const convert = (io: 'input' | 'output') =>
    z.toJSONSchema(componentRegistry(), {
      io,
      uri: componentRef,
      metadata: componentRegistry(),
    }).schemas as Record<string, JsonObject>;
  const input = convert('input');
  const output = convert('output');
  const sent = referencedFrom(input, [
    ...Object.keys(REQUEST_SCHEMAS),
    ...PARAMETER_COMPONENTS,
  ]);
  const answered = referencedFrom(output, Object.keys(RESPONSE_SCHEMAS));
  const schemas: Record<string, JsonObject> = {};
  for (const name of Object.keys(input).sort()) {
    if (
      sent.has(name) &&
      answered.has(name) &&
      JSON.stringify(input[name]) !== JSON.stringify(output[name])
    ) {
      throw new Error(
        `schema ${name} differs as input and as output: give each its own name`,
      );
    }
    const chosen = sent.has(name) ? input[name] : output[name];
    if (!chosen) throw new Error(`no JSON Schema for ${name}`);
    const { $schema: _dialect, $id: _id, ...rest } = chosen;
    schemas[name] = rest;
  }
  return schemas;
}

/** The named schemas of the parameters (path and query). */
const PARAMETER_COMPONENTS = ['OrderId', 'DeadLetterId', 'DeadLetterStatus'];

/** The names `roots` refer to, themselves included, through `$ref`s. */
function referencedFrom(
  schemas: Readonly<Record<string, JsonObject>>,
  roots: readonly string[],
): Set<string> {
  const seen = new Set<string>();
  const pending = [...roots];
  for (let name = pending.pop(); name !== undefined; name = pending.pop()) {
    if (seen.has(name)) continue;
    seen.add(name);
    const text = JSON.stringify(schemas[name] ?? {});
    for (const match of text.matchAll(/"#\/components\/schemas\/([^"]+)"/g)) {
      if (match[1]) pending.push(match[1]);
    }
  }
  return seen;
}

function problemSchema(status: number, problems: readonly ProblemSlug[]) {
  return {
    allOf: [
      { $ref: componentRef('Problem') },
      {
        type: 'object',
        properties: {
          type: { enum: problems.map((slug) => `/problems/${slug}`) },
          status: { const: status },
        },
      },
    ],
  };
}

function problemContent(status: number, problems: readonly ProblemSlug[]) {
  return {
    'application/problem+json': { schema: problemSchema(status, problems) },
  };
}

function problemDescription(
  description: string,
  problems: readonly ProblemSlug[],
): string {
  const lines = problems.map(
    (slug) => `- \`/problems/${slug}\`: ${PROBLEM_TYPES[slug]}`,
  );
  return [description, '', ...lines].join('\n');
}

const CORRELATION = {
  'x-correlation-id': { $ref: '#/components/headers/CorrelationId' },
};

function headerRefs(
  names: readonly ('Location' | 'Retry-After')[] = [],
): Record<string, { $ref: string }> {
  const refs: Record<string, { $ref: string }> = { ...CORRELATION };
  for (const name of names) {
    refs[name] = {
      $ref: `#/components/headers/${name === 'Location' ? 'Location' : 'RetryAfter'}`,
    };
  }
  return refs;
}

function operation(route: DocumentedRoute): OpenApiOperation {
  const doc = ROUTE_DOCS[route];
  const [, path = ''] = route.split(' ');
  const admin = (ADMIN_ROUTES as readonly string[]).includes(route);
  const open = PUBLIC_ROUTES.has(route);

  const parameters: OpenApiParameter[] = pathParameterNames(path).map(
    (name) => {
      const known = PATH_PARAMETERS[name];
      if (!known) throw new Error(`no description of path parameter {${name}}`);
      return {
        name,
        in: 'path',
        required: true,
        description: known.description,
        schema: jsonSchema(known.schema),
      };
    },
  );
  for (const [name, field] of Object.entries(doc.query?.shape ?? {})) {
    const schema = jsonSchema(field as z.ZodType);
    parameters.push({
      name,
      in: 'query',
      required: false,
      description: QUERY_DESCRIPTIONS[name] ?? name,
      schema,
    });
  }
  for (const header of doc.headers ?? []) {
    parameters.push({ $ref: `#/components/parameters/${header}` });
  }
  parameters.push({ $ref: '#/components/parameters/CorrelationId' });

  const responses: Record<string, OpenApiResponse | { $ref: string }> = {};
  for (const [status, answer] of Object.entries(doc.success)) {
    responses[status] = {
      description: answer.description,
      headers: headerRefs(answer.headers),
      content: {
        'application/json': {
          schema: { $ref: componentRef(answer.schema) },
          ...(answer.example === undefined
            ? {}
            : {
                examples: {
                  example: { summary: 'Example', value: answer.example },
                },
              }),
        },
      },
    };
  }
  // Every route can meet a path the gateway routes but the function's router does
  // not match: an empty segment (`//orders`), or an id holding `%2F`.
  const failures: Readonly<Record<number, Failure>> = {
    404: ROUTE_NOT_FOUND,
    ...doc.failures,
  };
  for (const [status, failure] of Object.entries(failures)) {
    responses[status] = failureAnswer(Number(status), failure);
  }
  // The answers every route shares are components: `#/components/responses/...`.
  const common = (name: keyof typeof COMMON_RESPONSES) => ({
    $ref: `#/components/responses/${name}`,
  });
  responses['413'] = common('PayloadTooLarge');
  responses['429'] = common('Throttled');
  responses['500'] = common('Internal');
  if (doc.callsDependencies) responses['503'] = common('Unavailable');
  if (admin) responses['403'] = common('Forbidden');
  else if (!open) responses['401'] = common('Unauthorized');

  return {
    operationId: operationId(route),
    summary: doc.summary,
    description: doc.description,
    tags: [doc.tag],
    security: admin ? [{ awsSigv4: [] }] : open ? [] : [{}, { ordersJwt: [] }],
    parameters,
    ...(doc.body
      ? {
          requestBody: {
            required: doc.body.required,
            description: doc.body.description,
            content: {
              'application/json': {
                schema: { $ref: componentRef(doc.body.schema) },
                examples: doc.body.examples,
              },
            },
          },
        }
      : {}),
    responses: Object.fromEntries(
      Object.entries(responses).sort(([a], [b]) => Number(a) - Number(b)),
    ),
  };
}

const QUERY_DESCRIPTIONS: Readonly<Record<string, string>> = {
  status: 'Only letters in this status (then sorted newest first).',
  topic: 'Only letters whose original record was on this topic.',
  limit: 'At most this many letters (1-100; 25 when absent).',
  cursor: 'The `cursor` of the previous page.',
};

function gatewayAnswer(description: string): OpenApiResponse {
  return {
    description,
    content: {
      'application/json': { schema: { $ref: componentRef('GatewayError') } },
    },
  };
}

function failureAnswer(status: number, failure: Failure): OpenApiResponse {
  return {
    description: problemDescription(failure.description, failure.problems),
    headers: headerRefs(failure.retryAfter ? ['Retry-After'] : []),
    content: problemContent(status, failure.problems),
  };
}

/** The 404 of a route whose own answers have no 404 (e.g. `POST //orders`). */
const ROUTE_NOT_FOUND: Failure = {
  description:
    'The path, as the function receives it, matches none of its routes (an empty segment, as in `//orders`).',
  problems: ['route-not-found'],
};

/** The answers every route (or every route of a kind) can give. */
const COMMON_RESPONSES = {
  PayloadTooLarge: failureAnswer(413, {
    description: 'The body is over 64 KiB (any route).',
    problems: ['payload-too-large'],
  }),
  Internal: failureAnswer(500, {
    description: 'A bug, never the request’s fault.',
    problems: ['internal'],
  }),
  Unavailable: failureAnswer(503, {
    description:
      'A dependency is down or too slow: nothing was done. Retry after `Retry-After` seconds.',
    problems: ['unavailable'],
    retryAfter: true,
  }),
  Forbidden: gatewayAnswer(
    'API Gateway: the request is not signed by a principal allowed `execute-api:Invoke` (locally: no or a wrong admin token).',
  ),
  Unauthorized: gatewayAnswer(
    'API Gateway, only when the stage configures JWT: no bearer token, or one the authorizer refuses.',
  ),
  Throttled: gatewayAnswer(
    'API Gateway: over the stage’s throttling limits (not applied locally).',
  ),
} as const satisfies Record<string, OpenApiResponse>;

/** `POST /orders/{orderId}/cancel` -> `postOrdersOrderIdCancel`. */
function operationId(route: DocumentedRoute): string {
  const words = route
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter(Boolean);
  return words
    .map((word, index) =>
      index === 0 ? word : `${word[0]?.toUpperCase()}${word.slice(1)}`,
    )
    .join('');
}

/**
 * Builds the OpenAPI 3.1 document of the HTTP API: every route of
 * `ORDER_ROUTES` and `ADMIN_ROUTES`, in that order.
 *
 * @example
 * ```ts
 * const document = buildOpenApiDocument({ servers: [{ url: 'http://127.0.0.1:3000' }] });
 * document.paths['/orders']?.post?.responses['201'];
 * ```
 */
export function buildOpenApiDocument(
  options: { readonly servers?: readonly OpenApiServer[] } = {},
): OpenApiDocument {
  const paths: Record<
    string,
    Partial<Record<'get' | 'post', OpenApiOperation>>
  > = {};
  for (const route of [...ORDER_ROUTES, ...ADMIN_ROUTES]) {
    const [method, path = ''] = route.split(' ');
    const key = method === 'GET' ? 'get' : 'post';
    paths[path] = { ...paths[path], [key]: operation(route) };
  }
  return {
    openapi: '3.1.1',
    info: {
      title: 'Kafka orders HTTP API',
      version: packageJson.version,
      description: DESCRIPTION,
      license: { name: 'MIT-0', identifier: 'MIT-0' },
    },
    servers: options.servers ?? DEFAULT_SERVERS,
    tags: TAGS,
    paths,
    components: {
      schemas: componentSchemas(),
      parameters: {
        IdempotencyKey: {
          name: 'Idempotency-Key',
          in: 'header',
          required: false,
          description:
            'Makes a retry safe: for 24 h, a request with the same key and body gets the first answer again, without placing a second order; with another body it is `422 idempotency-key-reused`, and while the first is still being answered `409 idempotency-in-progress`.',
          schema: { type: 'string', minLength: 1 },
        },
        CorrelationId: {
          name: 'x-correlation-id',
          in: 'header',
          required: false,
          description:
            'Follows the request through the logs and the Kafka headers of the events it causes: 1-256 printable ASCII characters (anything else is replaced by the request id).',
          schema: { type: 'string', minLength: 1, maxLength: 256 },
        },
      },
      responses: COMMON_RESPONSES,
      headers: {
        CorrelationId: {
          description:
            'The request’s correlation id: the `x-correlation-id` sent, or the API Gateway request id.',
          schema: { type: 'string' },
        },
        RetryAfter: {
          description: 'Seconds to wait before sending the request again.',
          schema: { type: 'integer', minimum: 0 },
        },
        Location: {
          description: 'The placed order: `/orders/{orderId}`.',
          schema: { type: 'string' },
        },
      },
      securitySchemes: {
        awsSigv4: {
          type: 'apiKey',
          name: 'Authorization',
          in: 'header',
          'x-amazon-apigateway-authtype': 'awsSigv4',
          description:
            'On AWS: AWS IAM, a SigV4-signed request from a principal allowed `execute-api:Invoke` on the route (e.g. `awscurl --service execute-api`). Locally (`npm run dev`): `Authorization: Bearer <admin token printed at start>`.',
        },
        ordersJwt: {
          type: 'http',
          scheme: 'bearer',
          bearerFormat: 'JWT',
          description:
            'Only when the stage configures `api.jwt` (issuer and audience, infra/config.ts): a JWT the API Gateway JWT authorizer accepts. Otherwise the order routes are open. Locally the token is required but not verified.',
        },
      },
    },
  };
}

/**
 * The document as `docs/openapi.json` holds it (before biome formats it): JSON with
 * two-space indentation and a final newline.
 *
 * @example
 * ```ts
 * writeFileSync('docs/openapi.json', renderOpenApiDocument());
 * ```
 */
export function renderOpenApiDocument(
  document: OpenApiDocument = buildOpenApiDocument(),
): string {
  return `${JSON.stringify(document, null, 2)}\n`;
}
