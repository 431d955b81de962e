/**
 * The one type guard the template reader and the local HTTP API share: a plain
 * JSON object (a template value, a function's response, a token's payload).
 */

/**
 * True for an object that is neither null nor an array.
 *
 * @example
 * ```ts
 * isRecord({ Ref: 'OrdersTable' }); // true
 * isRecord(['a']); // false
 * ```
 */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
