/** A deadline on one call to the broker: its answer, or an error naming the step. */

/** The deadline of each step: connecting, subscribing, joining, leaving. */
export const STEP_MS = 30_000;

/**
 * `call`, or an error naming `what` when it has no answer within `ms`.
 *
 * @example
 * ```ts
 * await withDeadline(admin.connect(), 'connecting');
 * ```
 */
export async function withDeadline<T>(
  call: Promise<T>,
  what: string,
  ms = STEP_MS,
): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`${what}: no answer within ${ms / 1000} s`)),
      ms,
    );
  });
  try {
    return await Promise.race([call, deadline]);
  } finally {
    clearTimeout(timer);
  }
}
