/**
 * The Lambda integration of a matched route: authorize the request, build its
 * payload 2.0 event, invoke the route's function within the integration
 * timeout, and map the result to the answer API Gateway would send.
 */
import type { IncomingMessage } from 'node:http';
import { LOOPBACK } from '#platform/ports.ts';
import type { Invoker } from '../lambda.ts';
import { authorize } from './authorization.ts';
import { buildHttpEvent } from './event.ts';
import {
  gatewayError,
  type HttpResponse,
  toHttpResponse,
} from './responses.ts';
import type { LocalRoute, RouteMatch } from './routing.ts';

/**
 * API Gateway gives up on an integration after 30 seconds (not adjustable) and
 * answers 503; the functions' own timeout (60 s here) is longer, so on AWS this
 * is the limit a slow request meets first.
 * https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-quotas.html
 */
export const INTEGRATION_TIMEOUT_MS = 30_000;

/** What invoking a route's function takes, besides the request. */
export interface Integration {
  /** The local functions by logical id. */
  readonly functions: ReadonlyMap<string, Invoker>;
  /** What `AWS_IAM` routes demand as `Authorization: Bearer <adminToken>`. */
  readonly adminToken: string;
  readonly apiId: string;
  readonly timeoutMs: number;
  readonly log: (line: string) => void;
}

/** The parts of a request already read: its body, and its target split. */
export interface ReadRequest {
  readonly method: string;
  readonly path: string;
  readonly rawQueryString: string;
  readonly body: Buffer;
}

/**
 * The answer to a request a route matched: 403 or 401 when its authorization
 * refuses it, 500 when its function is not loaded or fails, 503
 * `{"message":"Service Unavailable"}` when the function outlasts the
 * integration timeout, else the function's response as API Gateway maps it.
 *
 * @example
 * ```ts
 * const answer = await answerRoute(integration, match, request, read, requestId);
 * ```
 */
export async function answerRoute(
  integration: Integration,
  match: RouteMatch<LocalRoute>,
  request: IncomingMessage,
  read: ReadRequest,
  requestId: string,
): Promise<HttpResponse> {
  const authorization = authorize(
    match.route.authorizationType,
    request.headers.authorization,
    integration.adminToken,
  );
  if (!authorization.ok) return authorization.response;
  const invoker = integration.functions.get(match.route.functionLogicalId);
  if (!invoker) {
    integration.log(
      `no local function ${match.route.functionLogicalId} for ${match.route.routeKey}`,
    );
    return gatewayError(500, 'Internal Server Error');
  }
  const event = buildHttpEvent(
    {
      method: read.method,
      path: read.path,
      rawQueryString: read.rawQueryString,
      headers: request.headersDistinct,
      body: read.body,
      sourceIp: sourceIpOf(request),
      protocol: `HTTP/${request.httpVersion}`,
    },
    {
      routeKey: match.route.routeKey,
      pathParameters: match.pathParameters,
    },
    {
      apiId: integration.apiId,
      requestId,
      ...(authorization.context ? { authorizer: authorization.context } : {}),
    },
  );
  const outcome = await withTimeout(
    invoker.invoke(event),
    integration.timeoutMs,
  );
  if (outcome === 'timeout') return gatewayError(503, 'Service Unavailable');
  if (!outcome.ok) {
    integration.log(
      `${invoker.name} failed: ${outcome.errorType}: ${outcome.errorMessage}`,
    );
  }
  return toHttpResponse(outcome);
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
