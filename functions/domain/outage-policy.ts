/**
 * Riding out a dependency outage (docs/broker-outages.md). When the broker (or the
 * store) is down, a consumer's record cannot finish: its derived event cannot be
 * published. Failing the record at once hands it to the event source mapping, whose
 * retries AWS does not pace in any documented way (docs/aws-kafka-esm.md, Gap 11.7):
 * a few fast retries would use up the retry limit in seconds and dead-letter live
 * traffic. So the consumer waits inside the invocation instead, trying the record
 * again every one or two seconds while the invocation has time, and only then lets
 * the mapping retry. Each mapping attempt then covers most of a function timeout,
 * whatever the mapping's pacing, and the record is retried within about two seconds
 * of the dependency's return.
 */
import { backoffDelay } from './retry.ts';

/**
 * How a consumer waits for a dependency inside one invocation.
 *
 * @example
 * ```ts
 * const policy: OutagePolicy = { baseDelayMs: 250, maxDelayMs: 2_000, reserveMs: 5_000 };
 * ```
 */
export interface OutagePolicy {
  /** The delay ceiling after the first failure; it doubles with each further one. */
  readonly baseDelayMs: number;
  /**
   * The largest delay ceiling. It bounds how late a record is retried after the
   * dependency returns, so it is short: the outage is ridden out by many tries.
   */
  readonly maxDelayMs: number;
  /**
   * Time kept free at the end of the invocation, beyond the next try itself, for the
   * other partitions' records and the reply: the invocation never times out waiting.
   */
  readonly reserveMs: number;
}

/** 250 ms doubling up to 2 s (so 1-2 s with jitter), 5 s kept free. */
export const DEFAULT_OUTAGE_POLICY: OutagePolicy = {
  baseDelayMs: 250,
  maxDelayMs: 2_000,
  reserveMs: 5_000,
};

/** Where a record's tries stand, inside one invocation. */
export interface OutageWaitState {
  /** Failed tries so far (1 after the first). */
  readonly failures: number;
  /** The longest try so far: the next one may take as long. */
  readonly longestTryMs: number;
  /** Time left in the invocation (Lambda's `getRemainingTimeInMillis`). */
  readonly remainingMs: number;
}

/**
 * The delay before the next try of a record that failed because a dependency is
 * down, or `undefined` when the delay, a try as long as the longest so far and the
 * reserve no longer fit in the invocation: then the record is reported failed and
 * the event source mapping retries it. Equal jitter (half fixed, half random), so
 * the consumers of many partitions do not retry in step.
 *
 * @example
 * ```ts
 * nextOutageDelay(DEFAULT_OUTAGE_POLICY,
 *   { failures: 4, longestTryMs: 300, remainingMs: 40_000 }, () => 1); // 2000
 * ```
 */
export function nextOutageDelay(
  policy: OutagePolicy,
  state: OutageWaitState,
  random: () => number,
): number | undefined {
  const delay = backoffDelay(
    state.failures - 1,
    policy.baseDelayMs,
    policy.maxDelayMs,
    random,
  );
  const needed = delay + state.longestTryMs + policy.reserveMs;
  return needed <= state.remainingMs ? delay : undefined;
}

/**
 * The longest a single try is assumed to take when a dependency is down, for the
 * worst case below: a publish to a frozen broker runs into the publisher's
 * connection and request timeouts (functions/commons/kafka-publisher/client-config.ts: 3 s to
 * connect, 5 s a request, 2 kafkajs retries), about 15 s.
 */
export const WORST_TRY_SECONDS = 15;

/**
 * Seconds of outage that a record is guaranteed to ride out before the event source
 * mapping gives up on it, counting only the consumer's own waits (the mapping's pacing
 * between attempts is undocumented and taken as zero): each of the `retryAttempts + 1`
 * invocations waits until the reserve, the longest try (twice: the one that
 * measured it and the one it makes room for) and the last delay no longer fit.
 *
 * @example
 * ```ts
 * guaranteedOutageSeconds({ retryAttempts: 3, timeoutSeconds: 60 }); // 92
 * ```
 */
export function guaranteedOutageSeconds(
  settings: { readonly retryAttempts: number; readonly timeoutSeconds: number },
  policy: OutagePolicy = DEFAULT_OUTAGE_POLICY,
): number {
  const perInvocation =
    settings.timeoutSeconds -
    (policy.reserveMs + policy.maxDelayMs) / 1000 -
    2 * WORST_TRY_SECONDS;
  return (settings.retryAttempts + 1) * Math.max(0, perInvocation);
}
