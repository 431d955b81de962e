/**
 * Responses of the local HTTP API: a function's result mapped the way API
 * Gateway maps it, the gateway's own JSON errors, and writing either to the
 * client.
 */
import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { isRecord } from '#commons/guards.ts';
import type { InvokeResult } from '../lambda.ts';

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

/**
 * Writes an answer: its headers lowercased (the length is the body's, whatever
 * the function claimed), each cookie a `Set-Cookie` header, and
 * `apigw-requestid`; `connection: close` once the server is stopping.
 *
 * @example
 * ```ts
 * writeResponse(response, gatewayError(404, 'Not Found'), requestId, false);
 * ```
 */
export function writeResponse(
  response: ServerResponse,
  answer: HttpResponse,
  requestId: string,
  closing: boolean,
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
  if (closing) headers.connection = 'close';
  response.writeHead(answer.statusCode, headers);
  response.end(answer.body);
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
