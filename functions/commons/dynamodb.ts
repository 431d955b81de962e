/**
 * The DynamoDB document client the functions share, and the one place that decides
 * which store errors are transient: the repositories map throttling, 5xx and network
 * failures to {@link StoreUnavailableError}, so the Kafka consumer module retries them
 * instead of dead-lettering a record that a healthy store would have accepted.
 */
import {
  DynamoDBClient,
  type DynamoDBClientConfig,
  TransactionCanceledException,
} from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { TransientError } from '#domain/failures.ts';
import type { DynamoDbConfig } from './config.ts';

/** The store could not be reached or refused the load; retrying later may succeed. */
export class StoreUnavailableError extends TransientError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'StoreUnavailableError';
  }
}

/**
 * A document client for the configured region, pointed at `config.endpoint` when set
 * (DynamoDB Local, LocalStack). `undefined` attributes are dropped rather than
 * rejected, so optional fields need no special casing; `null` is stored as NULL.
 * `clientConfig` overrides the SDK settings (credentials, `maxAttempts`, timeouts).
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
  const client = new DynamoDBClient({
    region: config.region,
    ...(config.endpoint ? { endpoint: config.endpoint } : {}),
    ...clientConfig,
  });
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
 * `error` as a {@link StoreUnavailableError} (with the original as cause) when the
 * store is unavailable, otherwise `error` itself, untouched.
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
    { cause: error },
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
