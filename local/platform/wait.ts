import { setTimeout as delay } from 'node:timers/promises';

/**
 * Polls `check` until it returns a value other than undefined, or the deadline passes.
 * This is how the platform waits for servers: on a condition with a deadline, never on
 * a fixed sleep.
 *
 * @example
 * ```ts
 * const ok = await pollUntil(() => (jvm.hasExited() ? false : probe()), 60_000);
 * ```
 */
export async function pollUntil<T>(
  check: () => Promise<T | undefined> | T | undefined,
  timeoutMs: number,
  intervalMs = 100,
): Promise<T | undefined> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const result = await check();
    if (result !== undefined) return result;
    if (Date.now() >= deadline) return undefined;
    await delay(Math.min(intervalMs, Math.max(0, deadline - Date.now())));
  }
}

/**
 * Calls `call` until it succeeds, retrying while it fails with an error Kafka calls
 * retriable (kafkajs marks them `retriable`: a group coordinator that moved or is
 * still loading, a topic its broker does not know yet). Any other error, or a
 * retriable one at the deadline, is thrown as it is.
 *
 * @example
 * ```ts
 * const offsets = await retryRetriable(() => admin.fetchOffsets({ groupId, topics }), 30_000);
 * ```
 */
export async function retryRetriable<T>(
  call: () => Promise<T>,
  timeoutMs: number,
  intervalMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await call();
    } catch (error) {
      if (!isRetriable(error) || Date.now() >= deadline) throw error;
      await delay(Math.min(intervalMs, Math.max(0, deadline - Date.now())));
    }
  }
}

/** Whether kafkajs marked an error `retriable`: a later call may succeed. */
export function isRetriable(error: unknown): boolean {
  return (error as { retriable?: unknown } | null)?.retriable === true;
}
