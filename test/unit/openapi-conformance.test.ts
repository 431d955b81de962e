/**
 * The contract holds: both HTTP functions, behind the API Gateway matching and events
 * of the local runtime, answer only what docs/openapi.json says each route answers,
 * with bodies its schemas accept (the documented requests and examples, and the hostile
 * ones of test/http-arbitraries.ts), over in-memory stores.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import type { Context } from 'aws-lambda';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { HttpEvent, HttpResult } from '#commons/http.ts';
import { Problem } from '#commons/http.ts';
import type { DeadLetter } from '#domain/dead-letter.ts';
import { TransientError } from '#domain/failures.ts';
import { placeOrder } from '#domain/order.ts';
import { DEFAULT_REDRIVE_POLICY } from '#domain/redrive-policy.ts';
import { ADMIN_ROUTES, ORDER_ROUTES } from '#infra/http-api.ts';
import {
  buildOpenApiDocument,
  type OpenApiOperation,
  type OpenApiResponse,
  RESPONSE_SCHEMAS,
} from '#infra/openapi.ts';
import { buildHttpEvent } from '../../local/runtime/http/event.ts';
import { matchRoute } from '../../local/runtime/http/routing.ts';
import {
  adminApiRequest,
  type FuzzRequest,
  KNOWN_DEAD_LETTER_IDS,
  KNOWN_ORDER_IDS,
  orderApiRequest,
  segment,
  validOrderRequest,
} from '../http-arbitraries.ts';
import { fixedClock } from './domain/fixtures.ts';
import {
  importHttpModules,
  type OrderApiModule,
  type ReprocessorModule,
} from './http-modules.ts';
import {
  MemoryDeadLetters,
  MemoryOrders,
  MemoryPublisher,
} from './memory-stores.ts';

/** Runs per property (FUZZ_RUNS=5000 for a longer hunt). */
const RUNS = Number(process.env.FUZZ_RUNS ?? 200);

type Handler = (event: HttpEvent, context: Context) => Promise<HttpResult>;

let orderApi: OrderApiModule;
let reprocessor: ReprocessorModule;

const document = buildOpenApiDocument();
const context = {
  functionName: 'contract',
  awsRequestId: 'contract-request',
  getRemainingTimeInMillis: () => 30_000,
} as Context;
const logger = new Logger({ serviceName: 'contract', logLevel: 'SILENT' });

beforeAll(async () => {
  ({ orderApi, reprocessor } = await importHttpModules());
});

afterAll(() => {
  vi.unstubAllEnvs();
});

/** Requests as the document describes them: a route, known ids, its examples. */
function documentedRequest(
  routes: readonly string[],
  ids: readonly string[],
): fc.Arbitrary<FuzzRequest> {
  return fc
    .record({
      route: fc.constantFrom(...routes),
      id: fc.oneof(fc.constantFrom(...ids), segment),
      example: fc.nat(),
    })
    .map(({ route, id, example }) => {
      const [method = '', template = ''] = route.split(' ');
      const path = template.replace(/\{[^}]+\}/, encoded(id));
      const operation = operationOf(route);
      const examples = Object.values(
        operation?.requestBody?.content['application/json']?.examples ?? {},
      );
      const chosen = examples[example % Math.max(examples.length, 1)];
      return {
        method,
        path,
        query: undefined,
        headers: chosen
          ? { 'content-type': 'application/json' }
          : ({} as Record<string, string>),
        body: chosen
          ? { kind: 'text', text: JSON.stringify(chosen.value) }
          : undefined,
      };
    });
}

/** A path segment percent-encoded, or as it is when it cannot be (a lone surrogate). */
function encoded(segment: string): string {
  try {
    return encodeURIComponent(segment);
  } catch {
    return segment;
  }
}

function operationOf(routeKey: string): OpenApiOperation | undefined {
  const [method = '', path = ''] = routeKey.split(' ');
  return document.paths[path]?.[method === 'GET' ? 'get' : 'post'];
}

/**
 * The event API Gateway sends a function for a request to one of its `routes`, or
 * undefined: no route of that function (API Gateway answers 404, or another function).
 */
function eventOf(
  request: FuzzRequest,
  routes: readonly string[],
): HttpEvent | undefined {
  const query = new URLSearchParams(request.query).toString();
  const match = matchRoute(
    routes.map((routeKey) => ({ routeKey })),
    request.method,
    request.path.split('?')[0] ?? '',
  );
  if (!match) return undefined;
  const body = request.body;
  return buildHttpEvent(
    {
      method: request.method,
      path: request.path.split('?')[0] ?? '',
      rawQueryString: query,
      headers: request.headers,
      body:
        body === undefined
          ? Buffer.alloc(0)
          : body.kind === 'text'
            ? Buffer.from(body.text, 'utf8')
            : Buffer.from(body.bytes),
      sourceIp: '127.0.0.1',
    },
    { routeKey: match.route.routeKey, pathParameters: match.pathParameters },
    { apiId: 'contract00' },
  ) as HttpEvent;
}

/** Asserts that `result` is an answer the document lists for the event's route. */
function assertDocumented(event: HttpEvent, result: HttpResult): void {
  const route = event.routeKey;
  const status = String(result.statusCode);
  const answer = operationOf(route)?.responses[status];
  const response: OpenApiResponse | undefined =
    answer && '$ref' in answer
      ? document.components.responses[
          answer.$ref.replace('#/components/responses/', '')
        ]
      : answer;
  expect(response, `${route} answered ${status}: ${result.body}`).toBeDefined();
  const headers = result.headers ?? {};
  expect(headers['x-correlation-id'], route).toBeDefined();
  for (const [header, name] of [
    ['location', 'Location'],
    ['retry-after', 'Retry-After'],
  ] as const) {
    const documented = Boolean(response?.headers?.[name]);
    if (headers[header] !== undefined)
      expect(documented, `${route} ${status} ${name}`).toBe(true);
    if (name === 'Location' && documented)
      expect(headers[header]).toBeDefined();
  }
  const type = String(headers['content-type']);
  const media = response?.content?.[type];
  if (!media) throw new Error(`${route} ${status} answered ${type}`);
  const body = JSON.parse(result.body ?? '');
  if (type === 'application/problem+json') {
    const problem = Problem.parse(body);
    const allowed = (
      media.schema as {
        allOf: { properties: { type: { enum: string[] } } }[];
      }
    ).allOf[1]?.properties.type.enum;
    expect(allowed, `${route} ${status}`).toContain(problem.type);
    expect(problem.status).toBe(result.statusCode);
  } else {
    const name = String((media.schema as { $ref: string }).$ref).replace(
      '#/components/schemas/',
      '',
    ) as keyof typeof RESPONSE_SCHEMAS;
    const parsed = RESPONSE_SCHEMAS[name].safeParse(body);
    expect(parsed.error, `${route} ${status} ${name}`).toBeUndefined();
  }
}

/** A publisher that is either fine or down, as Kafka would be. */
function publisher(down: boolean): MemoryPublisher {
  const memory = new MemoryPublisher();
  if (down) {
    memory.publish = async () => {
      throw new TransientError('Kafka is down');
    };
    memory.send = async () => {
      throw new TransientError('Kafka is down');
    };
  }
  return memory;
}

function seededOrders(): MemoryOrders {
  const orders = new MemoryOrders();
  const clock = fixedClock();
  const causation = { correlationId: 'c-1', causationId: null };
  const [pending = '', refunded = ''] = KNOWN_ORDER_IDS;
  const first = placeOrder(
    validOrderRequest(pending) as never,
    causation,
    clock,
  );
  void orders.create(first.order, first.event);
  const second = placeOrder(
    validOrderRequest(refunded) as never,
    causation,
    clock,
  );
  void orders.create({ ...second.order, status: 'REFUNDED' }, second.event);
  return orders;
}

function seededDeadLetters(): MemoryDeadLetters {
  const at = '2025-01-01T00:00:00.000Z';
  const [parked = '', empty = '', discarded = ''] = KNOWN_DEAD_LETTER_IDS;
  const letter = (
    id: string,
    status: DeadLetter['status'],
    value: string | null,
  ): DeadLetter => ({
    id,
    source: 'consumer',
    original: {
      topic: 'legacy.topic',
      partition: 0,
      offset: '1',
      timestamp: 0,
      key: null,
      value,
      headers: [],
    },
    error: { class: 'poison', name: 'X', message: 'x', stack: null },
    consumer: 'payment',
    attempt: 0,
    correlationId: null,
    failedAt: at,
    status,
    redriveAt: null,
    history: [{ at, action: 'RECEIVED', by: 'dlq-reprocessor', note: null }],
    redrivenFrom: null,
    lineageId: id,
    redrivenTo: [],
  });
  return new MemoryDeadLetters([
    letter(parked, 'PARKED', Buffer.from('{"a":1}').toString('base64')),
    letter(empty, 'PARKED', null),
    letter(discarded, 'DISCARDED', Buffer.from([0xff]).toString('base64')),
  ]);
}

describe('the order API answers as docs/openapi.json says', () => {
  it('answers each route only with a documented status, headers and body', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          documentedRequest(ORDER_ROUTES, KNOWN_ORDER_IDS),
          orderApiRequest,
        ),
        fc.boolean(),
        async (request, kafkaDown) => {
          // Prepare
          const event = eventOf(request, ORDER_ROUTES);
          fc.pre(event !== undefined);
          const api = orderApi.createOrderApi({
            orders: seededOrders(),
            publisher: publisher(kafkaDown),
            clock: fixedClock(),
            logger,
            ready: async () => ({
              kafka: !kafkaDown,
              store: true,
              ...(kafkaDown ? { reasons: { kafka: 'unavailable' } } : {}),
            }),
          }) as unknown as Handler;

          // Act
          const result = await api(event as HttpEvent, context);

          // Assess
          assertDocumented(event as HttpEvent, result);
        },
      ),
      { numRuns: RUNS },
    );
  });
});

describe('the dead-letter admin API answers as docs/openapi.json says', () => {
  it('answers each route only with a documented status, headers and body', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          documentedRequest(ADMIN_ROUTES, KNOWN_DEAD_LETTER_IDS),
          adminApiRequest,
        ),
        fc.boolean(),
        async (request, kafkaDown) => {
          // Prepare
          const event = eventOf(request, ADMIN_ROUTES);
          fc.pre(event !== undefined);
          const admin = reprocessor.createAdminHandler({
            deadLetters: seededDeadLetters(),
            publisher: publisher(kafkaDown),
            policy: DEFAULT_REDRIVE_POLICY,
            now: () => new Date('2025-01-02T00:00:00.000Z'),
            random: () => 0.5,
            logger,
          }) as unknown as Handler;

          // Act
          const result = await admin(event as HttpEvent, context);

          // Assess
          assertDocumented(event as HttpEvent, result);
        },
      ),
      { numRuns: RUNS },
    );
  });
});

describe('every documented request, once each, Kafka up and down', () => {
  /** Each route with each known id and each of its examples (or no body). */
  function everyDocumentedRequest(
    routes: readonly string[],
    ids: readonly string[],
  ): FuzzRequest[] {
    return routes.flatMap((route) => {
      const [method = '', template = ''] = route.split(' ');
      const examples = Object.values(
        operationOf(route)?.requestBody?.content['application/json']
          ?.examples ?? {},
      );
      const bodies = examples.length > 0 ? examples : [undefined];
      const paths = template.includes('{')
        ? [...ids, 'no-such-id'].map((id) =>
            template.replace(/\{[^}]+\}/, encoded(id)),
          )
        : [template];
      return paths.flatMap((path) =>
        bodies.map((example) => ({
          method,
          path,
          query: undefined,
          headers: example
            ? { 'content-type': 'application/json' }
            : ({} as Record<string, string>),
          body: example
            ? { kind: 'text' as const, text: JSON.stringify(example.value) }
            : undefined,
        })),
      );
    });
  }

  it('answers the order routes as documented: 200, 201, 202, 404, 409 and 503 among them', async () => {
    // Prepare
    const statuses = new Set<number>();

    for (const kafkaDown of [false, true]) {
      for (const request of everyDocumentedRequest(
        ORDER_ROUTES,
        KNOWN_ORDER_IDS,
      )) {
        const event = eventOf(request, ORDER_ROUTES) as HttpEvent;
        const api = orderApi.createOrderApi({
          orders: seededOrders(),
          publisher: publisher(kafkaDown),
          clock: fixedClock(),
          logger,
          ready: async () => ({ kafka: !kafkaDown, store: true }),
        }) as unknown as Handler;

        // Act
        const result = await api(event, context);

        // Assess
        assertDocumented(event, result);
        statuses.add(result.statusCode ?? 0);
      }
    }
    expect([...statuses]).toEqual(
      expect.arrayContaining([200, 201, 202, 404, 409, 503]),
    );
  });

  it('answers the admin routes as documented: 200, 404 and 409 among them', async () => {
    // Prepare
    const statuses = new Set<number>();

    for (const kafkaDown of [false, true]) {
      for (const request of everyDocumentedRequest(
        ADMIN_ROUTES,
        KNOWN_DEAD_LETTER_IDS,
      )) {
        const event = eventOf(request, ADMIN_ROUTES) as HttpEvent;
        const admin = reprocessor.createAdminHandler({
          deadLetters: seededDeadLetters(),
          publisher: publisher(kafkaDown),
          policy: DEFAULT_REDRIVE_POLICY,
          now: () => new Date('2025-01-02T00:00:00.000Z'),
          random: () => 0.5,
          logger,
        }) as unknown as Handler;

        // Act
        const result = await admin(event, context);

        // Assess
        assertDocumented(event, result);
        statuses.add(result.statusCode ?? 0);
      }
    }
    expect([...statuses]).toEqual(expect.arrayContaining([200, 404, 409, 503]));
  });
});
