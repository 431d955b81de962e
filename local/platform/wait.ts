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
