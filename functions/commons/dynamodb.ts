/**
 * The DynamoDB document client the functions share, and the one place that decides
 * which store errors are transient: the repositories map throttling, 5xx and network
 * failures to {@link StoreUnavailableError}, so the Kafka consumer module retries them
 * instead of dead-lettering a record that a healthy store would have accepted.
 *
 * Every client has a budget (docs/timeouts.md): a connect timeout, a request timeout
 * and a bounded number of attempts, so a frozen store fails a call in about
 * `maxAttempts x requestTimeoutMs` instead of hanging until the caller gives up.
 */
import {
  DynamoDBClient,
  type DynamoDBClientConfig,
  TransactionCanceledException,
} from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { TransientError } from '#domain/failures.ts';
import { DEFAULT_BUDGETS, type DynamoDbConfig } from './config.ts';

/**
 * The store could not be reached or refused the load; retrying later may succeed.
 *
 * `ambiguous` says whether the call may nevertheless have been applied: true when a
 * request reached the store and no answer came back (a request timeout, a reset
 * connection, a 5xx), in this attempt or an earlier one the SDK retried; false when
 * the store certainly did nothing (the connection was refused or never opened, the
 * request was throttled). Unknown cases count as ambiguous.
 *
 * @example
 * ```ts
 * if (error instanceof StoreUnavailableError && error.ambiguous) {
 *   // read back before telling anyone the write did not happen
 * }
 * ```
 */
export class StoreUnavailableError extends TransientError {
  readonly ambiguous: boolean;

  constructor(
    message: string,
    options?: ErrorOptions & { ambiguous?: boolean },
  ) {
    super(message, options);
    this.name = 'StoreUnavailableError';
    this.ambiguous = options?.ambiguous ?? true;
  }
}

/** Set on a context (and then on its errors) once an attempt failed ambiguously. */
const SENT_UNANSWERED = Symbol('store request sent, unanswered');

/**
 * A document client for the configured region, pointed at `config.endpoint` when set
 * (DynamoDB Local, LocalStack), within `config.budget` (default: the HTTP functions'
 * budget). `undefined` attributes are dropped rather than rejected, so optional fields
 * need no special casing; `null` is stored as NULL. `clientConfig` overrides the SDK
 * settings (credentials, `maxAttempts`, `requestHandler`).
 *
 * The request timeout is enforced (`throwOnRequestTimeout`): without it the SDK's
 * handler only logs a warning and keeps waiting.
 *
 * @example
 * ```ts
 * const db = createDocumentClient(loadConfig({ ddb: DynamoDbConfig }).ddb);
 * ```
 */
export function createDocumentClient(
  config: DynamoDbConfig,
  clientConfig: DynamoDBClientConfig = {},
): DynamoDBDocumentClient {
  const budget = config.budget ?? DEFAULT_BUDGETS.api.store;
  const client = new DynamoDBClient({
    region: config.region,
    ...(config.endpoint ? { endpoint: config.endpoint } : {}),
    maxAttempts: budget.maxAttempts,
    requestHandler: {
      connectionTimeout: budget.connectTimeoutMs,
      requestTimeout: budget.requestTimeoutMs,
      throwOnRequestTimeout: true,
    },
    ...clientConfig,
  });
  // Inside the retry loop (finalizeRequest, low priority: after the retry
  // middleware), so it sees every attempt: once one went unanswered, the error the
  // SDK finally throws, whatever it is, is marked as possibly applied.
  client.middlewareStack.add(
    (next, context) => async (args) => {
      try {
        return await next(args);
      } catch (error) {
        const seen = context as Record<symbol, unknown>;
        if (sentUnanswered(error)) seen[SENT_UNANSWERED] = true;
        if (seen[SENT_UNANSWERED] && typeof error === 'object' && error) {
          Object.defineProperty(error, SENT_UNANSWERED, { value: true });
        }
        throw error;
      }
    },
    { step: 'finalizeRequest', priority: 'low', name: 'storeAmbiguity' },
  );
  return DynamoDBDocumentClient.from(client, {
    marshallOptions: { removeUndefinedValues: true },
  });
}

/** Error names DynamoDB and the SDK use for load shedding, outages and timeouts. */
const UNAVAILABLE_NAMES = new Set([
  'ProvisionedThroughputExceededException',
  'ThrottlingException',
  'RequestLimitExceeded',
  'InternalServerError',
  'InternalFailure',
  'ServiceUnavailable',
  'ServiceUnavailableException',
  'TransactionInProgressException',
  'RequestTimeout',
  'RequestTimeoutException',
  'TimeoutError',
  // The caller's own deadline (an AbortSignal) ran out.
  'AbortError',
]);

/** Socket-level failures: the endpoint is down, unreachable or hung up on us. */
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
]);

/** Load shedding: the store refused the request before doing anything. */
const THROTTLED_NAMES = new Set([
  'ProvisionedThroughputExceededException',
  'ThrottlingException',
  'RequestLimitExceeded',
]);

/** Failures to open a connection: no request was sent. */
const NOT_CONNECTED_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
]);

/**
 * Whether one failed attempt may have reached the store and been applied: anything
 * but a connection that never opened, a throttled request, a cancelled transaction
 * or a 4xx answer. Unknown failures count as sent.
 */
function sentUnanswered(error: unknown): boolean {
  if (!(error instanceof Error)) return true;
  if (error instanceof AggregateError && error.errors.length > 0) {
    return error.errors.some((inner) => sentUnanswered(inner));
  }
  // A transaction is all or nothing: cancelled means none of it was written.
  if (error instanceof TransactionCanceledException) return false;
  if (THROTTLED_NAMES.has(error.name)) return false;
  const { code, syscall } = error as { code?: unknown; syscall?: unknown };
  if (typeof code === 'string' && NOT_CONNECTED_CODES.has(code)) return false;
  // The OS gave up connecting (ETIMEDOUT on connect), or the SDK's connect timeout.
  if (syscall === 'connect' || syscall === 'getaddrinfo') return false;
  if (/did not establish a connection/.test(error.message)) return false;
  const status = (error as { $metadata?: { httpStatusCode?: number } })
    .$metadata?.httpStatusCode;
  // A 4xx is an answer: the store looked at the request and refused it.
  if (status !== undefined && status >= 400 && status < 500) {
    return error.name === 'TransactionInProgressException';
  }
  return true;
}

/**
 * Whether a failed store call may nevertheless have been applied: one of its
 * attempts (the last, or one the SDK retried) was sent and went unanswered. Also true
 * of a refusal that follows such an attempt: a `ConditionalCheckFailed` on the retry
 * of a timed-out create may be that same create, applied the first time.
 *
 * @example
 * ```ts
 * isAmbiguousStoreFailure(Object.assign(new Error('x'), { code: 'ECONNREFUSED', syscall: 'connect' })); // false
 * ```
 */
export function isAmbiguousStoreFailure(error: unknown): boolean {
  if (error instanceof StoreUnavailableError) return error.ambiguous;
  if (typeof error === 'object' && error && SENT_UNANSWERED in error) {
    return true;
  }
  return sentUnanswered(error);
}

/** Cancellation reasons of a transaction that say "try again", not "no". */
const UNAVAILABLE_REASONS = new Set([
  'ThrottlingError',
  'ProvisionedThroughputExceeded',
  'RequestLimitExceeded',
  'TransactionConflict',
]);

/**
 * The cancellation reason code of each item of a cancelled transaction (`None` for
 * the items that passed), or an empty list for any other error.
 *
 * @example
 * ```ts
 * if (cancellationCodes(error)[0] === 'ConditionalCheckFailed') return 'duplicate';
 * ```
 */
export function cancellationCodes(error: unknown): string[] {
  if (!(error instanceof TransactionCanceledException)) return [];
  return (error.CancellationReasons ?? []).map(
    (reason) => reason.Code ?? 'None',
  );
}

/**
 * Whether an error means the store is unavailable for now (throttled, failing,
 * unreachable, too slow), as opposed to a refusal such as a failed condition.
 *
 * @example
 * ```ts
 * isStoreUnavailable(Object.assign(new Error('x'), { code: 'ECONNREFUSED' })); // true
 * ```
 */
export function isStoreUnavailable(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  if (error instanceof TransactionCanceledException) {
    const codes = cancellationCodes(error);
    return (
      !codes.includes('ConditionalCheckFailed') &&
      codes.some((code) => UNAVAILABLE_REASONS.has(code))
    );
  }
  if (UNAVAILABLE_NAMES.has(error.name)) return true;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && NETWORK_CODES.has(code)) return true;
  const status = (error as { $metadata?: { httpStatusCode?: number } })
    .$metadata?.httpStatusCode;
  if (status !== undefined && status >= 500) return true;
  // Node reports a failed connection to a dual-stack name as an AggregateError.
  if (error instanceof AggregateError) {
    return error.errors.some((inner) => isStoreUnavailable(inner));
  }
  return false;
}

/**
 * `error` as a {@link StoreUnavailableError} (with the original as cause, and
 * `ambiguous` from {@link isAmbiguousStoreFailure}) when the store is unavailable,
 * otherwise `error` itself, untouched.
 *
 * @example
 * ```ts
 * catch (error) { throw toStoreError(error, 'orders.get'); }
 * ```
 */
export function toStoreError(error: unknown, operation: string): unknown {
  if (error instanceof StoreUnavailableError || !isStoreUnavailable(error)) {
    return error;
  }
  const detail =
    error instanceof Error ? `${error.name}: ${error.message}` : '';
  return new StoreUnavailableError(
    `store unavailable during ${operation}: ${detail}`,
    { cause: error, ambiguous: isAmbiguousStoreFailure(error) },
  );
}

/**
 * Runs one store call, mapping unavailability to {@link StoreUnavailableError}; every
 * other error (a failed condition, a validation error) passes through unchanged for the
 * caller to interpret.
 *
 * @example
 * ```ts
 * const { Item } = await callStore('orders.get', () => db.send(new GetCommand(input)));
 * ```
 */
export async function callStore<T>(
  operation: string,
  call: () => Promise<T>,
): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw toStoreError(error, operation);
  }
}
