/** Test doubles shared by the domain's unit tests. */
import type { Clock } from '#domain/events.ts';

/**
 * A clock that stands still at `at` and hands out predictable uuids
 * (`00000000-0000-4000-8000-000000000001`, `...002`, ...).
 *
 * @example
 * ```ts
 * const clock = fixedClock('2025-01-01T00:00:00.000Z');
 * ```
 */
export function fixedClock(at = '2025-01-01T00:00:00.000Z'): Clock & {
  set(iso: string): void;
} {
  let now = new Date(at);
  let counter = 0;
  return {
    now: () => new Date(now),
    uuid: () => {
      counter += 1;
      return `00000000-0000-4000-8000-${String(counter).padStart(12, '0')}`;
    },
    set(iso: string) {
      now = new Date(iso);
    },
  };
}
