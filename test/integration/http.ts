/**
 * HTTP API (payload format 2.0) events for handlers under test, built on a real
 * AWS event (`test/fixtures/aws-events/`) so their shape is the one API Gateway sends.
 */
import type { HttpEvent, HttpResult } from '#commons/http.ts';
import { loadFixture } from '../fixtures/fixtures.ts';

const fixture = loadFixture('aws-events/http-api-no-auth.json') as HttpEvent;

/**
 * An HTTP API event for `method path`, with a JSON body when one is given.
 *
 * @example
 * ```ts
 * await handler(httpEvent('POST', '/orders', order), context);
 * ```
 */
export function httpEvent(
  method: string,
  pathWithQuery: string,
  body?: unknown,
  headers: Record<string, string> = {},
): HttpEvent {
  const event = structuredClone(fixture);
  const [path = '/', query = ''] = pathWithQuery.split('?');
  const text =
    body === undefined
      ? undefined
      : typeof body === 'string'
        ? body
        : JSON.stringify(body);
  event.routeKey = `${method} ${path}`;
  event.rawPath = path;
  event.rawQueryString = query;
  event.queryStringParameters = query
    ? Object.fromEntries(new URLSearchParams(query))
    : undefined;
  event.requestContext.http.method = method;
  event.requestContext.http.path = path;
  event.requestContext.routeKey = `${method} ${path}`;
  event.requestContext.requestId = `req-${Math.random().toString(36).slice(2)}`;
  event.headers = {
    ...event.headers,
    ...(text !== undefined
      ? {
          'content-type': 'application/json',
          'content-length': String(Buffer.byteLength(text)),
        }
      : {}),
    ...headers,
  };
  if (text !== undefined) event.body = text;
  else delete event.body;
  return event;
}

/** The JSON body of a handler's result. */
export function bodyOf(
  result: HttpResult | undefined,
): Record<string, unknown> {
  return JSON.parse(result?.body ?? 'null') as Record<string, unknown>;
}
