import { Validator } from '@seriousme/openapi-schema-validator';
import { afterEach, describe, expect, it } from 'vitest';
import { ADMIN_ROUTES, ORDER_ROUTES } from '#infra/http-api.ts';
import type { OpenApiDocument } from '#infra/openapi.ts';
import { apiReferencePages } from '../../../local/runtime/api-reference.ts';
import type { LocalRoute } from '../../../local/runtime/http/routing.ts';
import {
  type Invoker,
  type RunningHttpApi,
  startHttpApi,
} from '../../../local/runtime/http/server.ts';

/** A function that answers every request with its route key. */
const routeEcho: Invoker = {
  name: 'echo',
  invoke: async (event) => ({
    ok: true,
    result: {
      statusCode: 200,
      body: JSON.stringify({
        routeKey: (event as { routeKey: string }).routeKey,
      }),
    },
    durationMs: 1,
  }),
};

describe('local HTTP API: GET /openapi.json and GET /_docs', () => {
  let api: RunningHttpApi | undefined;

  async function start(routes: readonly LocalRoute[]) {
    api = await startHttpApi({
      routes,
      functions: new Map([['Echo', routeEcho]]),
      port: 0,
      adminToken: 'test-admin-token',
      pages: apiReferencePages(),
    });
    return api;
  }

  afterEach(async () => {
    await api?.stop();
    api = undefined;
  });

  const ORDERS: LocalRoute = {
    routeKey: 'GET /orders/{orderId}',
    functionLogicalId: 'Echo',
    authorizationType: 'NONE',
  };

  it('serves the OpenAPI document, valid 3.1, with the local URL as its server', async () => {
    // Prepare
    const { url } = await start([ORDERS]);

    // Act
    const response = await fetch(`${url}/openapi.json`);
    const text = await response.text();
    const document = JSON.parse(text) as OpenApiDocument;

    // Assess
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/json');
    expect(document.servers).toEqual([expect.objectContaining({ url })]);
    const result = await new Validator().validate(JSON.parse(text));
    expect(result.errors).toBeUndefined();
    expect(result.valid).toBe(true);
    for (const route of [...ORDER_ROUTES, ...ADMIN_ROUTES]) {
      const [method = '', path = ''] = route.split(' ');
      const key = method === 'GET' ? 'get' : 'post';
      expect(document.paths[path]?.[key], route).toBeDefined();
    }
  });

  it('serves a self-contained reference page listing every route', async () => {
    // Prepare
    const { url } = await start([ORDERS]);

    // Act
    const response = await fetch(`${url}/_docs`);
    const html = await response.text();

    // Assess
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe(
      'text/html; charset=utf-8',
    );
    expect(html).toMatch(/^<!doctype html>/);
    for (const route of [...ORDER_ROUTES, ...ADMIN_ROUTES]) {
      const [method = '', path = ''] = route.split(' ');
      expect(html, route).toContain(
        `<span class="method ${method.toLowerCase()}">${method}</span> <code>${path}</code>`,
      );
    }
    expect(html).toContain(url);
    // Nothing fetched from anywhere: no script, stylesheet, image or frame.
    expect(html).not.toMatch(/<script|<link|<img|<iframe|\ssrc=/i);
  });

  it('leaves the template’s routes alone: a route matching the path wins', async () => {
    // Prepare: a greedy template route matches every GET.
    const { url } = await start([
      ORDERS,
      {
        routeKey: 'GET /{proxy+}',
        functionLogicalId: 'Echo',
        authorizationType: 'NONE',
      },
    ]);

    // Act
    const docs = await fetch(`${url}/_docs`);
    const order = await fetch(`${url}/orders/o-1`);

    // Assess
    expect(await docs.json()).toEqual({ routeKey: 'GET /{proxy+}' });
    expect(await order.json()).toEqual({ routeKey: 'GET /orders/{orderId}' });
  });

  it('answers anything else as before: 404 Not Found', async () => {
    // Prepare
    const { url } = await start([ORDERS]);

    // Act
    const answers = await Promise.all(
      [
        fetch(`${url}/openapi.json`, { method: 'POST', body: '{}' }),
        fetch(`${url}/_docs/`),
        fetch(`${url}/openapi.json/x`),
        fetch(`${url}/nowhere`),
      ].map(async (pending) => {
        const response = await pending;
        return { status: response.status, body: await response.json() };
      }),
    );

    // Assess
    for (const answer of answers) {
      expect(answer).toEqual({ status: 404, body: { message: 'Not Found' } });
    }
  });
});
