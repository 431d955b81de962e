/**
 * The local-only apps the HTTP API serves beside the template's routes, never
 * shadowing one: pages (`GET /openapi.json`, `GET /_docs`) and apps mounted
 * under a path prefix (the console, `/_console`).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { gatewayError, type HttpResponse } from './responses.ts';

/**
 * A local-only app the HTTP API serves under a path prefix, beside the template's
 * routes (never shadowing one). It writes the response itself, so it may stream
 * (server-sent events); its requests are left out of the access log.
 */
export interface LocalMount {
  /** e.g. `/_console`: the prefix itself and every path below it. */
  readonly prefix: string;
  /**
   * Answers the request. The returned promise settles once the answer is under way
   * (a stream may go on after it; the mount ends its streams when it stops).
   */
  handle(
    request: IncomingMessage,
    response: ServerResponse,
    target: { readonly path: string; readonly rawQueryString: string },
  ): Promise<void>;
}

/** A page the local HTTP API serves itself, on GET, beside the template's routes. */
export interface LocalPage {
  /** The exact path, e.g. `/openapi.json`. */
  readonly path: string;
  readonly contentType: string;
  /** The body, given the API's URL (`http://127.0.0.1:<port>`). */
  render(url: string): string;
}

/**
 * The mount serving a path: the one whose prefix is the path or a folder above it.
 *
 * @example
 * ```ts
 * mountOf(mounts, '/_console/api/orders'); // the console's mount
 * ```
 */
export function mountOf(
  mounts: readonly LocalMount[],
  path: string,
): LocalMount | undefined {
  return mounts.find(
    (mount) => path === mount.prefix || path.startsWith(`${mount.prefix}/`),
  );
}

/**
 * The answer to a request no route matched: the page at that path on GET, else
 * API Gateway's 404 `{"message":"Not Found"}`.
 *
 * @example
 * ```ts
 * const answer = unroutedAnswer(pages, 'GET', '/openapi.json', api.url);
 * ```
 */
export function unroutedAnswer(
  pages: ReadonlyMap<string, LocalPage>,
  method: string,
  path: string,
  url: string,
): HttpResponse {
  const page = method === 'GET' ? pages.get(path) : undefined;
  return page
    ? {
        statusCode: 200,
        headers: { 'content-type': page.contentType },
        cookies: [],
        body: Buffer.from(page.render(url), 'utf8'),
      }
    : gatewayError(404, 'Not Found');
}
