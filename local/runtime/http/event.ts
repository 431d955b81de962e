/**
 * The event of a request: the API Gateway HTTP API payload format 2.0 a
 * function receives, built from the parts of a Node.js request (pure).
 * https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-integrations-lambda.html
 */
import { randomBytes } from 'node:crypto';
import type {
  APIGatewayEventRequestContextV2,
  APIGatewayProxyEventV2WithRequestContext,
} from 'aws-lambda';
import { decodeSegment } from './routing.ts';

/** The account every local event claims: no real account is involved. */
export const LOCAL_ACCOUNT_ID = '000000000000';

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

  const { headers, cookies } = eventHeaders(request, now);

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

/**
 * The event's headers (names lowercased, repeated ones joined with commas, plus
 * the `x-forwarded-*` and `x-amzn-trace-id` API Gateway adds) and its cookies.
 */
function eventHeaders(
  request: HttpRequestParts,
  now: Date,
): { headers: Record<string, string>; cookies: string[] } {
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
  return { headers, cookies };
}

/** HTTP APIs hand functions the path percent-decoded, segment by segment. */
function decodePath(path: string): string {
  const decoded = path.split('/').map(decodeSegment).join('/');
  return decoded.startsWith('/') ? decoded : `/${decoded}`;
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
export function newRequestId(): string {
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
