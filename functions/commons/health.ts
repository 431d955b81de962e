/**
 * Readiness probes (docs/timeouts.md): each dependency check runs with its own
 * deadline, so a frozen dependency makes the answer "not ready" in bounded time
 * instead of making the probe itself hang.
 */
import * as z from 'zod';

/**
 * The body of `GET /health/live`: the function runs (docs/domain.md section 4).
 *
 * @example
 * ```ts
 * const body: Liveness = { status: 'ok' };
 * ```
 */
export const Liveness = z.object({ status: z.literal('ok') });
export type Liveness = z.infer<typeof Liveness>;

/** Whether one dependency answered its probe. */
const CheckState = z.enum(['up', 'down']);

/**
 * The body of `GET /health/ready` (and `GET /health`), 200 when `ok`, 503 when
 * `degraded` (docs/domain.md section 4).
 *
 * @example
 * ```ts
 * const body: Readiness = { status: 'ok', checks: { kafka: 'up', store: 'up' } };
 * ```
 */
export const Readiness = z.object({
  status: z.enum(['ok', 'degraded']),
  checks: z.object({ kafka: CheckState, store: CheckState }),
  /** `degraded` only: why each failing check failed, e.g. `publish circuit open`. */
  reasons: z
    .object({ kafka: z.string().optional(), store: z.string().optional() })
    .optional(),
});
export type Readiness = z.infer<typeof Readiness>;

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
