/**
 * Readiness probes (docs/timeouts.md): each dependency check runs with its own
 * deadline, so a frozen dependency makes the answer "not ready" in bounded time
 * instead of making the probe itself hang.
 */

/**
 * What one probe found: up, or down and why. `reason` is safe to show on a public
 * route ('unavailable', 'no answer within 2000 ms'); `error` is for the logs.
 */
export type ProbeResult =
  | { readonly up: true }
  | { readonly up: false; readonly reason: string; readonly error?: unknown };

/**
 * Runs `check` and says whether it succeeded within `timeoutMs`. Never rejects: a
 * failure or a timeout is a `down` result with its reason (and the error, if any). A
 * check that outlives the deadline is left to finish on its own.
 *
 * @example
 * ```ts
 * const store = await probe(() => orders.get('health-check'), 2000);
 * if (!store.up) logger.warn('store not ready', { reason: store.reason });
 * ```
 */
export async function probe(
  check: () => Promise<unknown>,
  timeoutMs: number,
): Promise<ProbeResult> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<ProbeResult>((resolve) => {
    timer = setTimeout(
      () => resolve({ up: false, reason: `no answer within ${timeoutMs} ms` }),
      timeoutMs,
    );
  });
  const outcome = (async (): Promise<ProbeResult> => {
    try {
      await check();
      return { up: true };
    } catch (error) {
      return { up: false, reason: 'unavailable', error };
    }
  })();
  try {
    return await Promise.race([outcome, deadline]);
  } finally {
    clearTimeout(timer);
  }
}
