/**
 * No request gets a 5xx (docs/domain.md section 4): property tests over both HTTP
 * functions, the order API and the dead-letter admin API, with hostile API Gateway
 * events (test/http-arbitraries.ts) and in-memory stores. Every answer is a well-formed
 * response below 500; every 4xx is problem+json and wrote nothing.
 */
import { validateHeaderValue } from 'node:http';
import { Logger } from '@aws-lambda-powertools/logger';
import type { Context } from 'aws-lambda';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { HttpEvent, HttpResult } from '#commons/http.ts';
import type { DeadLetter } from '#domain/dead-letter.ts';
import { placeOrder } from '#domain/order.ts';
import { DEFAULT_REDRIVE_POLICY } from '#domain/redrive-policy.ts';
import { loadFixture } from '../fixtures/fixtures.ts';
import {
  adminApiRequest,
  type FuzzRequest,
  KNOWN_DEAD_LETTER_IDS,
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

/**
 * Runs per property: about 1 s each on a quiet 2-core machine. FUZZ_RUNS=5000 for a
 * longer hunt.
 */
const RUNS = Number(process.env.FUZZ_RUNS ?? 300);

type Handler = (event: HttpEvent, context: Context) => Promise<HttpResult>;

let orderApi: OrderApiModule;
let reprocessor: ReprocessorModule;

const fixture = loadFixture('aws-events/http-api-no-auth.json') as HttpEvent;
const context = {
  functionName: 'fuzz',
  awsRequestId: 'fuzz-request',
  getRemainingTimeInMillis: () => 30_000,
} as Context;
const logger = new Logger({ serviceName: 'fuzz', logLevel: 'SILENT' });

beforeAll(async () => {
  ({ orderApi, reprocessor } = await importHttpModules());
});

afterAll(() => {
  vi.unstubAllEnvs();
});

/** The event API Gateway would send for a request, with some liberties taken. */
function eventOf(
  request: FuzzRequest,
  extra: {
    base64: boolean;
    decodePath: boolean;
    pathParameters: Record<string, string> | undefined;
    iam: string | null | undefined;
  },
): HttpEvent {
  const event = structuredClone(fixture);
  const path = extra.decodePath ? decodePath(request.path) : request.path;
  event.routeKey = '$default';
  event.rawPath = path;
  event.rawQueryString = new URLSearchParams(request.query).toString();
  event.requestContext.http.method = request.method;
  event.requestContext.http.path = path;
  event.requestContext.requestId = 'ZhNHJhhLjoEEPiw=';
  event.headers = { ...request.headers };
  if (request.query) event.queryStringParameters = { ...request.query };
  if (extra.pathParameters) event.pathParameters = extra.pathParameters;
  if (extra.iam !== undefined) {
    (event.requestContext as { authorizer?: unknown }).authorizer = {
      iam: { userArn: extra.iam },
    };
  }
  const body = request.body;
  if (body?.kind === 'bytes') {
    event.body = Buffer.from(body.bytes).toString('base64');
    event.isBase64Encoded = true;
  } else if (body?.kind === 'text') {
    event.body = extra.base64
      ? Buffer.from(body.text, 'utf8').toString('base64')
      : body.text;
    event.isBase64Encoded = extra.base64;
  }
  return event;
}

/** API Gateway hands functions the path percent-decoded, segment by segment. */
function decodePath(path: string): string {
  return path
    .split('/')
    .map((part) => {
      try {
        return decodeURIComponent(part);
      } catch {
        return part;
      }
    })
    .join('/');
}

const eventOfRequest = (request: fc.Arbitrary<FuzzRequest>) =>
  fc
    .record({
      request,
      base64: fc.boolean(),
      decodePath: fc.boolean(),
      pathParameters: fc.option(
        fc.record({ orderId: segment, id: segment }, { requiredKeys: [] }),
        { nil: undefined },
      ),
      iam: fc.option(fc.oneof(fc.constant(null), fc.string()), {
        nil: undefined,
      }),
    })
    .map(({ request, ...extra }) => eventOf(request, extra));

/** Asserts what every answer must be; `wrote` says whether any double changed. */
function assertAnswer(result: HttpResult, wrote: boolean): void {
  expect(Number.isInteger(result.statusCode)).toBe(true);
  const status = result.statusCode ?? 0;
  expect(status).toBeGreaterThanOrEqual(200);
  expect(status, result.body).toBeLessThan(500);
  expect(typeof result.body).toBe('string');
  for (const [name, value] of Object.entries(result.headers ?? {})) {
    // A header Node (or API Gateway) cannot send would turn into a 502 on the way.
    expect(() => validateHeaderValue(name, String(value))).not.toThrow();
  }
  if (status >= 400) {
    expect(result.headers?.['content-type']).toBe('application/problem+json');
    const problem = JSON.parse(result.body ?? '');
    expect(problem.status).toBe(status);
    expect(problem.type).toMatch(/^\/problems\/[a-z-]+$/);
    expect(typeof problem.title).toBe('string');
    expect(wrote).toBe(false);
  }
}

function seededOrders(): MemoryOrders {
  const orders = new MemoryOrders();
  const clock = fixedClock();
  const causation = { correlationId: 'c-1', causationId: null };
  const pending = placeOrder(
    validOrderRequest('o-pending') as never,
    causation,
    clock,
  );
  void orders.create(pending.order, pending.event);
  const paid = placeOrder(
    validOrderRequest('o-refunded') as never,
    causation,
    clock,
  );
  void orders.create({ ...paid.order, status: 'REFUNDED' }, paid.event);
  orders.writes = 0;
  return orders;
}

function seededDeadLetters(): MemoryDeadLetters {
  const clock = fixedClock();
  const placed = placeOrder(
    validOrderRequest('o-dead') as never,
    { correlationId: 'c-1', causationId: null },
    clock,
  ).event;
  const at = '2025-01-01T00:00:00.000Z';
  const letter = (
    id: string,
    topic: string,
    status: DeadLetter['status'],
    value: string | null,
  ): DeadLetter => ({
    id,
    source: 'consumer',
    original: {
      topic,
      partition: 0,
      offset: '1',
      timestamp: 0,
      key: Buffer.from('o-dead').toString('base64'),
      value,
      headers: [],
    },
    error: {
      class: 'poison',
      name: 'PoisonRecordError',
      message: 'x',
      stack: null,
    },
    consumer: 'payment',
    attempt: 0,
    correlationId: 'c-1',
    failedAt: at,
    status,
    redriveAt: null,
    history: [{ at, action: 'RECEIVED', by: 'dlq-reprocessor', note: null }],
    redrivenFrom: null,
    lineageId: id,
    redrivenTo: [],
  });
  const [first, second, third] = KNOWN_DEAD_LETTER_IDS;
  return new MemoryDeadLetters([
    letter(
      first,
      'order.placed.v1',
      'PARKED',
      Buffer.from(JSON.stringify(placed)).toString('base64'),
    ),
    letter(second, 'order.placed.v1', 'PARKED', null),
    letter(
      third,
      'legacy.topic',
      'DISCARDED',
      Buffer.from([0xff]).toString('base64'),
    ),
  ]);
}

describe('order API: no request gets a 5xx', () => {
  it('answers every request below 500, problem+json for 4xx, writing nothing then', async () => {
    await fc.assert(
      fc.asyncProperty(eventOfRequest(orderApiRequest), async (httpEvent) => {
        // Prepare
        const orders = seededOrders();
        const publisher = new MemoryPublisher();
        const api = orderApi.createOrderApi({
          orders,
          publisher,
          clock: fixedClock(),
          logger,
          ready: async () => ({ kafka: true, store: true }),
        }) as unknown as Handler;

        // Act
        const result = await api(httpEvent, context);

        // Assess
        assertAnswer(result, orders.writes + publisher.writes > 0);
      }),
      { numRuns: RUNS },
    );
  });
});

describe('dead-letter admin API: no request gets a 5xx', () => {
  it('answers every request below 500, problem+json for 4xx, writing nothing then', async () => {
    await fc.assert(
      fc.asyncProperty(eventOfRequest(adminApiRequest), async (httpEvent) => {
        // Prepare
        const deadLetters = seededDeadLetters();
        const publisher = new MemoryPublisher();
        const admin = reprocessor.createAdminHandler({
          deadLetters,
          publisher,
          policy: DEFAULT_REDRIVE_POLICY,
          now: () => new Date('2025-01-02T00:00:00.000Z'),
          random: () => 0.5,
          logger,
        }) as unknown as Handler;

        // Act
        const result = await admin(httpEvent, context);

        // Assess
        assertAnswer(result, deadLetters.writes + publisher.writes > 0);
      }),
      { numRuns: RUNS },
    );
  });
});

/** An admin handler over the seeded store, and the store. */
function adminApi() {
  const deadLetters = seededDeadLetters();
  const publisher = new MemoryPublisher();
  const admin = reprocessor.createAdminHandler({
    deadLetters,
    publisher,
    policy: DEFAULT_REDRIVE_POLICY,
    now: () => new Date('2025-01-02T00:00:00.000Z'),
    random: () => 0.5,
    logger,
  }) as unknown as Handler;
  return { admin, deadLetters, publisher };
}

function plainEvent(
  method: string,
  path: string,
  options: { body?: string; headers?: Record<string, string> } = {},
): HttpEvent {
  return eventOf(
    {
      method,
      path,
      query: undefined,
      headers: {
        ...(options.body === undefined
          ? {}
          : { 'content-type': 'application/json' }),
        ...options.headers,
      },
      body:
        options.body === undefined
          ? undefined
          : { kind: 'text', text: options.body },
    },
    {
      base64: false,
      decodePath: false,
      pathParameters: undefined,
      iam: undefined,
    },
  );
}

describe('what the properties found', () => {
  it.each([
    ['a control character', 'a\u0000b'],
    ['a lone surrogate', '\ud800'],
    ['a line break', 'a\r\nset-cookie: x=1'],
    ['257 characters', 'x'.repeat(257)],
  ])(
    'takes the request id, not an x-correlation-id with %s, which no response header can carry',
    async (_, given) => {
      // Prepare
      const { admin } = adminApi();
      const event = plainEvent('GET', '/dead-letters', {
        headers: { 'x-correlation-id': given },
      });

      // Act
      const result = await admin(event, context);

      // Assess
      expect(result.statusCode).toBe(200);
      expect(result.headers?.['x-correlation-id']).toBe(
        event.requestContext.requestId,
      );
    },
  );

  it.each([
    ['a lone %', '/dead-letters/%'],
    ['a broken escape', '/dead-letters/%E0%A4%A/redrive'],
    [
      'an id over the store key limit',
      `/dead-letters/${'t'.repeat(3_000)}:0:1`,
    ],
    ['no id shape at all', '/dead-letters/..%2f..'],
  ])(
    'answers a dead-letter id that is %s 404 without asking the store',
    async (_, path) => {
      // Prepare
      const { admin, deadLetters } = adminApi();
      const get = vi.spyOn(deadLetters, 'get');

      // Act
      const result = await admin(
        plainEvent(path.endsWith('/redrive') ? 'POST' : 'GET', path),
        context,
      );

      // Assess
      expect(result.statusCode).toBe(404);
      expect(JSON.parse(result.body ?? '').type).toBe(
        '/problems/dead-letter-not-found',
      );
      expect(get).not.toHaveBeenCalled();
    },
  );

  it('refuses a bulk redrive naming an id that cannot be one, before any redrive', async () => {
    // Prepare
    const { admin, deadLetters, publisher } = adminApi();

    // Act
    const result = await admin(
      plainEvent('POST', '/dead-letters/redrive', {
        body: JSON.stringify({
          ids: [KNOWN_DEAD_LETTER_IDS[0], 'x'.repeat(3_000)],
        }),
      }),
      context,
    );

    // Assess
    expect(result.statusCode).toBe(400);
    expect(JSON.parse(result.body ?? '').errors[0].field).toBe('ids.1');
    expect(deadLetters.writes + publisher.writes).toBe(0);
  });

  it.each([
    ['arrays', '[', ']'],
    ['objects', '{"a":', '}'],
  ])(
    'answers a corrected value of %s nested 10 000 deep 400 invalid-json (serializing it overflowed the stack)',
    async (_, open, close) => {
      // Prepare
      const { admin, deadLetters, publisher } = adminApi();
      const deep = `${open.repeat(10_000)}1${close.repeat(10_000)}`;
      const id = encodeURIComponent(KNOWN_DEAD_LETTER_IDS[2]);

      // Act
      const result = await admin(
        plainEvent('POST', `/dead-letters/${id}/redrive`, {
          body: `{"value":${deep}}`,
        }),
        context,
      );

      // Assess
      expect(result.statusCode).toBe(400);
      expect(JSON.parse(result.body ?? '').type).toBe('/problems/invalid-json');
      expect(deadLetters.writes + publisher.writes).toBe(0);
    },
  );
});
