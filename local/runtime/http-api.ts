/**
 * The local HTTP API: a node:http server on 127.0.0.1 that plays API Gateway
 * HTTP API (payload format 2.0) in front of the local functions. It turns each
 * request into the event API Gateway would send, routes it by the route keys
 * the template reader found (never a copy of infra/http-api.ts), and answers
 * with the function's response mapped the way API Gateway maps it.
 * https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-integrations-lambda.html
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import {
  createServer,
  type IncomingMessage,
  type OutgoingHttpHeaders,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import type {
  APIGatewayEventRequestContextV2,
  APIGatewayProxyEventV2WithRequestContext,
} from 'aws-lambda';
import { LOOPBACK } from '#platform/ports.ts';
import { FORBIDDEN_HINT, UNAUTHORIZED_HINT } from './admin-token.ts';
import type { InvokeResult, Invoker } from './lambda.ts';
import type { LocalRoute as TemplateRoute } from './template.ts';

export type { InvokeResult, Invoker };

/** How a route is authorized, as the template's `AuthorizationType` says. */
export type AuthorizationType = TemplateRoute['authorizationType'];

/** What the HTTP API needs of a route the template reader found. */
export type LocalRoute = Pick<
  TemplateRoute,
  'routeKey' | 'functionLogicalId' | 'authorizationType'
>;

/**
 * Requests above this are refused with 413: the HTTP API payload quota (10 MB,
 * not adjustable).
 * https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-quotas.html
 */
export const MAX_PAYLOAD_BYTES = 10 * 1024 * 1024;

/**
 * API Gateway gives up on an integration after 30 seconds (not adjustable) and
 * answers 503; the functions' own timeout (60 s here) is longer, so on AWS this
 * is the limit a slow request meets first.
 * https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-quotas.html
 */
export const INTEGRATION_TIMEOUT_MS = 30_000;

/** The account every local event claims: no real account is involved. */
export const LOCAL_ACCOUNT_ID = '000000000000';

/** The API id of the local API when the runtime gives none (10 characters). */
export const DEFAULT_API_ID = 'localapi00';

/**
 * The caller an `AWS_IAM` route sees once the admin token is accepted: IAM
 * cannot be checked locally, so every operator is this one IAM user.
 */
export const LOCAL_OPERATOR = {
  accessKey: 'AKIALOCALOPERATOR000',
  accountId: LOCAL_ACCOUNT_ID,
  callerId: 'AIDALOCALOPERATOR0000',
  cognitoIdentity: null,
  principalOrgId: null,
  userArn: `arn:aws:iam::${LOCAL_ACCOUNT_ID}:user/local-operator`,
  userId: 'AIDALOCALOPERATOR0000',
} as const;

/** `requestContext.authorizer` for IAM routes, shaped like AWS sends it. */
export interface IamAuthorizerContext {
  readonly iam: {
    readonly accessKey: string;
    readonly accountId: string;
    readonly callerId: string;
    readonly cognitoIdentity: null;
    readonly principalOrgId: string | null;
    readonly userArn: string;
    readonly userId: string;
  };
}

/** `requestContext.authorizer` for JWT routes: the token's claims and scopes. */
export interface JwtAuthorizerContext {
  readonly jwt: {
    readonly claims: Record<string, string | number | boolean | string[]>;
    readonly scopes: string[] | null;
  };
}

/** What a route's authorizer adds to the request context, if anything. */
export type AuthorizerContext = IamAuthorizerContext | JwtAuthorizerContext;

/**
 * The payload 2.0 event: `APIGatewayProxyEventV2` plus the authorizer context
 * AWS adds on authorized routes (absent on routes without an authorizer).
 */
export type LocalHttpEvent = APIGatewayProxyEventV2WithRequestContext<
  APIGatewayEventRequestContextV2 & { authorizer?: AuthorizerContext }
>;

/** The parts of an HTTP request the event is built from. */
export interface HttpRequestParts {
  readonly method: string;
  /** The path as received, still percent-encoded, without the query. */
  readonly path: string;
  /** The query after `?`, still percent-encoded; empty when none. */
  readonly rawQueryString: string;
  /** Header names in any case; repeated values as arrays (`headersDistinct`). */
  readonly headers: Readonly<
    Record<string, string | readonly string[] | undefined>
  >;
  readonly body: Buffer;
  readonly sourceIp: string;
  /** `HTTP/1.1` unless told. */
  readonly protocol?: string;
}

/**
 * Builds the API Gateway HTTP API payload 2.0 event of a request (pure).
 *
 * What it mirrors, per the payload format 2.0 contract
 * (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-integrations-lambda.html):
 * header names lowercased, repeated headers and query parameters joined with
 * commas, the Cookie header moved to `cookies` (one entry per cookie),
 * `rawPath` and parameters percent-decoded while `rawQueryString` stays
 * encoded, `queryStringParameters`/`pathParameters`/`body`/`cookies` absent
 * when empty, text bodies as text and anything else base64 with
 * `isBase64Encoded`. API Gateway also adds `x-forwarded-*` and
 * `x-amzn-trace-id`, so this does too.
 *
 * @example
 * ```ts
 * const event = buildHttpEvent(
 *   { method: 'GET', path: '/orders/o-1', rawQueryString: '', headers: {}, body: Buffer.alloc(0), sourceIp: '127.0.0.1' },
 *   { routeKey: 'GET /orders/{orderId}', pathParameters: { orderId: 'o-1' } },
 *   { apiId: 'localapi00' },
 * );
 * ```
 */
export function buildHttpEvent(
  request: HttpRequestParts,
  route: {
    readonly routeKey: string;
    readonly pathParameters?: Readonly<Record<string, string>>;
  },
  options: {
    readonly apiId: string;
    readonly stage?: '$default';
    readonly now?: Date;
    readonly requestId?: string;
    readonly authorizer?: AuthorizerContext;
  },
): LocalHttpEvent {
  const now = options.now ?? new Date();
  const stage = options.stage ?? '$default';
  const requestId = options.requestId ?? newRequestId();
  const method = request.method.toUpperCase();
  const rawPath = decodePath(request.path);

  const headers: Record<string, string> = {};
  const cookies: string[] = [];
  for (const [name, value] of Object.entries(request.headers)) {
    if (value === undefined) continue;
    const values: readonly string[] =
      typeof value === 'string' ? [value] : value;
    const key = name.toLowerCase();
    if (key === 'cookie') {
      // Payload 2.0 carries cookies apart, one entry per cookie; the header
      // itself is not forwarded.
      for (const line of values) {
        for (const cookie of line.split(';')) {
          const trimmed = cookie.trim();
          if (trimmed) cookies.push(trimmed);
        }
      }
      continue;
    }
    const previous = headers[key];
    const joined = values.join(',');
    headers[key] = previous === undefined ? joined : `${previous},${joined}`;
  }
  headers['x-forwarded-for'] = headers['x-forwarded-for']
    ? `${headers['x-forwarded-for']},${request.sourceIp}`
    : request.sourceIp;
  headers['x-forwarded-proto'] = 'http';
  headers['x-forwarded-port'] = portOf(headers.host);
  headers['x-amzn-trace-id'] = traceId(now);

  const queryStringParameters = parseQuery(request.rawQueryString);
  const pathParameters = route.pathParameters ?? {};
  const body = encodeBody(request.body, headers['content-type']);

  return {
    version: '2.0',
    routeKey: route.routeKey,
    rawPath,
    rawQueryString: request.rawQueryString,
    ...(cookies.length > 0 ? { cookies } : {}),
    headers,
    ...(queryStringParameters ? { queryStringParameters } : {}),
    requestContext: {
      accountId: LOCAL_ACCOUNT_ID,
      apiId: options.apiId,
      ...(options.authorizer ? { authorizer: options.authorizer } : {}),
      domainName: `${options.apiId}.execute-api.localhost`,
      domainPrefix: options.apiId,
      http: {
        method,
        path: rawPath,
        protocol: request.protocol ?? 'HTTP/1.1',
        sourceIp: request.sourceIp,
        userAgent: headers['user-agent'] ?? '',
      },
      requestId,
      routeKey: route.routeKey,
      stage,
      time: formatRequestTime(now),
      timeEpoch: now.getTime(),
    },
    ...(Object.keys(pathParameters).length > 0
      ? { pathParameters: { ...pathParameters } }
      : {}),
    ...(body === undefined
      ? { isBase64Encoded: false }
      : { body: body.text, isBase64Encoded: body.base64 }),
  };
}

/** A route that matched a request, with the values of its path variables. */
export interface RouteMatch<R extends { readonly routeKey: string }> {
  readonly route: R;
  readonly pathParameters: Record<string, string>;
}

/**
 * Finds the route API Gateway would pick for a request: exact route keys with
 * `{param}` segments and a trailing `{proxy+}`, `ANY` as a method, `$default`
 * last. When several match, the most specific wins: literal segments before
 * variables before greedy variables, a named method before `ANY`.
 * https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-routes.html
 * No match is `undefined`; the server answers it 404 `{"message":"Not Found"}`.
 *
 * @example
 * ```ts
 * const match = matchRoute(routes, 'GET', '/orders/o-1');
 * // match?.pathParameters -> { orderId: 'o-1' }
 * ```
 */
export function matchRoute<R extends { readonly routeKey: string }>(
  routes: readonly R[],
  method: string,
  path: string,
): RouteMatch<R> | undefined {
  const segments = splitPath(path);
  let best: { match: RouteMatch<R>; rank: number[] } | undefined;
  for (const route of routes) {
    const candidate = tryRoute(route, method.toUpperCase(), segments);
    if (candidate && (!best || compareRanks(candidate.rank, best.rank) > 0)) {
      best = candidate;
    }
  }
  return best?.match;
}

/** The HTTP answer of an invocation, ready to write. */
export interface HttpResponse {
  readonly statusCode: number;
  readonly headers: Readonly<Record<string, string>>;
  /** Each becomes one `Set-Cookie` header. */
  readonly cookies: readonly string[];
  readonly body: Buffer;
}

/**
 * Maps an invocation to the response API Gateway sends, per the payload 2.0
 * response rules
 * (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-integrations-lambda.html#http-api-develop-integrations-lambda.response):
 * - an object with `statusCode`: that status, its `headers`, each of its
 *   `cookies` as a Set-Cookie header, its `body` (base64-decoded when
 *   `isBase64Encoded`);
 * - anything else is taken as the body: 200, `content-type: application/json`,
 *   objects and other JSON values serialized, a string sent as it is (the AWS
 *   page's own example), null or undefined as an empty body;
 * - a function error, including the function's own timeout (Lambda reports it
 *   as a function error), or a malformed response (a status that is not an
 *   HTTP status, a body that is not a string): 500 `Internal Server Error`.
 * The integration timeout (503) is the server's, not this function's.
 *
 * @example
 * ```ts
 * const response = toHttpResponse({ ok: true, result: { statusCode: 204 }, durationMs: 2 });
 * // response.statusCode -> 204
 * ```
 */
export function toHttpResponse(result: InvokeResult): HttpResponse {
  if (!result.ok) return gatewayError(500, 'Internal Server Error');
  const value = result.result;
  if (isRecord(value) && 'statusCode' in value) {
    return structuredResponse(value);
  }
  const body =
    value === undefined || value === null
      ? ''
      : typeof value === 'string'
        ? value
        : JSON.stringify(value);
  return {
    statusCode: 200,
    headers: { 'content-type': 'application/json' },
    cookies: [],
    body: Buffer.from(body, 'utf8'),
  };
}

/**
 * The JSON errors API Gateway itself answers with (`{"message": ...}`); `local`, when
 * given, adds a field of that name saying what to do differently here.
 *
 * @example
 * ```ts
 * const notFound = gatewayError(404, 'Not Found');
 * ```
 */
export function gatewayError(
  statusCode: number,
  message: string,
  local?: string,
): HttpResponse {
  return {
    statusCode,
    headers: { 'content-type': 'application/json' },
    cookies: [],
    body: Buffer.from(
      JSON.stringify(local === undefined ? { message } : { message, local }),
      'utf8',
    ),
  };
}

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
 *   to authenticate here (./admin-token.ts). Accepted requests carry
 *   `requestContext.authorizer.iam` for {@link LOCAL_OPERATOR}.
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
  const apiId = options.apiId ?? DEFAULT_API_ID;
  const log = options.log ?? (() => {});
  const timeoutMs = options.integrationTimeoutMs ?? INTEGRATION_TIMEOUT_MS;
  const inFlight = new Set<Promise<void>>();
  let stopping = false;
  const pages = new Map(options.pages?.map((page) => [page.path, page]));
  const mounts = options.mounts ?? [];
  const mountOf = (path: string) =>
    mounts.find(
      (mount) => path === mount.prefix || path.startsWith(`${mount.prefix}/`),
    );
  const mounted = new WeakSet<ServerResponse>();
  let url = '';

  const server = createServer((request, response) => {
    const started = performance.now();
    const requestId = newRequestId();
    response.on('finish', () => {
      // A mounted app's requests (the console's page and its API) would drown
      // the log; a route that shadows the mount is logged as usual.
      if (mounted.has(response)) return;
      const ms = Math.round(performance.now() - started);
      log(
        `${request.method} ${request.url} ${response.statusCode} ${ms}ms ${requestId}`,
      );
    });
    const handled = handle(request, response, requestId)
      .catch((error: unknown) => {
        log(`internal error on ${request.url}: ${String(error)}`);
        if (!response.headersSent) {
          write(
            response,
            gatewayError(500, 'Internal Server Error'),
            requestId,
          );
        }
      })
      .finally(() => {
        inFlight.delete(handled);
        if (stopping) server.closeIdleConnections();
      });
    inFlight.add(handled);
  });

  async function handle(
    request: IncomingMessage,
    response: ServerResponse,
    requestId: string,
  ): Promise<void> {
    const body = await readBody(request, MAX_PAYLOAD_BYTES);
    if (body === undefined) {
      write(response, gatewayError(413, 'Request Entity Too Large'), requestId);
      return;
    }
    const target = request.url ?? '/';
    const queryAt = target.indexOf('?');
    const path = queryAt < 0 ? target : target.slice(0, queryAt);
    const rawQueryString = queryAt < 0 ? '' : target.slice(queryAt + 1);
    const method = request.method ?? 'GET';

    const match = matchRoute(options.routes, method, path);
    const mount = match ? undefined : mountOf(path);
    if (mount) {
      mounted.add(response);
      await mount.handle(request, response, { path, rawQueryString });
      return;
    }
    if (!match) {
      const page = method === 'GET' ? pages.get(path) : undefined;
      const answer = page
        ? {
            statusCode: 200,
            headers: { 'content-type': page.contentType },
            cookies: [],
            body: Buffer.from(page.render(url), 'utf8'),
          }
        : gatewayError(404, 'Not Found');
      write(response, answer, requestId);
      return;
    }
    const authorization = authorize(
      match.route.authorizationType,
      request.headers.authorization,
      options.adminToken,
    );
    if (!authorization.ok) {
      write(response, authorization.response, requestId);
      return;
    }
    const invoker = options.functions.get(match.route.functionLogicalId);
    if (!invoker) {
      log(
        `no local function ${match.route.functionLogicalId} for ${match.route.routeKey}`,
      );
      write(response, gatewayError(500, 'Internal Server Error'), requestId);
      return;
    }
    const event = buildHttpEvent(
      {
        method,
        path,
        rawQueryString,
        headers: request.headersDistinct,
        body,
        sourceIp: sourceIpOf(request),
        protocol: `HTTP/${request.httpVersion}`,
      },
      {
        routeKey: match.route.routeKey,
        pathParameters: match.pathParameters,
      },
      {
        apiId,
        requestId,
        ...(authorization.context ? { authorizer: authorization.context } : {}),
      },
    );
    const outcome = await withTimeout(invoker.invoke(event), timeoutMs);
    if (outcome === 'timeout') {
      write(response, gatewayError(503, 'Service Unavailable'), requestId);
      return;
    }
    if (!outcome.ok) {
      log(
        `${invoker.name} failed: ${outcome.errorType}: ${outcome.errorMessage}`,
      );
    }
    write(response, toHttpResponse(outcome), requestId);
  }

  function write(
    response: ServerResponse,
    answer: HttpResponse,
    requestId: string,
  ): void {
    const headers: OutgoingHttpHeaders = {};
    for (const [name, value] of Object.entries(answer.headers)) {
      const key = name.toLowerCase();
      // The length is the body's, whatever the function claimed.
      if (key === 'content-length' || key === 'transfer-encoding') continue;
      headers[key] = value;
    }
    if (answer.cookies.length > 0) {
      const given = headers['set-cookie'];
      headers['set-cookie'] = [
        ...(given === undefined ? [] : [String(given)]),
        ...answer.cookies,
      ];
    }
    headers['content-length'] = answer.body.length;
    headers['apigw-requestid'] = requestId;
    if (stopping) headers.connection = 'close';
    response.writeHead(answer.statusCode, headers);
    response.end(answer.body);
  }

  const port = await new Promise<number>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port: options.port ?? 0, host: LOOPBACK }, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });

  url = `http://${LOOPBACK}:${port}`;
  let stopped: Promise<void> | undefined;
  return {
    url,
    port,
    stop: () => {
      stopped ??= (async () => {
        stopping = true;
        const closed = new Promise<void>((resolve, reject) => {
          server.close((error) => (error ? reject(error) : resolve()));
        });
        server.closeIdleConnections();
        await Promise.allSettled([...inFlight]);
        server.closeIdleConnections();
        await closed;
      })();
      return stopped;
    },
  };
}

type Authorization =
  | { ok: true; context?: AuthorizerContext }
  | { ok: false; response: HttpResponse };

function authorize(
  type: AuthorizationType,
  header: string | undefined,
  adminToken: string,
): Authorization {
  if (type === 'NONE') return { ok: true };
  const token = bearerToken(header);
  if (type === 'AWS_IAM') {
    if (token === undefined || !sameSecret(token, adminToken)) {
      return {
        ok: false,
        response: gatewayError(403, 'Forbidden', FORBIDDEN_HINT),
      };
    }
    return { ok: true, context: { iam: { ...LOCAL_OPERATOR } } };
  }
  const claims = token === undefined ? undefined : jwtClaims(token);
  if (!claims) {
    return {
      ok: false,
      response: gatewayError(401, 'Unauthorized', UNAUTHORIZED_HINT),
    };
  }
  return { ok: true, context: { jwt: { claims, scopes: scopesOf(claims) } } };
}

function bearerToken(header: string | undefined): string | undefined {
  const match = header?.match(/^Bearer\s+(\S+)\s*$/i);
  return match?.[1];
}

function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given, 'utf8');
  const b = Buffer.from(expected, 'utf8');
  return a.length === b.length && timingSafeEqual(a, b);
}

/** The payload of a JWT, unverified; undefined when it is not one. */
function jwtClaims(
  token: string,
): Record<string, string | number | boolean | string[]> | undefined {
  const parts = token.split('.');
  if (parts.length !== 3 || !parts[1]) return undefined;
  let payload: unknown;
  try {
    payload = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
  if (!isRecord(payload)) return undefined;
  const claims: Record<string, string | number | boolean | string[]> = {};
  for (const [name, value] of Object.entries(payload)) {
    claims[name] =
      typeof value === 'string' ||
      typeof value === 'number' ||
      typeof value === 'boolean' ||
      (Array.isArray(value) && value.every((v) => typeof v === 'string'))
        ? value
        : JSON.stringify(value);
  }
  return claims;
}

/** Scopes as API Gateway reads them: the `scope` (or `scp`) claim. */
function scopesOf(
  claims: Record<string, string | number | boolean | string[]>,
): string[] | null {
  const scope = claims.scope ?? claims.scp;
  if (typeof scope === 'string') return scope.split(' ').filter(Boolean);
  if (Array.isArray(scope)) return [...scope];
  return null;
}

function structuredResponse(value: Record<string, unknown>): HttpResponse {
  const { statusCode, headers, cookies, body, isBase64Encoded } = value;
  if (
    typeof statusCode !== 'number' ||
    !Number.isInteger(statusCode) ||
    statusCode < 100 ||
    statusCode > 599 ||
    (body !== undefined && body !== null && typeof body !== 'string') ||
    (headers !== undefined && headers !== null && !isRecord(headers)) ||
    (cookies !== undefined && cookies !== null && !Array.isArray(cookies))
  ) {
    return gatewayError(500, 'Internal Server Error');
  }
  const outHeaders: Record<string, string> = {};
  for (const [name, header] of Object.entries(headers ?? {})) {
    if (header === undefined || header === null) continue;
    outHeaders[name.toLowerCase()] = String(header);
  }
  const text = typeof body === 'string' ? body : '';
  return {
    statusCode,
    headers: outHeaders,
    cookies: (cookies ?? []).map(String),
    body:
      isBase64Encoded === true
        ? Buffer.from(text, 'base64')
        : Buffer.from(text, 'utf8'),
  };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
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

function withTimeout<T>(
  promise: Promise<T>,
  ms: number,
): Promise<T | 'timeout'> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function sourceIpOf(request: IncomingMessage): string {
  const address = request.socket.remoteAddress ?? LOOPBACK;
  return address.startsWith('::ffff:') ? address.slice(7) : address;
}

function splitPath(path: string): string[] {
  return path
    .split('/')
    .filter((segment) => segment.length > 0)
    .map(decodeSegment);
}

/** HTTP APIs hand functions the path percent-decoded, segment by segment. */
function decodePath(path: string): string {
  const decoded = path.split('/').map(decodeSegment).join('/');
  return decoded.startsWith('/') ? decoded : `/${decoded}`;
}

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

/** Segment ranks: higher is more specific. */
const LITERAL = 3;
const VARIABLE = 2;
const GREEDY = 1;

function tryRoute<R extends { readonly routeKey: string }>(
  route: R,
  method: string,
  segments: readonly string[],
): { match: RouteMatch<R>; rank: number[] } | undefined {
  if (route.routeKey === '$default') {
    return { match: { route, pathParameters: {} }, rank: [0] };
  }
  const space = route.routeKey.indexOf(' ');
  if (space < 0) return undefined;
  const routeMethod = route.routeKey.slice(0, space).toUpperCase();
  if (routeMethod !== 'ANY' && routeMethod !== method) return undefined;
  const pattern = route.routeKey
    .slice(space + 1)
    .split('/')
    .filter((segment) => segment.length > 0);

  const pathParameters: Record<string, string> = {};
  const rank: number[] = [];
  for (const [index, part] of pattern.entries()) {
    const greedy = part.match(/^\{(.+)\+\}$/);
    if (greedy?.[1] && index === pattern.length - 1) {
      const rest = segments.slice(index);
      // A greedy variable needs at least one segment.
      if (rest.length === 0) return undefined;
      pathParameters[greedy[1]] = rest.join('/');
      rank.push(GREEDY);
      return finish();
    }
    const segment = segments[index];
    if (segment === undefined) return undefined;
    const variable = part.match(/^\{(.+)\}$/);
    if (variable?.[1]) {
      pathParameters[variable[1]] = segment;
      rank.push(VARIABLE);
    } else if (part === segment) {
      rank.push(LITERAL);
    } else {
      return undefined;
    }
  }
  if (segments.length !== pattern.length) return undefined;
  return finish();

  function finish() {
    // A named method outranks ANY only between otherwise equal paths.
    rank.push(routeMethod === 'ANY' ? 0 : 1);
    return { match: { route, pathParameters }, rank: [1, ...rank] };
  }
}

function compareRanks(a: readonly number[], b: readonly number[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const difference = (a[i] ?? 0) - (b[i] ?? 0);
    if (difference !== 0) return difference;
  }
  return 0;
}

/** Query parameters decoded, repeated keys joined with commas; none: undefined. */
function parseQuery(
  rawQueryString: string,
): Record<string, string> | undefined {
  if (!rawQueryString) return undefined;
  const parameters: Record<string, string> = {};
  for (const [name, value] of new URLSearchParams(rawQueryString)) {
    const previous = parameters[name];
    parameters[name] = previous === undefined ? value : `${previous},${value}`;
  }
  return Object.keys(parameters).length > 0 ? parameters : undefined;
}

const TEXT_TYPES =
  /^(?:text\/|application\/(?:[\w.+-]+\+)?(?:json|xml)\b|application\/x-www-form-urlencoded\b|application\/javascript\b)/i;

/** A body as text when it is declared text and is valid UTF-8; else base64. */
function encodeBody(
  body: Buffer,
  contentType: string | undefined,
): { text: string; base64: boolean } | undefined {
  if (body.length === 0) return undefined;
  if (contentType && TEXT_TYPES.test(contentType.trim())) {
    try {
      return {
        text: new TextDecoder('utf-8', { fatal: true }).decode(body),
        base64: false,
      };
    } catch {
      // Declared text but not UTF-8: pass it untouched, as bytes.
    }
  }
  return { text: body.toString('base64'), base64: true };
}

const MONTHS = [
  'Jan',
  'Feb',
  'Mar',
  'Apr',
  'May',
  'Jun',
  'Jul',
  'Aug',
  'Sep',
  'Oct',
  'Nov',
  'Dec',
];

/** `$context.requestTime`'s CLF format, always UTC: `17/Jun/2024:15:52:39 +0000`. */
function formatRequestTime(date: Date): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  return (
    `${pad(date.getUTCDate())}/${MONTHS[date.getUTCMonth()]}/${date.getUTCFullYear()}:` +
    `${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())} +0000`
  );
}

/** Request ids look like API Gateway's (`ZhNHJhhLjoEEPiw=`). */
function newRequestId(): string {
  return randomBytes(11).toString('base64');
}

/** An X-Ray trace header, `Root=1-<epoch seconds hex>-<96 random bits>`. */
function traceId(now: Date): string {
  const seconds = Math.floor(now.getTime() / 1000).toString(16);
  return `Root=1-${seconds}-${randomBytes(12).toString('hex')}`;
}

function portOf(host: string | undefined): string {
  const port = host?.match(/:(\d+)$/)?.[1];
  return port ?? '80';
}
