/**
 * Small helpers for values of unknown shape that a function returned or a filter
 * pattern holds: the mapping reads them without trusting them.
 */

/** The value as JSON for a log line, whatever it is (a cycle, a BigInt...). */
export function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}
