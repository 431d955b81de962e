/**
 * Small type guards and error helpers shared by the functions and the local tools:
 * one definition each, no imports, no I/O.
 */

/**
 * Whether a value is a plain JSON-like object: not null, not an array. Narrows it
 * to a record whose properties can be read (each still `unknown`).
 *
 * @example
 * ```ts
 * const parsed: unknown = JSON.parse('{"correlationId":"c-1"}');
 * if (isRecord(parsed) && typeof parsed.correlationId === 'string') {
 *   parsed.correlationId; // 'c-1'
 * }
 * isRecord([1, 2]); // false
 * ```
 */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * The message of a thrown value, for a one-line log or error of which it is the
 * cause: an `Error`'s `message`, anything else as `String(value)`.
 *
 * @example
 * ```ts
 * messageOf(new Error('connect ECONNREFUSED')); // 'connect ECONNREFUSED'
 * messageOf('timeout'); // 'timeout'
 * ```
 */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
