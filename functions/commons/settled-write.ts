/**
 * An API write whose answer is always true (docs/outbox.md, "Answering honestly").
 *
 * A 2xx promises that the write's events will be published; a 503 promises that
 * nothing was stored and nothing will be. A write that times out breaks both
 * promises: DynamoDB may have applied it, or may apply it later. So:
 * - every write carries `settleBy`, the instant by which the API answers;
 * - a write the API saw succeed is answered 2xx, and stands;
 * - a write whose outcome it did not learn, it `fence`s: it marks the event's guard
 *   as given up, and answers 503. If the write had not landed, it never can (its
 *   transaction needs the guard absent); if it had, the outbox relay voids it, as
 *   it publishes nothing of an API write before `settleBy` + `SETTLE_GRACE_MS` and
 *   voids a fenced one instead.
 * Everything the API sends after giving up says "given up"; a late message can only
 * undo, never confirm. What is left: a fence that never reaches DynamoDB while the
 * write it fences does (docs/outbox.md, "What remains").
 */
import { setTimeout as delay } from 'node:timers/promises';
import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { isAmbiguousStoreFailure, StoreUnavailableError } from './dynamodb.ts';
import type { OrderRepository, WriteOptions } from './order-repository.ts';

/** How long the API waits, in milliseconds (docs/outbox.md, "Timings"). */
export interface WriteTimings {
  /** For the write itself. */
  readonly writeMs: number;
  /** For the whole request's store work, fencing included: `settleBy`. */
  readonly answerMs: number;
  /** For each fencing call. */
  readonly callMs: number;
}

/**
 * An answer within 3 s even when DynamoDB hangs, with room for the idempotency
 * record's removal after a failure; as much of it as possible for the write itself,
 * so that a store slowed by a busy machine is not taken for a hung one
 * (docs/outbox.md, "Timings").
 */
export const DEFAULT_WRITE_TIMINGS: WriteTimings = {
  writeMs: 2000,
  answerMs: 2500,
  callMs: 500,
};

/**
 * How long after `settleBy` the relay waits before it publishes an API write's
 * events itself: a fence the API sent just before `settleBy` may still be on its
 * way, and the clocks of the API's and the relay's machines may differ a little.
 */
export const SETTLE_GRACE_MS = 2000;

/**
 * How long after an API write was applied the relay waits before it publishes the
 * write's events itself. A store that was frozen applies what it buffered when it
 * wakes: the write and, a moment later, the API's fence of it, both long after
 * `settleBy`. Counting from `settleBy` alone, the relay could read the write between
 * the two and publish what the API answered 503 for; counting also from when the
 * write was applied, the fence that came with it is in place first. 3 s: the stream
 * gives that instant in whole seconds, rounded down (docs/outbox.md, "Answering
 * honestly").
 */
export const FENCE_ARRIVAL_GRACE_MS = 3000;

/**
 * Until when the API may still give up (fence) the write it stamped `settleBy`:
 * before this instant, nothing may publish it or build on it.
 *
 * @example
 * ```ts
 * if (Date.now() <= settledAfter(settlement.settleBy)) retryLater();
 * ```
 */
export function settledAfter(settleBy: number): number {
  return settleBy + SETTLE_GRACE_MS;
}

/**
 * Until when the relay leaves an API write alone: {@link settledAfter} its
 * `settleBy`, and {@link FENCE_ARRIVAL_GRACE_MS} after the store applied it
 * (`appliedAtMs`, from the stream record; 0 when unknown).
 *
 * @example
 * ```ts
 * if (Date.now() <= relayableAfter(settlement.settleBy, appliedAtMs)) retryLater();
 * ```
 */
export function relayableAfter(settleBy: number, appliedAtMs: number): number {
  return Math.max(settledAfter(settleBy), appliedAtMs + FENCE_ARRIVAL_GRACE_MS);
}

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
  /** The id of the event the write records. */
  readonly eventId: string;
  readonly write: (options: WriteOptions) => Promise<T>;
  readonly timings?: WriteTimings;
  readonly now?: () => number;
}

/**
 * Runs `write`: resolves with its result when it answered in time; throws
 * {@link StoreUnavailableError} (a 503) when it did not, once it is fenced off (or
 * when even the fence got no answer by `settleBy`).
 *
 * @example
 * ```ts
 * const created = await settledWrite({
 *   orders, orderId, eventId: placed.eventId,
 *   write: (options) => orders.create(order, placed, options),
 * });
 * ```
 */
export async function settledWrite<T>(request: SettledWrite<T>): Promise<T> {
  const timings = request.timings ?? DEFAULT_WRITE_TIMINGS;
  const now = request.now ?? Date.now;
  const { orders, orderId, eventId } = request;
  const settleBy = now() + timings.answerMs;
  const signal = (ms: number) =>
    AbortSignal.timeout(Math.max(1, Math.min(ms, settleBy - now())));

  let unknown: unknown;
  try {
    return await request.write({ settleBy, signal: signal(timings.writeMs) });
  } catch (error) {
    if (!isAmbiguous(error)) throw error;
    unknown = error;
  }
  while (now() < settleBy) {
    try {
      const fence = await orders.fence(orderId, eventId, {
        signal: signal(timings.callMs),
      });
      throw new WriteNotStoredError(
        fence === 'blocked'
          ? `the write of ${eventId} timed out and is fenced off: nothing was stored`
          : `the write of ${eventId} landed late and is fenced: the outbox relay voids it`,
        { cause: unknown },
      );
    } catch (error) {
      if (error instanceof WriteNotStoredError) throw error;
      if (!(error instanceof StoreUnavailableError)) throw error;
      // Unavailable: try again shortly, while the deadline allows.
      await delay(Math.max(0, Math.min(RETRY_PAUSE_MS, settleBy - now())));
    }
  }
  throw new StoreUnavailableError(
    `the write of ${eventId} timed out and could not be fenced within ${timings.answerMs} ms`,
    { cause: unknown },
  );
}
