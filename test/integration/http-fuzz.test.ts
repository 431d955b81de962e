/**
 * No request gets a 5xx, end to end: a sample of the unit property tests' hostile
 * requests (test/http-arbitraries.ts), sent over real HTTP to the local API Gateway
 * emulation in front of both HTTP functions, which run on the real broker and
 * DynamoDB Local (startLocalSystem, as `npm run dev` does).
 */
import { request as httpRequest, METHODS } from 'node:http';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  type LocalSystem,
  startLocalSystem,
} from '../../local/runtime/system.ts';
import {
  adminApiRequest,
  type FuzzRequest,
  orderApiRequest,
} from '../http-arbitraries.ts';

/** Requests per API: each is a real invocation, so a sample of the unit runs. */
const RUNS = 60;

let system: LocalSystem;
const logs: string[] = [];

beforeAll(async () => {
  system = await startLocalSystem(
    {
      kafka: { brokers: inject('kafkaBrokers') },
      dynamodb: { endpoint: inject('dynamodbEndpoint') },
    },
    { port: 0, log: (line) => logs.push(line) },
  );
});

afterAll(async () => {
  await system?.stop();
});

/** A header value longer than this is left out: see {@link onTheWire}. */
const MAX_HEADER_VALUE = 4096;

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** Headers that describe the connection or the body: the client sets them. */
const CONNECTION_HEADERS = new Set([
  'content-length',
  'transfer-encoding',
  'connection',
  'host',
  'expect',
  'upgrade',
  'te',
  'trailer',
  'keep-alive',
]);

/**
 * What a client can put on the wire of a request: characters a request target cannot
 * hold percent-encoded (an unpaired surrogate as U+FFFD), headers no client can send
 * left out.
 */
function onTheWire(request: FuzzRequest, authorization?: string) {
  const path = request.path.replace(
    /[^\x21-\x22\x24-\x3e\x40-\x7e]/gu,
    (char) =>
      char.length === 1 && char >= '\ud800' && char <= '\udfff'
        ? '%EF%BF%BD'
        : encodeURIComponent(char),
  );
  const query = new URLSearchParams(request.query).toString();
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.headers)) {
    const key = name.toLowerCase();
    if (!TOKEN.test(name) || CONNECTION_HEADERS.has(key)) continue;
    if (/[^\t\x20-\x7e\x80-\xff]/.test(value)) continue;
    // Node's server (like API Gateway) refuses header sections over its limit
    // (16 KiB) before any function runs, and resets the connection doing it.
    if (value.length > MAX_HEADER_VALUE) continue;
    headers[key] = value;
  }
  if (authorization) headers.authorization = authorization;
  const body =
    request.body === undefined
      ? Buffer.alloc(0)
      : request.body.kind === 'bytes'
        ? Buffer.from(request.body.bytes)
        : Buffer.from(request.body.text, 'utf8');
  return {
    // Node's HTTP parser takes only the methods it knows (http.METHODS) and resets
    // the connection on any other; API Gateway answers those itself, before any
    // function runs. So they go as GET here; the unit properties send them all.
    method: METHODS.includes(request.method) ? request.method : 'GET',
    path: `${path.startsWith('/') ? '' : '/'}${path}${query ? `?${query}` : ''}`,
    headers,
    body,
  };
}

/** Sends a request with node:http, which sends any method and path as given. */
function send(
  wire: ReturnType<typeof onTheWire>,
): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  const url = new URL(system.url);
  return new Promise((resolve, reject) => {
    const outgoing = httpRequest(
      {
        host: url.hostname,
        port: url.port,
        method: wire.method,
        path: wire.path,
        headers: { ...wire.headers, 'content-length': wire.body.length },
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () =>
          resolve({
            status: response.statusCode ?? 0,
            headers: response.headers,
            body: Buffer.concat(chunks).toString('utf8'),
          }),
        );
        response.on('error', reject);
      },
    );
    outgoing.on('error', reject);
    outgoing.end(wire.body);
  });
}

/**
 * Below 500, or the one 5xx a request may get: 503 with Retry-After, when a
 * dependency is down (docs/domain.md section 4).
 */
function assertNo5xx(
  wire: ReturnType<typeof onTheWire>,
  answer: Awaited<ReturnType<typeof send>>,
): void {
  const what = `${wire.method} ${wire.path.slice(0, 200)} -> ${answer.status} ${answer.body.slice(0, 300)}`;
  if (answer.status === 503 && answer.headers['retry-after'] !== undefined) {
    return;
  }
  expect(answer.status, what).toBeLessThan(500);
}

/**
 * Fails with the error and the start of the request: a counterexample can hold a
 * 200 KiB body, which the default report would print whole.
 */
function shortReport(details: fc.RunDetails<[FuzzRequest]>): void {
  if (!details.failed) return;
  const example = JSON.stringify(details.counterexample?.[0]) ?? '';
  throw new Error(
    `failed after ${details.numRuns} runs (seed ${details.seed}): ${String(details.errorInstance)}\n` +
      `request: ${example.slice(0, 1_000)}${example.length > 1_000 ? '…' : ''}\n` +
      `system log: ${logs.slice(-20).join('\n').slice(0, 3_000)}`,
  );
}

/** A request the samples must always hold: what once gave a 5xx, or nearly. */
function known(
  method: string,
  path: string,
  extra: Partial<FuzzRequest> = {},
): [FuzzRequest] {
  return [
    { method, path, query: undefined, headers: {}, body: undefined, ...extra },
  ];
}

const cursor = (key: unknown) =>
  Buffer.from(JSON.stringify(key)).toString('base64url');
const jsonBody = (text: string): Partial<FuzzRequest> => ({
  headers: { 'content-type': 'application/json' },
  body: { kind: 'text', text },
});

const ORDER_EXAMPLES: [FuzzRequest][] = [
  known('GET', '/orders/%25'),
  known('GET', '/orders/%E0%A4%A/events'),
  known('GET', `/orders/${'x'.repeat(3_000)}`),
  known(
    'POST',
    '/orders',
    jsonBody(`${'['.repeat(20_000)}${']'.repeat(20_000)}`),
  ),
  known(
    'POST',
    '/orders/o-1/cancel',
    jsonBody('{"reason":"x","__proto__":{}}'),
  ),
  known('GET', '/health', { headers: { 'x-correlation-id': '\u00e9\u00ff' } }),
];

const ADMIN_EXAMPLES: [FuzzRequest][] = [
  known('GET', '/dead-letters/%25'),
  known('GET', `/dead-letters/${'t'.repeat(3_000)}:0:1`),
  known('GET', '/dead-letters', { query: { cursor: cursor({ id: '' }) } }),
  known('GET', '/dead-letters', {
    query: { cursor: cursor({ id: 'x'.repeat(3_000) }) },
  }),
  known('GET', '/dead-letters', {
    query: {
      status: 'PARKED',
      cursor: cursor({ id: 'x', status: 'PARKED', sortAt: '' }),
    },
  }),
  // A shard cursor (docs/dead-letter-index.md) with an empty, then an oversized, key.
  known('GET', '/dead-letters', {
    query: {
      status: 'PARKED',
      cursor: cursor({
        status: 'PARKED',
        after: [['', 'x'], null, null, null, null, null, null, null],
      }),
    },
  }),
  known('GET', '/dead-letters', {
    query: {
      status: 'PARKED',
      cursor: cursor({
        status: 'PARKED',
        after: [['t', 'x'.repeat(3_000)], [], [], [], [], [], [], []],
      }),
    },
  }),
  known('GET', '/dead-letters', {
    query: { topic: 't'.repeat(5_000), limit: '100' },
  }),
  known(
    'POST',
    '/dead-letters/redrive',
    jsonBody(JSON.stringify({ ids: ['x'.repeat(3_000)] })),
  ),
  known(
    'POST',
    '/dead-letters/a:0:1/redrive',
    jsonBody(`{"value":${'['.repeat(20_000)}${']'.repeat(20_000)}}`),
  ),
];

describe('the local HTTP API: no request gets a 5xx', () => {
  it('answers hostile requests to the order API below 500', async () => {
    await fc.assert(
      fc.asyncProperty(orderApiRequest, async (request) => {
        // Prepare
        const wire = onTheWire(request);

        // Act
        const answer = await send(wire);

        // Assess
        assertNo5xx(wire, answer);
      }),
      { numRuns: RUNS, reporter: shortReport, examples: ORDER_EXAMPLES },
    );
  });

  it('answers hostile requests to the dead-letter admin API below 500', async () => {
    await fc.assert(
      fc.asyncProperty(adminApiRequest, async (request) => {
        // Prepare: past the gateway's check, to reach the function.
        const wire = onTheWire(request, `Bearer ${system.adminToken}`);

        // Act
        const answer = await send(wire);

        // Assess
        assertNo5xx(wire, answer);
      }),
      { numRuns: RUNS, reporter: shortReport, examples: ADMIN_EXAMPLES },
    );
  });
});
