/**
 * The local HTTP API's server: a node:http server on 127.0.0.1 that plays API
 * Gateway HTTP API (payload format 2.0) in front of the local functions. It
 * reads each request, routes it by the route keys the template reader found
 * (never a copy of infra/http-api.ts), hands it to the route's integration or
 * to a local-only app, logs it, and stops without cutting a request short.
 * https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-integrations-lambda.html
 */
import {
  createServer,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import { LOOPBACK } from '#platform/ports.ts';
import type { InvokeResult, Invoker } from '../lambda.ts';
import { newRequestId } from './event.ts';
import {
  answerRoute,
  INTEGRATION_TIMEOUT_MS,
  type Integration,
} from './integration.ts';
import {
  type LocalMount,
  type LocalPage,
  mountOf,
  unroutedAnswer,
} from './local-apps.ts';
import { gatewayError, writeResponse } from './responses.ts';
import { type LocalRoute, matchRoute } from './routing.ts';

export type { InvokeResult, Invoker };

/**
 * Requests above this are refused with 413: the HTTP API payload quota (10 MB,
 * not adjustable).
 * https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-quotas.html
 */
export const MAX_PAYLOAD_BYTES = 10 * 1024 * 1024;

/** The API id of the local API when the runtime gives none (10 characters). */
export const DEFAULT_API_ID = 'localapi00';

/** Options of {@link startHttpApi}. */
export interface HttpApiOptions {
  /** The routes, as the template reader found them. */
  readonly routes: readonly LocalRoute[];
  /** The local functions by logical id. */
  readonly functions: ReadonlyMap<string, Invoker>;
  /** 0 or undefined picks a free port. */
  readonly port?: number;
  /** What `AWS_IAM` routes demand as `Authorization: Bearer <adminToken>`. */
  readonly adminToken: string;
  /** Where the access log goes, one line per request. */
  readonly log?: (line: string) => void;
  readonly apiId?: string;
  /** 30 s unless told (tests shorten it). */
  readonly integrationTimeoutMs?: number;
  /**
   * Local-only pages (`GET /openapi.json`, `GET /_docs`): answered only when no
   * template route matches the request, so they never shadow one.
   */
  readonly pages?: readonly LocalPage[];
  /**
   * Local-only apps under a path prefix (the console, `/_console`): like `pages`,
   * answered only when no template route matches, for any path under the prefix.
   */
  readonly mounts?: readonly LocalMount[];
}

/** A running local HTTP API. */
export interface RunningHttpApi {
  /** `http://127.0.0.1:<port>`, no trailing slash. */
  readonly url: string;
  readonly port: number;
  /** Stops accepting, waits for the requests under way, frees the port. */
  stop(): Promise<void>;
}

/**
 * Starts the local HTTP API on 127.0.0.1.
 *
 * Authorization, since nothing can be checked against AWS here:
 * - `AWS_IAM` routes demand `Authorization: Bearer <adminToken>` (the runtime
 *   prints the token at start); missing or wrong is 403 `{"message":"Forbidden"}`,
 *   what API Gateway answers an unsigned request, plus a `local` field saying how
 *   to authenticate here (../admin-token.ts). Accepted requests carry
 *   `requestContext.authorizer.iam` for `LOCAL_OPERATOR` (./authorization.ts).
 *   https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-access-control-iam.html
 * - `JWT` routes demand `Authorization: Bearer <jwt>`, as API Gateway does
 *   (missing or not a JWT: 401 `{"message":"Unauthorized"}`, plus a `local`
 *   hint), but the token is
 *   NOT verified: signature, issuer, audience and expiry are not checked; its
 *   claims and scopes reach `requestContext.authorizer.jwt` as they are.
 *   https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-jwt-authorizer.html
 *
 * Bodies over {@link MAX_PAYLOAD_BYTES} are 413, a request that finds no route
 * 404, a function that is not loaded 500, an invocation that outlasts the
 * integration timeout 503 `{"message":"Service Unavailable"}`. Every answer
 * carries `apigw-requestid`, the event's `requestContext.requestId`.
 *
 * @example
 * ```ts
 * const api = await startHttpApi({ routes, functions, adminToken, log: console.log });
 * const response = await fetch(`${api.url}/health`);
 * await api.stop();
 * ```
 */
export async function startHttpApi(
  options: HttpApiOptions,
): Promise<RunningHttpApi> {
  const state: ServerState = {
    integration: {
      functions: options.functions,
      adminToken: options.adminToken,
      apiId: options.apiId ?? DEFAULT_API_ID,
      timeoutMs: options.integrationTimeoutMs ?? INTEGRATION_TIMEOUT_MS,
      log: options.log ?? (() => {}),
    },
    routes: options.routes,
    pages: new Map(options.pages?.map((page) => [page.path, page])),
    mounts: options.mounts ?? [],
    mounted: new WeakSet<ServerResponse>(),
    url: '',
    stopping: false,
  };
  const inFlight = new Set<Promise<void>>();

  const server = createServer((request, response) => {
    const started = performance.now();
    const requestId = newRequestId();
    response.on('finish', () =>
      logRequest(state, request, response, requestId, started),
    );
    const handled = handle(state, request, response, requestId)
      .catch((error: unknown) => {
        state.integration.log(
          `internal error on ${request.url}: ${String(error)}`,
        );
        if (!response.headersSent) {
          writeResponse(
            response,
            gatewayError(500, 'Internal Server Error'),
            requestId,
            state.stopping,
          );
        }
      })
      .finally(() => {
        inFlight.delete(handled);
        if (state.stopping) server.closeIdleConnections();
      });
    inFlight.add(handled);
  });

  const port = await listen(server, options.port ?? 0);
  state.url = `http://${LOOPBACK}:${port}`;
  let stopped: Promise<void> | undefined;
  return {
    url: state.url,
    port,
    stop: () => {
      stopped ??= stopServer(server, state, inFlight);
      return stopped;
    },
  };
}

/** What answering a request takes: the options resolved, and the server's state. */
interface ServerState {
  readonly integration: Integration;
  readonly routes: readonly LocalRoute[];
  readonly pages: ReadonlyMap<string, LocalPage>;
  readonly mounts: readonly LocalMount[];
  /** The responses a mounted app writes, left out of the access log. */
  readonly mounted: WeakSet<ServerResponse>;
  /** `http://127.0.0.1:<port>` once listening. */
  url: string;
  stopping: boolean;
}

/** Answers one request: 413, a mounted app, a route's integration, or a page or 404. */
async function handle(
  state: ServerState,
  request: IncomingMessage,
  response: ServerResponse,
  requestId: string,
): Promise<void> {
  const body = await readBody(request, MAX_PAYLOAD_BYTES);
  if (body === undefined) {
    writeResponse(
      response,
      gatewayError(413, 'Request Entity Too Large'),
      requestId,
      state.stopping,
    );
    return;
  }
  const target = request.url ?? '/';
  const queryAt = target.indexOf('?');
  const path = queryAt < 0 ? target : target.slice(0, queryAt);
  const rawQueryString = queryAt < 0 ? '' : target.slice(queryAt + 1);
  const method = request.method ?? 'GET';

  const match = matchRoute(state.routes, method, path);
  const mount = match ? undefined : mountOf(state.mounts, path);
  if (mount) {
    state.mounted.add(response);
    await mount.handle(request, response, { path, rawQueryString });
    return;
  }
  const answer = match
    ? await answerRoute(
        state.integration,
        match,
        request,
        { method, path, rawQueryString, body },
        requestId,
      )
    : unroutedAnswer(state.pages, method, path, state.url);
  writeResponse(response, answer, requestId, state.stopping);
}

/** The access log line of a request, once it is answered. */
function logRequest(
  state: ServerState,
  request: IncomingMessage,
  response: ServerResponse,
  requestId: string,
  started: number,
): void {
  // A mounted app's requests (the console's page and its API) would drown
  // the log; a route that shadows the mount is logged as usual.
  if (state.mounted.has(response)) return;
  const ms = Math.round(performance.now() - started);
  state.integration.log(
    `${request.method} ${request.url} ${response.statusCode} ${ms}ms ${requestId}`,
  );
}

function listen(server: Server, port: number): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port, host: LOOPBACK }, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

/** Stops accepting, lets the requests under way finish, then frees the port. */
async function stopServer(
  server: Server,
  state: ServerState,
  inFlight: ReadonlySet<Promise<void>>,
): Promise<void> {
  state.stopping = true;
  const closed = new Promise<void>((resolve, reject) => {
    server.close((error) => (error ? reject(error) : resolve()));
  });
  server.closeIdleConnections();
  await Promise.allSettled([...inFlight]);
  server.closeIdleConnections();
  await closed;
}

/** Reads the whole body; undefined once it passes `limit` (then drained). */
function readBody(
  request: IncomingMessage,
  limit: number,
): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const declared = Number(request.headers['content-length'] ?? 0);
    let tooLarge = declared > limit;
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      if (tooLarge) return;
      size += chunk.length;
      if (size > limit) {
        tooLarge = true;
        chunks.length = 0;
        return;
      }
      chunks.push(chunk);
    });
    // Draining what is left before answering lets the client finish sending
    // and read the 413 instead of a reset connection.
    request.on('end', () =>
      resolve(tooLarge ? undefined : Buffer.concat(chunks)),
    );
    request.on('error', reject);
  });
}
