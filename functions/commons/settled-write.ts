/**
 * An API write whose answer is always true (docs/outbox.md, "Answering honestly").
 *
 * A 2xx promises that the write's events will be published; a 503 promises that
 * nothing was stored and nothing will be. A write that times out breaks both
 * promises: DynamoDB may have applied it, or may apply it later. So:
 * - every write carries `settleBy`, the instant by which the API answers;
 * - the API answers 2xx only once it has `confirm`ed the write (a conditional update
 *   of the write's event item), and publishes only then;
 * - a write whose outcome it did not learn, it `fence`s: a conditional put of the
 *   event's guard; if that lands, the write can never be applied (its transaction
 *   demands the guard be absent): 503. If the guard is there, the write was applied:
 *   confirm it and answer 2xx;
 * - the outbox relay voids a write still unconfirmed well after `settleBy`
 *   (`SETTLE_GRACE_MS`): its API answered 503, or never answered at all.
 * Confirm and void are conditional writes of the same item, so exactly one of them
 * wins. What is left is a confirm that reaches DynamoDB only after the API has given
 * up and more than SETTLE_GRACE_MS late: then the order stands though the API said
 * 503 (docs/outbox.md, "What remains").
 */
import { setTimeout as delay } from 'node:timers/promises';
import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { isAmbiguousStoreFailure, StoreUnavailableError } from './dynamodb.ts';
import type { OrderRepository, WriteOptions } from './order-repository.ts';

/** How long the API waits, in milliseconds (docs/outbox.md, "Timings"). */
export interface WriteTimings {
  /** For the write itself. */
  readonly writeMs: number;
  /** For the whole request's store work, settling included: `settleBy`. */
  readonly answerMs: number;
  /** For each confirming or settling call. */
  readonly callMs: number;
}

/**
 * An answer within 3 s even when DynamoDB hangs, with room for the idempotency
 * record's removal after a failure (docs/outbox.md, "Timings").
 */
export const DEFAULT_WRITE_TIMINGS: WriteTimings = {
  writeMs: 1200,
  answerMs: 2200,
  callMs: 500,
};

/**
 * How long after `settleBy` the relay leaves an unconfirmed write alone: the API may
 * still be confirming it (its last call sent just before `settleBy`), and the clocks
 * of the API's and the relay's machines may differ by a little.
 */
export const SETTLE_GRACE_MS = 2000;

/** Between two settling attempts that found the store unavailable. */
const RETRY_PAUSE_MS = 100;

/** The store did not take the write, and never will. */
export class WriteNotStoredError extends StoreUnavailableError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'WriteNotStoredError';
  }
}

/** Refusals: the store answered, so it did not apply the request. */
const REFUSAL_NAMES = new Set([
  'ConditionalCheckFailedException',
  'ValidationException',
  'ResourceNotFoundException',
  'IdempotentParameterMismatchException',
]);

/**
 * Whether a failed write may nonetheless have been applied, by the store's own
 * account of the call (`isAmbiguousStoreFailure`: a request that went unanswered,
 * in any attempt, may have been applied; a refused connection, a cancelled
 * transaction, a throttle or a refusal may not). Anything else: perhaps.
 *
 * @example
 * ```ts
 * isAmbiguous(new StoreUnavailableError('refused', { ambiguous: false })); // false
 * ```
 */
export function isAmbiguous(error: unknown): boolean {
  let e = error;
  // The repositories wrap the SDK's error (as cause): look down the chain.
  for (let depth = 0; e instanceof Error && depth < 8; depth += 1) {
    if (
      e instanceof StoreUnavailableError ||
      e instanceof TransactionCanceledException ||
      REFUSAL_NAMES.has(e.name)
    ) {
      return isAmbiguousStoreFailure(e);
    }
    e = e.cause;
  }
  return true;
}

export interface SettledWrite<T> {
  readonly orders: OrderRepository;
  readonly orderId: string;
  /** The version the write makes, and the id of the event it records. */
  readonly version: number;
  readonly eventId: string;
  readonly write: (options: WriteOptions) => Promise<T>;
  /** The result of `write` that means it stored something (to confirm). */
  readonly stored: T;
  readonly timings?: WriteTimings;
  readonly now?: () => number;
}

/**
 * Runs `write` and settles it: resolves with the write's result once a stored write
 * is confirmed (or with a result that stored nothing, such as `'exists'`), or throws
 * {@link StoreUnavailableError} when nothing was stored and nothing will be.
 *
 * @example
 * ```ts
 * const created = await settledWrite({
 *   orders, orderId, version: 1, eventId: placed.eventId,
 *   write: (options) => orders.create(order, placed, options),
 *   stored: 'created',
 * });
 * ```
 */
export async function settledWrite<T>(request: SettledWrite<T>): Promise<T> {
  const timings = request.timings ?? DEFAULT_WRITE_TIMINGS;
  const now = request.now ?? Date.now;
  const { orders, orderId, version, eventId } = request;
  const settleBy = now() + timings.answerMs;
  const signal = (ms: number) =>
    AbortSignal.timeout(Math.max(1, Math.min(ms, settleBy - now())));

  let unknown: unknown;
  try {
    const result = await request.write({
      settleBy,
      signal: signal(timings.writeMs),
    });
    if (result !== request.stored) return result;
  } catch (error) {
    if (!isAmbiguous(error)) throw error;
    unknown = error;
  }

  // Stored, or perhaps stored: confirm it, fencing it off first when unsure.
  let fenced = unknown === undefined;
  while (now() < settleBy) {
    try {
      if (!fenced) {
        const outcome = await orders.fence(orderId, eventId, {
          signal: signal(timings.callMs),
        });
        if (outcome === 'fenced') {
          throw new WriteNotStoredError(
            `the write of ${eventId} timed out and is now fenced off: nothing was stored`,
            { cause: unknown },
          );
        }
        fenced = true;
      }
      const confirmed = await orders.confirm(orderId, version, eventId, {
        signal: signal(timings.callMs),
      });
      if (!confirmed) {
        throw new WriteNotStoredError(
          `the write of ${eventId} was voided before it was confirmed: nothing is stored`,
          { cause: unknown },
        );
      }
      return request.stored;
    } catch (error) {
      if (error instanceof WriteNotStoredError) throw error;
      if (!(error instanceof StoreUnavailableError) && !isAmbiguous(error)) {
        throw error;
      }
      unknown ??= error;
      await delay(Math.max(0, Math.min(RETRY_PAUSE_MS, settleBy - now())));
    }
  }
  throw new StoreUnavailableError(
    `the write of ${eventId} was not confirmed within ${timings.answerMs} ms; the outbox relay voids it`,
    { cause: unknown },
  );
}
