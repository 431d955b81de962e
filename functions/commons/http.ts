/**
 * The HTTP edge for API Gateway HTTP API (payload format 2.0): problem+json errors
 * (RFC 9457), JSON bodies parsed and validated with zod, the 64 KiB body limit and the
 * correlation id. One place maps every error to a response: {@link problemResponses}.
 */
import type { MiddlewareObj } from '@middy/core';
import type {
  APIGatewayProxyEventV2,
  APIGatewayProxyStructuredResultV2,
} from 'aws-lambda';
import * as z from 'zod';
import { TransientError } from '#domain/failures.ts';

export type HttpEvent = APIGatewayProxyEventV2;
export type HttpResult = APIGatewayProxyStructuredResultV2;

/** Request bodies above this are refused with 413 (docs/domain.md section 4). */
export const MAX_BODY_BYTES = 64 * 1024;

/**
 * Request bodies nested deeper than this are refused with 400 `invalid-json`
 * (docs/domain.md section 4). No request we take nests deeper than 8; a body nested
 * 10 000 deep parses, but serializing or cloning it again overflows the stack.
 */
export const MAX_JSON_DEPTH = 64;

/** One failing field of a request, as problem+json lists them. */
export const FieldError = z.object({
  /** Dotted path into the body, e.g. `items.0.quantity`; empty for the whole body. */
  field: z.string(),
  message: z.string(),
});
export type FieldError = z.infer<typeof FieldError>;

/**
 * The body of every error answer of our functions: RFC 9457 problem+json, served as
 * `application/problem+json` (docs/domain.md section 4).
 *
 * @example
 * ```ts
 * Problem.parse(JSON.parse(response.body));
 * ```
 */
export const Problem = z.object({
  /** `/problems/<slug>`: stable, one per kind of failure. */
  type: z.string().startsWith('/problems/'),
  title: z.string(),
  status: z.number().int().min(400).max(599),
  detail: z.string().optional(),
  /** The path of the request that failed. */
  instance: z.string().optional(),
  /** `validation` only: every failing field. */
  errors: z.array(FieldError).optional(),
});
export type Problem = z.infer<typeof Problem>;

/**
 * An error that is an HTTP answer: status, a stable `type`, a human `title`, and
 * optional detail, failing fields and headers (e.g. Retry-After).
 *
 * @example
 * ```ts
 * throw new ProblemError(404, 'order-not-found', 'Order not found', { detail: `no order ${id}` });
 * ```
 */
export class ProblemError extends Error {
  readonly status: number;
  readonly type: string;
  readonly title: string;
  readonly detail: string | undefined;
  readonly errors: readonly FieldError[] | undefined;
  readonly headers: Readonly<Record<string, string>>;

  constructor(
    status: number,
    type: string,
    title: string,
    extra: {
      detail?: string;
      errors?: readonly FieldError[];
      headers?: Record<string, string>;
      cause?: unknown;
    } = {},
  ) {
    super(extra.detail ?? title, { cause: extra.cause });
    this.name = 'ProblemError';
    this.status = status;
    this.type = type;
    this.title = title;
    this.detail = extra.detail;
    this.errors = extra.errors;
    this.headers = extra.headers ?? {};
  }
}

/** The `type` URI of a problem: stable, documented in README. */
export function problemType(slug: string): string {
  return `/problems/${slug}`;
}

/**
 * A JSON response.
 *
 * @example
 * ```ts
 * return json(201, order, { location: `/orders/${order.orderId}` });
 * ```
 */
export function json(
  statusCode: number,
  body: unknown,
  headers: Record<string, string> = {},
): HttpResult {
  return {
    statusCode,
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  };
}

/** The problem+json response of a {@link ProblemError}. */
export function problemResponse(
  problem: ProblemError,
  instance?: string,
): HttpResult {
  const body: Problem = {
    type: problemType(problem.type),
    title: problem.title,
    status: problem.status,
    ...(problem.detail ? { detail: problem.detail } : {}),
    ...(instance ? { instance } : {}),
    ...(problem.errors ? { errors: [...problem.errors] } : {}),
  };
  return {
    statusCode: problem.status,
    headers: {
      'content-type': 'application/problem+json',
      ...problem.headers,
    },
    body: JSON.stringify(body),
  };
}

/** Every failing field of a zod error, as problem+json lists them. */
export function fieldErrors(error: z.ZodError): FieldError[] {
  return error.issues.map((issue) => ({
    field: issue.path.map(String).join('.'),
    message: issue.message,
  }));
}

/** The raw body as text (API Gateway may base64-encode it). */
export function bodyText(event: HttpEvent): string {
  if (!event.body) return '';
  return event.isBase64Encoded
    ? Buffer.from(event.body, 'base64').toString('utf8')
    : event.body;
}

/**
 * Parses and validates a JSON body. Not JSON -> 400 `invalid-json`; not
 * `application/json` -> 415; schema failures -> 400 `validation` with every field.
 *
 * @example
 * ```ts
 * const request = parseJsonBody(event, PlaceOrderRequest);
 * ```
 */
export function parseJsonBody<S extends z.ZodType>(
  event: HttpEvent,
  schema: S,
): z.output<S> {
  const contentType = event.headers['content-type'] ?? '';
  if (!/^application\/(?:[\w.+-]+\+)?json\b/i.test(contentType)) {
    throw new ProblemError(
      415,
      'unsupported-media-type',
      'Unsupported media type',
      { detail: 'send the body as application/json' },
    );
  }
  const text = bodyText(event);
  if (nestsDeeperThan(text, MAX_JSON_DEPTH)) {
    throw new ProblemError(400, 'invalid-json', 'The body is not valid JSON', {
      detail: `the body nests arrays or objects deeper than ${MAX_JSON_DEPTH} levels`,
    });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new ProblemError(400, 'invalid-json', 'The body is not valid JSON', {
      detail: (error as Error).message,
      cause: error,
    });
  }
  const result = schema.safeParse(parsed);
  if (!result.success) {
    throw new ProblemError(400, 'validation', 'The request is not valid', {
      errors: fieldErrors(result.error),
    });
  }
  return result.data;
}

/**
 * Whether JSON text opens more than `limit` arrays or objects inside each other,
 * brackets inside strings not counted. A scan of the text, so nothing deep is built.
 */
function nestsDeeperThan(text: string, limit: number): boolean {
  let depth = 0;
  let inString = false;
  for (let index = 0; index < text.length; index += 1) {
    const char = text.charCodeAt(index);
    if (inString) {
      if (char === 0x5c)
        index += 1; // a backslash escapes the next character
      else if (char === 0x22) inString = false;
    } else if (char === 0x22) {
      inString = true;
    } else if (char === 0x5b || char === 0x7b) {
      depth += 1;
      if (depth > limit) return true;
    } else if (char === 0x5d || char === 0x7d) {
      depth -= 1;
    }
  }
  return false;
}

/**
 * Refuses bodies over {@link MAX_BODY_BYTES} with 413, before anything parses them.
 */
export function bodyLimit(
  maxBytes = MAX_BODY_BYTES,
): MiddlewareObj<HttpEvent, HttpResult> {
  return {
    before: ({ event }) => {
      if (!event.body) return;
      const bytes = event.isBase64Encoded
        ? Buffer.byteLength(event.body, 'base64')
        : Buffer.byteLength(event.body, 'utf8');
      if (bytes > maxBytes) {
        throw new ProblemError(413, 'payload-too-large', 'Payload too large', {
          detail: `the body has ${bytes} bytes; at most ${maxBytes} are accepted`,
        });
      }
    },
  };
}

/** What a correlation id given by a client may be: 1-256 printable ASCII characters. */
const CORRELATION_ID = /^[\x20-\x7e]{1,256}$/;

/**
 * The correlation id of a request: `x-correlation-id` (trimmed), else the API Gateway
 * request id (docs/domain.md section 3). It is echoed in a response header and sent in
 * Kafka headers, so a value that is not printable ASCII (a control character, a lone
 * surrogate, which no response header may carry) or too long is not taken.
 */
export function correlationIdOf(event: HttpEvent): string {
  const given = event.headers['x-correlation-id']?.trim();
  return given && CORRELATION_ID.test(given)
    ? given
    : event.requestContext.requestId;
}

/**
 * A dependency that is down or too slow (Kafka, DynamoDB: a {@link TransientError})
 * as 503 with Retry-After: the request did nothing, and may be sent again. The
 * Retry-After is the error's own `retryAfterSeconds` where it has one (an open circuit
 * breaker knows when it half-opens), else 5 s.
 */
function unavailable(error: TransientError): ProblemError {
  const { retryAfterSeconds } = error as { retryAfterSeconds?: unknown };
  const seconds = typeof retryAfterSeconds === 'number' ? retryAfterSeconds : 5;
  return new ProblemError(503, 'unavailable', 'Service unavailable', {
    detail: 'a dependency is unavailable; try again later',
    headers: { 'retry-after': String(seconds) },
    cause: error,
  });
}

/** Maps an error that is not a ProblemError to one, or undefined for a 500. */
export type ErrorMapper = (error: unknown) => ProblemError | undefined;

/**
 * The one place errors become HTTP answers: ProblemErrors as they are, mapped errors
 * through `map`, a dependency down (TransientError) as 503 with Retry-After, middy's
 * http-errors (the router's 404) by status, anything else a logged 500 that says
 * nothing about internals. Every answer carries the correlation id header.
 *
 * @example
 * ```ts
 * middy<HttpEvent, HttpResult>().use(problemResponses({ logger, map: mapDomainErrors }))
 * ```
 */
export function problemResponses(options: {
  logger: {
    error(message: string, ...extra: unknown[]): void;
    warn(message: string, ...extra: unknown[]): void;
  };
  map?: ErrorMapper;
}): MiddlewareObj<HttpEvent, HttpResult> {
  const withCorrelation = (event: HttpEvent, result: HttpResult) => ({
    ...result,
    headers: {
      ...result.headers,
      'x-correlation-id': correlationIdOf(event),
    },
  });
  return {
    after: (request) => {
      if (request.response) {
        request.response = withCorrelation(request.event, request.response);
      }
    },
    onError: (request) => {
      const { error, event } = request;
      let problem =
        error instanceof ProblemError ? error : options.map?.(error);
      if (!problem && error instanceof TransientError) {
        options.logger.warn('dependency unavailable', error as Error);
        problem = unavailable(error);
      }
      const status = (error as { statusCode?: number } | null)?.statusCode;
      if (!problem && status === 404) {
        problem = new ProblemError(404, 'route-not-found', 'Not found', {
          detail: `no route for ${event.requestContext.http.method} ${event.rawPath}`,
        });
      }
      if (!problem) {
        options.logger.error('unhandled error', error as Error);
        problem = new ProblemError(500, 'internal', 'Internal error', {
          detail: `the request failed; quote ${correlationIdOf(event)} when reporting it`,
        });
      }
      request.response = withCorrelation(
        event,
        problemResponse(problem, event.rawPath),
      );
    },
  };
}

/**
 * The middlewares of an HTTP edge, for `edgeHandler` (#commons/edge-handler.ts): every
 * error mapped to a problem response ({@link problemResponses}), then bodies over the
 * limit refused ({@link bodyLimit}).
 *
 * @example
 * ```ts
 * const api = edgeHandler({ logger }, routes, httpEdge({ logger, map }));
 * ```
 */
export function httpEdge(
  options: Parameters<typeof problemResponses>[0],
): MiddlewareObj<HttpEvent, HttpResult>[] {
  return [problemResponses(options), bodyLimit()];
}
