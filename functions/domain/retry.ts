/**
 * Retries inside one invocation (docs/domain.md section 6): transient failures are
 * retried with exponential backoff while the Lambda still has time, then rethrown so
 * the event source mapping retries the batch.
 */
import { classifyFailure } from './failures.ts';

/**
 * An exponential backoff delay with "equal jitter": between half and all of
 * `min(maxDelayMs, baseDelayMs * 2^exponent)`. Half is kept fixed so retries never
 * bunch up near zero; the random half spreads competing retriers apart.
 *
 * @example
 * ```ts
 * backoffDelay(3, 100, 10_000, () => 1); // 800
 * ```
 */
export function backoffDelay(
  exponent: number,
  baseDelayMs: number,
  maxDelayMs: number,
  random: () => number,
): number {
  // Capping the exponent keeps 2^exponent finite, so base 0 never makes NaN.
  const ceiling = Math.min(
    maxDelayMs,
    baseDelayMs * 2 ** Math.min(Math.max(exponent, 0), 1000),
  );
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

/** How {@link retryTransient} retries; time and randomness come in from the caller. */
export interface RetryOptions {
  /** Attempts in all, the first one included. */
  readonly maxAttempts: number;
  /** The delay ceiling after the first failure; it doubles with each further one. */
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
  /** Time left in the invocation (Lambda's `context.getRemainingTimeInMillis`). */
  readonly remainingTimeMs: () => number;
  /** Time kept free after a delay for the attempt itself and the reply; default 1000. */
  readonly safetyMarginMs?: number;
  readonly sleep: (ms: number) => Promise<void>;
  readonly random: () => number;
  /** Told before each wait: the transient error, the attempt that failed, the delay. */
  readonly onRetry?: (error: unknown, attempt: number, delayMs: number) => void;
}

/**
 * Runs `operation` (attempts numbered from 1) and retries it after failures that
 * {@link classifyFailure} calls transient, as long as attempts remain and the next delay
 * plus the safety margin fits in the remaining time; otherwise rethrows the last error.
 * Poison is rethrown at once: it would fail the same way every time.
 *
 * @example
 * ```ts
 * const result = await retryTransient((attempt) => gateway.charge(request), {
 *   maxAttempts: 4, baseDelayMs: 100, maxDelayMs: 2_000,
 *   remainingTimeMs: () => context.getRemainingTimeInMillis(),
 *   sleep: (ms) => setTimeout(ms), random: Math.random,
 * });
 * ```
 */
export async function retryTransient<T>(
  operation: (attempt: number) => Promise<T>,
  options: RetryOptions,
): Promise<T> {
  const margin = options.safetyMarginMs ?? 1_000;
  for (let attempt = 1; ; attempt++) {
    try {
      return await operation(attempt);
    } catch (error) {
      if (classifyFailure(error) !== 'transient') throw error;
      if (attempt >= options.maxAttempts) throw error;
      const delay = backoffDelay(
        attempt - 1,
        options.baseDelayMs,
        options.maxDelayMs,
        options.random,
      );
      if (delay + margin > options.remainingTimeMs()) throw error;
      options.onRetry?.(error, attempt, delay);
      await options.sleep(delay);
    }
  }
}
