import { createServer } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { LOOPBACK } from '#platform/ports.ts';
import type { LocalHttpEvent } from '../../../local/runtime/http/event.ts';
import type { LocalRoute } from '../../../local/runtime/http/routing.ts';
import {
  type InvokeResult,
  type Invoker,
  type RunningHttpApi,
  startHttpApi,
} from '../../../local/runtime/http/server.ts';

const ADMIN_TOKEN = 'test-admin-token';

const ROUTES: readonly LocalRoute[] = [
  {
    routeKey: 'POST /orders',
    functionLogicalId: 'Orders',
    authorizationType: 'NONE',
  },
  {
    routeKey: 'GET /orders/{orderId}',
    functionLogicalId: 'Orders',
    authorizationType: 'NONE',
  },
  {
    routeKey: 'GET /dead-letters/{id}',
    functionLogicalId: 'Admin',
    authorizationType: 'AWS_IAM',
  },
  {
    routeKey: 'GET /me',
    functionLogicalId: 'Orders',
    authorizationType: 'JWT',
  },
  {
    routeKey: 'GET /slow',
    functionLogicalId: 'Slow',
    authorizationType: 'NONE',
  },
  {
    routeKey: 'GET /gone',
    functionLogicalId: 'Missing',
    authorizationType: 'NONE',
  },
];

/** A function that records its events and answers with `answer(event)`. */
function fakeFunction(
  name: string,
  answer: (event: LocalHttpEvent) => unknown,
): Invoker & { readonly events: LocalHttpEvent[] } {
  const events: LocalHttpEvent[] = [];
  return {
    name,
    events,
    invoke: async (event) => {
      const httpEvent = event as LocalHttpEvent;
      events.push(httpEvent);
      return { ok: true, result: answer(httpEvent), durationMs: 1 };
    },
  };
}

/** A function that answers only when told to: stands for one that hangs. */
function hangingFunction(): Invoker & {
  readonly waiting: number;
  release(): void;
} {
  const pending: ((result: InvokeResult) => void)[] = [];
  return {
    name: 'slow',
    get waiting() {
      return pending.length;
    },
    release: () => {
      for (const resolve of pending.splice(0)) {
        resolve({ ok: true, result: { done: true }, durationMs: 1 });
      }
    },
    invoke: () =>
      new Promise<InvokeResult>((resolve) => {
        pending.push(resolve);
      }),
  };
}

function echo(event: LocalHttpEvent) {
  return {
    statusCode: event.requestContext.http.method === 'POST' ? 201 : 200,
    headers: { 'content-type': 'application/json' },
    cookies: ['seen=1; Path=/'],
    body: JSON.stringify({
      routeKey: event.routeKey,
      pathParameters: event.pathParameters ?? null,
      body: event.body ?? null,
    }),
  };
}

function jwt(claims: Record<string, unknown>): string {
  const part = (value: unknown) =>
    Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${part({ alg: 'none', typ: 'JWT' })}.${part(claims)}.`;
}

describe('local HTTP API', () => {
  let api: RunningHttpApi | undefined;
  const lines: string[] = [];
  const orders = fakeFunction('orders', echo);
  const admin = fakeFunction('admin', (event) => ({
    statusCode: 200,
    body: JSON.stringify({ id: event.pathParameters?.id }),
  }));
  const slow = hangingFunction();

  async function start(integrationTimeoutMs?: number) {
    api = await startHttpApi({
      routes: ROUTES,
      functions: new Map<string, Invoker>([
        ['Orders', orders],
        ['Admin', admin],
        ['Slow', slow],
      ]),
      port: 0,
      adminToken: ADMIN_TOKEN,
      log: (line) => lines.push(line),
      ...(integrationTimeoutMs ? { integrationTimeoutMs } : {}),
    });
    return api;
  }

  afterEach(async () => {
    slow.release();
    await api?.stop();
    api = undefined;
    lines.length = 0;
    orders.events.length = 0;
    admin.events.length = 0;
  });

  it('listens on 127.0.0.1 only', async () => {
    // Act
    const { url } = await start();

    // Assess
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  });

  it('serves a POST: body in the event, the function status, headers and cookies back', async () => {
    // Prepare
    const { url } = await start();

    // Act
    const response = await fetch(`${url}/orders`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ customerId: 'c-1' }),
    });

    // Assess
    expect([201, 202]).toContain(response.status);
    expect(response.headers.get('content-type')).toBe('application/json');
    expect(response.headers.getSetCookie()).toEqual(['seen=1; Path=/']);
    expect(response.headers.get('apigw-requestid')).toBe(
      orders.events[0]?.requestContext.requestId,
    );
    expect(await response.json()).toEqual({
      routeKey: 'POST /orders',
      pathParameters: null,
      body: '{"customerId":"c-1"}',
    });
    expect(orders.events[0]?.isBase64Encoded).toBe(false);
  });

  it('passes path parameters, query parameters and cookies to the function', async () => {
    // Prepare
    const { url } = await start();

    // Act
    const response = await fetch(`${url}/orders/o-42?a=1&a=2`, {
      headers: { cookie: 'x=1; y=2' },
    });

    // Assess
    expect(response.status).toBe(200);
    const [event] = orders.events;
    expect(event?.routeKey).toBe('GET /orders/{orderId}');
    expect(event?.pathParameters).toEqual({ orderId: 'o-42' });
    expect(event?.queryStringParameters).toEqual({ a: '1,2' });
    expect(event?.rawQueryString).toBe('a=1&a=2');
    expect(event?.cookies).toEqual(['x=1', 'y=2']);
    expect(event?.requestContext.http.sourceIp).toBe('127.0.0.1');
    expect(event?.requestContext.authorizer).toBeUndefined();
  });

  it('answers 404 Not Found for a request no route matches', async () => {
    // Prepare
    const { url } = await start();

    // Act
    const response = await fetch(`${url}/nowhere`);

    // Assess
    expect(response.status).toBe(404);
    expect(await response.json()).toEqual({ message: 'Not Found' });
    expect(orders.events).toHaveLength(0);
  });

  it('refuses an IAM route without the admin token: 403 Forbidden, with a local hint', async () => {
    // Prepare
    const { url } = await start();

    // Act
    const missing = await fetch(`${url}/dead-letters/d-1`);
    const wrong = await fetch(`${url}/dead-letters/d-1`, {
      headers: { authorization: 'Bearer not-the-token' },
    });

    // Assess
    expect(missing.status).toBe(403);
    // API Gateway's message, and how to authenticate locally.
    expect(await missing.json()).toEqual({
      message: 'Forbidden',
      local: expect.stringMatching(
        /IAM-authorized on AWS; locally send Authorization: Bearer <admin token>.*LOCAL_ADMIN_TOKEN/,
      ),
    });
    expect(wrong.status).toBe(403);
    expect(await wrong.text()).not.toContain(ADMIN_TOKEN);
    expect(admin.events).toHaveLength(0);
  });

  it('serves an IAM route with the admin token, as the local operator', async () => {
    // Prepare
    const { url } = await start();

    // Act
    const response = await fetch(`${url}/dead-letters/d-1`, {
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });

    // Assess
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ id: 'd-1' });
    expect(admin.events[0]?.requestContext.authorizer).toEqual({
      iam: {
        accessKey: expect.any(String),
        accountId: '000000000000',
        callerId: expect.any(String),
        cognitoIdentity: null,
        principalOrgId: null,
        userArn: 'arn:aws:iam::000000000000:user/local-operator',
        userId: expect.any(String),
      },
    });
  });

  it('demands a bearer JWT on JWT routes and passes its claims unverified', async () => {
    // Prepare
    const { url } = await start();
    const token = jwt({ sub: 'user-1', scope: 'orders:read orders:write' });

    // Act
    const without = await fetch(`${url}/me`);
    const withToken = await fetch(`${url}/me`, {
      headers: { authorization: `Bearer ${token}` },
    });

    // Assess
    expect(without.status).toBe(401);
    expect(await without.json()).toEqual({
      message: 'Unauthorized',
      local: expect.stringMatching(/JWT on AWS; locally send Authorization/),
    });
    expect(withToken.status).toBe(200);
    expect(orders.events[0]?.requestContext.authorizer).toEqual({
      jwt: {
        claims: { sub: 'user-1', scope: 'orders:read orders:write' },
        scopes: ['orders:read', 'orders:write'],
      },
    });
  });

  it('refuses a body over 10 MB with 413, without invoking the function', async () => {
    // Prepare
    const { url } = await start();

    // Act
    const response = await fetch(`${url}/orders`, {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream' },
      body: Buffer.alloc(10 * 1024 * 1024 + 1),
    });

    // Assess
    expect(response.status).toBe(413);
    expect(orders.events).toHaveLength(0);
  });

  it('accepts a body of exactly 10 MB, base64 when binary', async () => {
    // Prepare
    const { url } = await start();

    // Act
    const response = await fetch(`${url}/orders`, {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream' },
      body: Buffer.alloc(10 * 1024 * 1024, 7),
    });

    // Assess
    expect([201, 202]).toContain(response.status);
    const event = orders.events[0];
    expect(event?.isBase64Encoded).toBe(true);
    expect(Buffer.from(event?.body ?? '', 'base64').length).toBe(
      10 * 1024 * 1024,
    );
  });

  it('answers 503 Service Unavailable when the function outlasts the integration timeout', async () => {
    // Prepare
    const { url } = await start(50);

    // Act
    const response = await fetch(`${url}/slow`);

    // Assess
    expect(response.status).toBe(503);
    expect(await response.json()).toEqual({ message: 'Service Unavailable' });
  });

  it('answers 500 when the route names a function that is not loaded', async () => {
    // Prepare
    const { url } = await start();

    // Act
    const response = await fetch(`${url}/gone`);

    // Assess
    expect(response.status).toBe(500);
    expect(await response.json()).toEqual({ message: 'Internal Server Error' });
  });

  it('writes one access log line per request', async () => {
    // Prepare
    const { url } = await start();

    // Act
    await (await fetch(`${url}/orders/o-1`)).text();
    await (await fetch(`${url}/nowhere`)).text();
    await api?.stop();

    // Assess
    expect(lines).toEqual([
      expect.stringMatching(/^GET \/orders\/o-1 200 \d+ms /),
      expect.stringMatching(/^GET \/nowhere 404 \d+ms /),
    ]);
  });

  it('waits for a request under way on stop, then frees the port', async () => {
    // Prepare
    const { url, port, stop } = await start();
    const pending = fetch(`${url}/slow`);
    await expect.poll(() => slow.waiting).toBe(1);

    // Act
    let stopped = false;
    const stopping = stop().then(() => {
      stopped = true;
    });
    // Let stop() run as far as it can on its own: it must wait for the answer.
    await new Promise<void>((resolve) => setImmediate(resolve));
    const stoppedBeforeAnswer = stopped;
    slow.release();
    const response = await pending;
    await stopping;

    // Assess
    expect(stoppedBeforeAnswer).toBe(false);
    expect(response.status).toBe(200);
    await expect(listenOn(port)).resolves.toBe(port);
  });
});

function listenOn(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen({ port, host: LOOPBACK }, () => {
      server.close(() => resolve(port));
    });
  });
}
