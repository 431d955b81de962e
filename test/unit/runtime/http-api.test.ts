import { describe, expect, it } from 'vitest';
import { LOCAL_OPERATOR } from '../../../local/runtime/http/authorization.ts';
import {
  buildHttpEvent,
  type HttpRequestParts,
} from '../../../local/runtime/http/event.ts';
import { toHttpResponse } from '../../../local/runtime/http/responses.ts';
import { matchRoute } from '../../../local/runtime/http/routing.ts';
import { loadFixture } from '../../fixtures/fixtures.ts';

/** A real AWS event from `test/fixtures/aws-events/`; a fresh copy per call. */
function loadAwsEvent(name: string): Record<string, unknown> {
  return loadFixture(`aws-events/${name}`) as Record<string, unknown>;
}

/**
 * Every key path of a JSON value with the JSON type found there, so two events
 * compare by shape (same keys, same types) and not by value.
 */
function shapeOf(value: unknown, path = '$'): Record<string, string> {
  if (value === null) return { [path]: 'null' };
  if (Array.isArray(value)) {
    return value.reduce<Record<string, string>>(
      (shape, item) => Object.assign(shape, shapeOf(item, `${path}[]`)),
      { [path]: 'array' },
    );
  }
  if (typeof value === 'object') {
    return Object.entries(value).reduce<Record<string, string>>(
      (shape, [key, item]) =>
        Object.assign(shape, shapeOf(item, `${path}.${key}`)),
      { [path]: 'object' },
    );
  }
  return { [path]: typeof value };
}

/** The headers the fixtures' client sent, so header keys can compare too. */
function fixtureLikeRequest(
  overrides: Partial<HttpRequestParts> = {},
): HttpRequestParts {
  return {
    method: 'POST',
    path: '/lambda',
    rawQueryString: '',
    headers: {
      accept: '*/*',
      'accept-encoding': 'gzip, deflate',
      authorization: 'Bearer foo',
      'content-length': '0',
      host: 'localhost:3000',
      'user-agent': 'HTTPie/3.2.2',
    },
    body: Buffer.alloc(0),
    sourceIp: '127.0.0.1',
    ...overrides,
  };
}

const NOW = new Date(Date.UTC(2024, 5, 17, 15, 52, 39, 80));

describe('buildHttpEvent', () => {
  it('has the keys and JSON types of a real HTTP API event', () => {
    // Prepare: the real event came through a Lambda authorizer
    // (`authorizer.lambda`); a route without authorizer gets no authorizer key.
    const fixture = loadAwsEvent('http-api-no-auth.json');
    const context = fixture.requestContext as Record<string, unknown>;
    delete context.authorizer;

    // Act
    const event = buildHttpEvent(
      fixtureLikeRequest(),
      { routeKey: 'POST /lambda' },
      { apiId: 'localapi00', now: NOW },
    );

    // Assess
    expect(shapeOf(JSON.parse(JSON.stringify(event)))).toEqual(
      shapeOf(fixture),
    );
    expect(event.requestContext.time).toBe('17/Jun/2024:15:52:39 +0000');
    expect(event.requestContext.timeEpoch).toBe(NOW.getTime());
    expect(event.requestContext.domainName).toBe(
      'localapi00.execute-api.localhost',
    );
    expect(event.requestContext.domainPrefix).toBe('localapi00');
    expect(event.requestContext.stage).toBe('$default');
    expect(event.requestContext.requestId).toMatch(/^[A-Za-z0-9+/]{15}=$/);
    expect(event.requestContext.http).toEqual({
      method: 'POST',
      path: '/lambda',
      protocol: 'HTTP/1.1',
      sourceIp: '127.0.0.1',
      userAgent: 'HTTPie/3.2.2',
    });
    expect(event.headers['x-forwarded-port']).toBe('3000');
  });

  it('has the shape of a real IAM-authorized event when given the IAM authorizer', () => {
    // Prepare
    const fixture = loadAwsEvent('http-api-iam-auth.json');
    const headers = fixture.headers as Record<string, string>;
    // Those are the SigV4 headers of the real client; the local one has none.
    for (const name of Object.keys(headers)) {
      if (name.startsWith('x-amz-')) delete headers[name];
    }
    const iam = (
      (fixture.requestContext as Record<string, unknown>).authorizer as {
        iam: Record<string, unknown>;
      }
    ).iam;

    // Act
    const event = buildHttpEvent(
      fixtureLikeRequest({ path: '/iam' }),
      { routeKey: 'POST /iam' },
      { apiId: 'localapi00', authorizer: { iam: { ...LOCAL_OPERATOR } } },
    );

    // Assess
    expect(shapeOf(JSON.parse(JSON.stringify(event)))).toEqual(
      shapeOf(fixture),
    );
    expect(Object.keys(event.requestContext.authorizer ?? {})).toEqual(['iam']);
    expect(Object.keys(LOCAL_OPERATOR).sort()).toEqual(Object.keys(iam).sort());
    expect(LOCAL_OPERATOR.userArn).toBe(
      'arn:aws:iam::000000000000:user/local-operator',
    );
  });

  it('moves the Cookie header to cookies, one entry per cookie', () => {
    // Prepare
    const request = fixtureLikeRequest({
      headers: { cookie: 'session=abc; theme=dark', accept: '*/*' },
    });

    // Act
    const event = buildHttpEvent(
      request,
      { routeKey: 'POST /lambda' },
      { apiId: 'a' },
    );

    // Assess
    expect(event.cookies).toEqual(['session=abc', 'theme=dark']);
    expect(event.headers.cookie).toBeUndefined();
  });

  it('has no cookies key without a Cookie header', () => {
    // Act
    const event = buildHttpEvent(
      fixtureLikeRequest(),
      { routeKey: 'POST /lambda' },
      { apiId: 'a' },
    );

    // Assess
    expect('cookies' in event).toBe(false);
  });

  it('lowercases header names and joins repeated values with commas', () => {
    // Prepare
    const request = fixtureLikeRequest({
      headers: { 'X-Tag': ['a', 'b'], Accept: 'text/plain' },
    });

    // Act
    const event = buildHttpEvent(
      request,
      { routeKey: 'POST /lambda' },
      { apiId: 'a' },
    );

    // Assess
    expect(event.headers['x-tag']).toBe('a,b');
    expect(event.headers.accept).toBe('text/plain');
    expect(event.headers['X-Tag']).toBeUndefined();
  });

  it('decodes query parameters, joins repeated keys, keeps the raw string', () => {
    // Prepare
    const rawQueryString =
      'status=PARKED&status=SCHEDULED&topic=orders%2Eplaced';

    // Act
    const event = buildHttpEvent(
      fixtureLikeRequest({ rawQueryString }),
      { routeKey: 'POST /lambda' },
      { apiId: 'a' },
    );

    // Assess
    expect(event.rawQueryString).toBe(rawQueryString);
    expect(event.queryStringParameters).toEqual({
      status: 'PARKED,SCHEDULED',
      topic: 'orders.placed',
    });
  });

  it('has no queryStringParameters or pathParameters key when there are none', () => {
    // Act
    const event = buildHttpEvent(
      fixtureLikeRequest(),
      { routeKey: 'POST /lambda', pathParameters: {} },
      { apiId: 'a' },
    );

    // Assess
    expect('queryStringParameters' in event).toBe(false);
    expect('pathParameters' in event).toBe(false);
  });

  it('carries path parameters and the decoded path', () => {
    // Act
    const event = buildHttpEvent(
      fixtureLikeRequest({ method: 'get', path: '/orders/o%201' }),
      { routeKey: 'GET /orders/{orderId}', pathParameters: { orderId: 'o 1' } },
      { apiId: 'a' },
    );

    // Assess
    expect(event.pathParameters).toEqual({ orderId: 'o 1' });
    expect(event.rawPath).toBe('/orders/o 1');
    expect(event.requestContext.http.method).toBe('GET');
    expect(event.routeKey).toBe('GET /orders/{orderId}');
    expect(event.requestContext.routeKey).toBe('GET /orders/{orderId}');
  });

  it('passes a JSON body as text', () => {
    // Prepare
    const body = Buffer.from('{"customerId":"c-1","note":"café"}', 'utf8');

    // Act
    const event = buildHttpEvent(
      fixtureLikeRequest({
        body,
        headers: { 'content-type': 'application/json; charset=utf-8' },
      }),
      { routeKey: 'POST /lambda' },
      { apiId: 'a' },
    );

    // Assess
    expect(event.body).toBe('{"customerId":"c-1","note":"café"}');
    expect(event.isBase64Encoded).toBe(false);
  });

  it('passes a binary body as base64', () => {
    // Prepare
    const body = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x00, 0xff]);

    // Act
    const event = buildHttpEvent(
      fixtureLikeRequest({
        body,
        headers: { 'content-type': 'application/octet-stream' },
      }),
      { routeKey: 'POST /lambda' },
      { apiId: 'a' },
    );

    // Assess
    expect(event.isBase64Encoded).toBe(true);
    expect(Buffer.from(event.body ?? '', 'base64')).toEqual(body);
  });

  it('passes a body declared as text but not UTF-8 as base64', () => {
    // Prepare
    const body = Buffer.from([0xc3, 0x28]);

    // Act
    const event = buildHttpEvent(
      fixtureLikeRequest({ body, headers: { 'content-type': 'text/plain' } }),
      { routeKey: 'POST /lambda' },
      { apiId: 'a' },
    );

    // Assess
    expect(event.isBase64Encoded).toBe(true);
    expect(event.body).toBe(body.toString('base64'));
  });

  it('has no body key when the body is empty', () => {
    // Act
    const event = buildHttpEvent(
      fixtureLikeRequest(),
      { routeKey: 'POST /lambda' },
      { apiId: 'a' },
    );

    // Assess
    expect('body' in event).toBe(false);
    expect(event.isBase64Encoded).toBe(false);
  });
});

describe('matchRoute', () => {
  const routes = [
    { routeKey: 'POST /orders' },
    { routeKey: 'GET /orders/{orderId}' },
    { routeKey: 'GET /orders/{orderId}/events' },
    { routeKey: 'GET /dead-letters/{id}' },
    { routeKey: 'POST /dead-letters/redrive' },
    { routeKey: 'POST /dead-letters/{id}/redrive' },
    { routeKey: 'ANY /files/{proxy+}' },
    { routeKey: 'GET /files/readme' },
  ];

  it('matches an exact route key', () => {
    // Act
    const match = matchRoute(routes, 'POST', '/orders');

    // Assess
    expect(match?.route.routeKey).toBe('POST /orders');
    expect(match?.pathParameters).toEqual({});
  });

  it('fills path parameters, percent-decoded', () => {
    // Act
    const match = matchRoute(routes, 'GET', '/orders/o%2D1/events');

    // Assess
    expect(match?.route.routeKey).toBe('GET /orders/{orderId}/events');
    expect(match?.pathParameters).toEqual({ orderId: 'o-1' });
  });

  it('prefers a literal segment to a variable', () => {
    // Act
    const literal = matchRoute(routes, 'POST', '/dead-letters/redrive');
    const variable = matchRoute(routes, 'POST', '/dead-letters/d-1/redrive');

    // Assess
    expect(literal?.route.routeKey).toBe('POST /dead-letters/redrive');
    expect(variable?.route.routeKey).toBe('POST /dead-letters/{id}/redrive');
    expect(variable?.pathParameters).toEqual({ id: 'd-1' });
  });

  it('matches a greedy variable and ANY, after an exact route', () => {
    // Act
    const greedy = matchRoute(routes, 'DELETE', '/files/a/b.txt');
    const exact = matchRoute(routes, 'GET', '/files/readme');

    // Assess
    expect(greedy?.route.routeKey).toBe('ANY /files/{proxy+}');
    expect(greedy?.pathParameters).toEqual({ proxy: 'a/b.txt' });
    expect(exact?.route.routeKey).toBe('GET /files/readme');
  });

  it('finds nothing for another method, a longer path or an unknown path', () => {
    // Act
    const wrongMethod = matchRoute(routes, 'DELETE', '/orders');
    const longer = matchRoute(routes, 'GET', '/orders/o-1/events/e-1');
    const unknown = matchRoute(routes, 'GET', '/nowhere');
    const greedyNeedsASegment = matchRoute(routes, 'GET', '/files');

    // Assess
    expect(wrongMethod).toBeUndefined();
    expect(longer).toBeUndefined();
    expect(unknown).toBeUndefined();
    expect(greedyNeedsASegment).toBeUndefined();
  });

  it('falls back to $default last', () => {
    // Prepare
    const withDefault = [{ routeKey: '$default' }, ...routes];

    // Act
    const fallback = matchRoute(withDefault, 'GET', '/nowhere');
    const exact = matchRoute(withDefault, 'POST', '/orders');

    // Assess
    expect(fallback?.route.routeKey).toBe('$default');
    expect(exact?.route.routeKey).toBe('POST /orders');
  });
});

describe('toHttpResponse', () => {
  it('maps a structured result: status, headers, cookies, body', () => {
    // Act
    const response = toHttpResponse({
      ok: true,
      durationMs: 1,
      result: {
        statusCode: 201,
        headers: { 'Content-Type': 'application/json', 'X-Count': 2 },
        cookies: ['a=1; Path=/', 'b=2; HttpOnly'],
        body: '{"orderId":"o-1"}',
      },
    });

    // Assess
    expect(response.statusCode).toBe(201);
    expect(response.headers).toEqual({
      'content-type': 'application/json',
      'x-count': '2',
    });
    expect(response.cookies).toEqual(['a=1; Path=/', 'b=2; HttpOnly']);
    expect(response.body.toString('utf8')).toBe('{"orderId":"o-1"}');
  });

  it('decodes a base64 body', () => {
    // Prepare
    const bytes = Buffer.from([0, 1, 2, 250]);

    // Act
    const response = toHttpResponse({
      ok: true,
      durationMs: 1,
      result: {
        statusCode: 200,
        body: bytes.toString('base64'),
        isBase64Encoded: true,
      },
    });

    // Assess
    expect(response.body).toEqual(bytes);
  });

  it('sends a structured result without body as an empty body', () => {
    // Act
    const response = toHttpResponse({
      ok: true,
      durationMs: 1,
      result: { statusCode: 204 },
    });

    // Assess
    expect(response.statusCode).toBe(204);
    expect(response.body.length).toBe(0);
  });

  it('infers 200 and JSON for a plain object without statusCode', () => {
    // Act
    const response = toHttpResponse({
      ok: true,
      durationMs: 1,
      result: { message: 'hello', count: 2 },
    });

    // Assess
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toBe('application/json');
    expect(JSON.parse(response.body.toString('utf8'))).toEqual({
      message: 'hello',
      count: 2,
    });
  });

  it('sends a plain string result as the body, with status 200', () => {
    // Act
    const response = toHttpResponse({
      ok: true,
      durationMs: 1,
      result: 'Hello from Lambda!',
    });

    // Assess
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toBe('application/json');
    expect(response.body.toString('utf8')).toBe('Hello from Lambda!');
  });

  it('answers a function error 500 Internal Server Error', () => {
    // Act
    const response = toHttpResponse({
      ok: false,
      errorType: 'TypeError',
      errorMessage: 'x is undefined',
      timedOut: false,
      durationMs: 3,
    });

    // Assess
    expect(response.statusCode).toBe(500);
    expect(JSON.parse(response.body.toString('utf8'))).toEqual({
      message: 'Internal Server Error',
    });
  });

  it('answers the function timing out 500, as Lambda reports it as an error', () => {
    // Act
    const response = toHttpResponse({
      ok: false,
      errorType: 'Sandbox.Timedout',
      errorMessage: 'Task timed out after 60.00 seconds',
      timedOut: true,
      durationMs: 60_000,
    });

    // Assess
    expect(response.statusCode).toBe(500);
  });

  it.each([
    ['a status that is not a number', { statusCode: '200', body: '' }],
    ['a status out of range', { statusCode: 42, body: '' }],
    ['a body that is not a string', { statusCode: 200, body: { a: 1 } }],
  ])('answers a malformed response (%s) 500', (_, result) => {
    // Act
    const response = toHttpResponse({ ok: true, durationMs: 1, result });

    // Assess
    expect(response.statusCode).toBe(500);
  });
});
