/**
 * fast-check generators of hostile HTTP requests for the two HTTP functions (the
 * order API and the dead-letter admin API): odd methods, encoded and traversal-ish
 * paths, huge, duplicate and odd-case headers, and bodies that are not UTF-8, nested
 * 20 000 deep, full of numbers JSON cannot hold or of `__proto__` keys, or just too
 * big. The unit property tests turn them into API Gateway events; the integration test
 * sends them over HTTP to the local API Gateway emulation.
 */
import fc from 'fast-check';

/** A request body: text as sent, or raw bytes (not necessarily UTF-8). */
export type FuzzBody =
  | { readonly kind: 'text'; readonly text: string }
  | { readonly kind: 'bytes'; readonly bytes: Uint8Array };

/** A request as a client sends it, before API Gateway makes an event of it. */
export interface FuzzRequest {
  readonly method: string;
  /** The path as sent: it may be percent-encoded, or not decodable at all. */
  readonly path: string;
  /** Query parameters (API Gateway hands them decoded). */
  readonly query: Readonly<Record<string, string>> | undefined;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: FuzzBody | undefined;
}

/** Dead-letter ids the unit tests' store holds, so paths reach the found branches. */
export const KNOWN_DEAD_LETTER_IDS = [
  'order.placed.v1.dead-letter:0:1',
  'order.placed.v1.dead-letter:0:2',
  'legacy.topic.dead-letter:1:7',
] as const;

/** Order ids the unit tests' store holds. */
export const KNOWN_ORDER_IDS = ['o-pending', 'o-refunded'] as const;

/** Numbers and number-like text JSON has no exact value for, or no value at all. */
const RAW_NUMBERS = [
  '1e400',
  '-1e400',
  '1e-400',
  '-0',
  '0.1',
  '1.0',
  '1e2',
  'NaN',
  'Infinity',
  '-Infinity',
  '9007199254740993',
  '9'.repeat(400),
  '0x10',
  '+1',
  '01',
  '1_000',
  '"1"',
  '"\\ud800"',
  'null',
  'true',
  '[]',
  '{}',
];

const PROTO_KEYS = ['__proto__', 'constructor', 'prototype'] as const;

/** One path segment as sent: encoded, undecodable, traversal-ish, long or plain. */
export const segment: fc.Arbitrary<string> = fc.oneof(
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      ...KNOWN_ORDER_IDS,
      ...KNOWN_DEAD_LETTER_IDS,
      ...KNOWN_DEAD_LETTER_IDS.map(encodeURIComponent),
    ),
  },
  fc.constantFrom(
    'nope',
    '%',
    '%25',
    '%zz',
    '%E0%A4%A',
    '%C0%AF',
    '%00',
    '%2F',
    '..',
    '.',
    '%2e%2e',
    '..%2f..',
    ...PROTO_KEYS,
    'toString',
    'hasOwnProperty',
    ' ',
    'é',
    '\u0000',
    '\ud800',
    'a'.repeat(65),
    'x'.repeat(5_000),
    'o.placed:0:1',
    `${'t'.repeat(300)}:0:1`,
  ),
  fc.string({ unit: 'binary', minLength: 1, maxLength: 30 }),
  fc.stringMatching(/^[A-Za-z0-9_-]{1,70}$/),
);

/** Methods: the usual, lower and mixed case, WebDAV, and prototype names. */
export const method: fc.Arbitrary<string> = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom('GET', 'POST') },
  fc.constantFrom(
    'GET',
    'POST',
    'PUT',
    'PATCH',
    'DELETE',
    'HEAD',
    'OPTIONS',
    'TRACE',
    'get',
    'post',
    'Post',
    'PROPFIND',
    'M-SEARCH',
    ...PROTO_KEYS,
    'toString',
  ),
  fc.stringMatching(/^[A-Za-z]{1,12}$/),
);

/** Paths: every route, with hostile segments in the variable places, and others. */
export const path: fc.Arbitrary<string> = fc.oneof(
  { weight: 2, arbitrary: fc.constantFrom('/orders', '/dead-letters/redrive') },
  fc.constantFrom(
    '/',
    '/orders',
    '/orders/',
    '/ORDERS',
    '//orders',
    '/orders//events',
    '/health',
    '/health/',
    '/dead-letters',
    '/dead-letters/',
    '/dead-letters/redrive',
    '/../../etc/passwd',
    '/orders/../health',
    '/%2e%2e/%2e%2e/etc/passwd',
    '/orders/%2F..%2F..%2Fhealth',
  ),
  segment.map((s) => `/orders/${s}`),
  segment.map((s) => `/orders/${s}/events`),
  segment.map((s) => `/orders/${s}/cancel`),
  segment.map((s) => `/dead-letters/${s}`),
  segment.map((s) => `/dead-letters/${s}/redrive`),
  segment.map((s) => `/dead-letters/${s}/discard`),
  fc.array(segment, { maxLength: 6 }).map((parts) => `/${parts.join('/')}`),
);

const queryValue = fc.oneof(
  fc.constantFrom(
    'PARKED',
    'SCHEDULED',
    'REDRIVEN',
    'parked',
    '',
    '0',
    '1',
    '100',
    '101',
    '-1',
    '1.5',
    '1e400',
    'NaN',
    'Infinity',
    ' 5',
    '0x10',
    'order.placed.v1',
    base64url('{"id":""}'),
    base64url('{"id":"x"}'),
    base64url(`{"id":"${'x'.repeat(3_000)}"}`),
    base64url('{"id":"x","status":"PARKED","sortAt":""}'),
    base64url(`{"status":"PARKED","after":[["","x"]${',null'.repeat(7)}]}`),
    base64url('{"__proto__":"x"}'),
    base64url('[1]'),
    'not-a-cursor',
    'x'.repeat(5_000),
  ),
  fc.string({ unit: 'binary', maxLength: 20 }),
);

/** Query parameters of the list route, and others, prototype names included. */
export const query: fc.Arbitrary<Record<string, string> | undefined> =
  fc.option(
    fc.dictionary(
      fc.constantFrom('status', 'topic', 'limit', 'cursor', ...PROTO_KEYS, 'x'),
      queryValue,
      { maxKeys: 4 },
    ),
    { nil: undefined },
  );

const contentType = fc.oneof(
  { weight: 4, arbitrary: fc.constant('application/json') },
  fc.constantFrom(
    'application/json',
    'application/json; charset=utf-8',
    'application/json; charset=utf-16',
    'APPLICATION/JSON',
    'application/problem+json',
    'application/vnd.api+json',
    'application/jsonp',
    'application/json,text/plain',
    ' application/json',
    'text/plain',
    'application/x-www-form-urlencoded',
    'multipart/form-data; boundary=x',
    '',
  ),
  fc.string({ maxLength: 20 }),
);

const correlationId = fc.oneof(
  fc.constantFrom(
    '',
    '   ',
    'c-1',
    ' padded ',
    'x'.repeat(256),
    'x'.repeat(257),
    'y'.repeat(20_000),
    'a\nb',
    'a\r\nset-cookie: x=1',
    'é',
    '日本',
    '\ud800',
    '\u0000',
  ),
  fc.string({ unit: 'binary', maxLength: 40 }),
);

const headerName = fc.oneof(
  fc.constantFrom(
    'Content-Type',
    'X-Correlation-Id',
    'CONTENT-TYPE',
    'content-length',
    'host',
    'accept',
    'authorization',
    'idempotency-key',
    ...PROTO_KEYS,
  ),
  fc.stringMatching(/^[a-z][a-z0-9-]{0,20}$/),
);

/**
 * Headers as API Gateway hands them (names lower-cased, repeats joined by commas), but
 * with odd-case names, duplicates and huge values mixed in as well.
 */
export const headers: fc.Arbitrary<Record<string, string>> = fc
  .record(
    {
      'content-type': contentType,
      'x-correlation-id': correlationId,
      'idempotency-key': fc.oneof(
        fc.uuid(),
        fc.string({ unit: 'binary', maxLength: 20 }),
      ),
      'x-big': fc.constant('z'.repeat(20_000)),
      extra: fc.dictionary(
        headerName,
        fc.oneof(
          fc.string({ unit: 'binary', maxLength: 30 }),
          fc.constant('application/json,application/json'),
        ),
        { maxKeys: 4 },
      ),
    },
    { requiredKeys: [] },
  )
  .map(({ extra, ...named }) => {
    const merged: Record<string, string> = {};
    for (const [name, value] of Object.entries({ ...named, ...extra })) {
      if (value !== undefined) defineOwn(merged, name, value);
    }
    return merged;
  });

/** A valid order request, the base the mutations below start from. */
export function validOrderRequest(orderId?: string): Record<string, unknown> {
  return {
    ...(orderId ? { orderId } : {}),
    customerId: 'cust-42',
    currency: 'EUR',
    items: [{ productId: 'sku-1', quantity: 2, unitPrice: 1999 }],
    shippingAddress: {
      street: 'Hauptstr. 1',
      city: 'Berlin',
      postalCode: '10115',
      country: 'DE',
    },
  };
}

/** Places in a body where a raw value goes: [object path, key]. */
const HOLES: readonly (readonly string[])[] = [
  ['orderId'],
  ['customerId'],
  ['currency'],
  ['items'],
  ['items', '0'],
  ['items', '0', 'quantity'],
  ['items', '0', 'unitPrice'],
  ['items', '0', 'productId'],
  ['shippingAddress'],
  ['shippingAddress', 'country'],
  ['reason'],
  ['ids'],
  ['ids', '0'],
  ['value'],
  ['value', 'data', 'total', 'amount'],
  ['note'],
  ...PROTO_KEYS.map((key) => [key]),
  ...PROTO_KEYS.map((key) => ['shippingAddress', key]),
  ...PROTO_KEYS.map((key) => ['items', '0', key]),
];

/** Base bodies of every route that takes one. */
const BASES: readonly (() => Record<string, unknown>)[] = [
  () => validOrderRequest(),
  () => validOrderRequest('o-new'),
  () => ({ reason: 'changed my mind' }),
  () => ({ ids: [...KNOWN_DEAD_LETTER_IDS], note: 'n' }),
  () => ({ value: { eventType: 'OrderPlaced' }, note: 'fixed' }),
  () => ({}),
];

/**
 * A base body with one place set to raw JSON text: a number JSON cannot hold, a
 * `__proto__` object, any JSON value. Written as text so `__proto__` stays a key.
 */
const mutatedBody: fc.Arbitrary<string> = fc
  .tuple(
    fc.constantFrom(...BASES),
    fc.constantFrom(...HOLES),
    fc.oneof(
      fc.constantFrom(...RAW_NUMBERS),
      fc.constant(
        '{"__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}}}',
      ),
      fc.jsonValue({ maxDepth: 3 }).map((value) => JSON.stringify(value)),
    ),
  )
  .map(([base, hole, raw]) => {
    const marker = '\u0001RAW\u0001';
    const body = base();
    setAt(body, hole, marker);
    return JSON.stringify(body).replace(JSON.stringify(marker), raw);
  });

/**
 * `depth` arrays or objects inside each other, closed or left open, alone or as the
 * value of a field a route reads.
 */
const deepBody: fc.Arbitrary<string> = fc
  .tuple(
    fc.oneof(
      fc.integer({ min: 1, max: 100 }),
      fc.integer({ min: 1, max: 20_000 }),
    ),
    fc.constantFrom('[', '{"a":', '{"__proto__":'),
    fc.boolean(),
    fc.constantFrom('', '{"value":', '{"reason":', '{"ids":', '{"items":'),
  )
  .map(([depth, open, closed, field]) => {
    const close = open === '[' ? ']' : '}';
    const nested = `${open.repeat(depth)}1${closed ? close.repeat(depth) : ''}`;
    return field ? `${field}${nested}}` : nested;
  });

/** Bodies around the 64 KiB limit and well over it. */
const bigBody: fc.Arbitrary<string> = fc
  .integer({ min: 64 * 1024 - 64, max: 64 * 1024 + 64 })
  .chain((size) =>
    fc.constantFrom(
      JSON.stringify({ reason: 'r'.repeat(Math.max(0, size - 14)) }),
      'é'.repeat(Math.floor(size / 2)),
      `[${'1,'.repeat(Math.floor(size / 2))}1]`,
      'x'.repeat(size * 3),
    ),
  );

/** Bytes that are not UTF-8: lone continuation bytes, overlong forms, surrogates. */
const invalidUtf8: fc.Arbitrary<Uint8Array> = fc.oneof(
  fc.constantFrom(
    Uint8Array.of(0xff),
    Uint8Array.of(0xc3),
    Uint8Array.of(0xc0, 0xaf),
    Uint8Array.of(0xed, 0xa0, 0x80),
    Uint8Array.of(0xfe, 0xff, 0x00, 0x7b, 0x00, 0x7d),
    new Uint8Array([
      ...Buffer.from('{"reason":"'),
      0xff,
      0xfe,
      ...Buffer.from('"}'),
    ]),
    new Uint8Array([
      ...Buffer.from(JSON.stringify(validOrderRequest()).slice(0, -1)),
      ...Buffer.from(',"x":"'),
      0x80,
      ...Buffer.from('"}'),
    ]),
  ),
  fc.uint8Array({ maxLength: 200 }),
);

/** Every kind of body, or none. */
export const body: fc.Arbitrary<FuzzBody | undefined> = fc.oneof(
  fc.constant(undefined),
  fc
    .oneof(
      fc.string({ unit: 'binary', maxLength: 200 }),
      fc.jsonValue({ maxDepth: 4 }).map((value) => JSON.stringify(value)),
      mutatedBody,
      mutatedBody,
      deepBody,
      bigBody,
      fc.constantFrom(
        '',
        ' ',
        'null',
        '"\\ud800"',
        '\ufeff{}',
        JSON.stringify(validOrderRequest()),
        '{"reason":"x","__proto__":{"reason":""}}',
        '{"ids":["x"],"__proto__":{"ids":[]}}',
        '{"reason":"   "}',
      ),
    )
    .map((text): FuzzBody => ({ kind: 'text', text })),
  invalidUtf8.map((bytes): FuzzBody => ({ kind: 'bytes', bytes })),
);

type Target = readonly [method: string, path: string];

/** The order API's routes, hostile segments in their variables. */
const orderRoutes: fc.Arbitrary<Target> = fc.oneof(
  fc.constant(['POST', '/orders'] as const),
  segment.map((s) => ['GET', `/orders/${s}`] as const),
  segment.map((s) => ['GET', `/orders/${s}/events`] as const),
  segment.map((s) => ['POST', `/orders/${s}/cancel`] as const),
  fc.constant(['GET', '/health'] as const),
);

/** The dead-letter admin API's routes, hostile segments in their variables. */
const adminRoutes: fc.Arbitrary<Target> = fc.oneof(
  fc.constant(['GET', '/dead-letters'] as const),
  segment.map((s) => ['GET', `/dead-letters/${s}`] as const),
  fc.constant(['POST', '/dead-letters/redrive'] as const),
  segment.map((s) => ['POST', `/dead-letters/${s}/redrive`] as const),
  segment.map((s) => ['POST', `/dead-letters/${s}/discard`] as const),
);

/** A whole hostile request, most of them aimed at one API's routes. */
function requestTo(routes: fc.Arbitrary<Target>): fc.Arbitrary<FuzzRequest> {
  return fc
    .record({
      target: fc.oneof(
        { weight: 3, arbitrary: routes },
        fc.tuple(method, path),
      ),
      query,
      headers,
      body,
    })
    .map(({ target: [method, path], ...rest }) => ({ method, path, ...rest }));
}

/** Hostile requests, mostly to the order API's routes. */
export const orderApiRequest = requestTo(orderRoutes);

/** Hostile requests, mostly to the dead-letter admin API's routes. */
export const adminApiRequest = requestTo(adminRoutes);

function base64url(text: string): string {
  return Buffer.from(text, 'utf8').toString('base64url');
}

/** Sets `obj[name] = value` as an own property, even for `__proto__`. */
function defineOwn(obj: object, name: string, value: unknown): void {
  Object.defineProperty(obj, name, {
    value,
    enumerable: true,
    writable: true,
    configurable: true,
  });
}

/** Sets a value at a path of keys, making objects (or arrays) on the way. */
function setAt(
  root: Record<string, unknown>,
  keys: readonly string[],
  value: unknown,
): void {
  let at: Record<string, unknown> = root;
  for (const [index, key] of keys.entries()) {
    if (index === keys.length - 1) {
      defineOwn(at, key, value);
      return;
    }
    const next = Object.hasOwn(at, key) ? at[key] : undefined;
    if (typeof next === 'object' && next !== null) {
      at = next as Record<string, unknown>;
    } else {
      const made: Record<string, unknown> = {};
      defineOwn(at, key, made);
      at = made;
    }
  }
}
