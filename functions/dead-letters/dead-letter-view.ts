/**
 * How the admin API shows a stored dead letter: as stored, with the original's key and
 * value, and each correction's value, also as text where they are UTF-8.
 */
import type { DeadLetter, DeadLetterView } from '#domain/dead-letter.ts';

/** Bytes (base64) as text where they are UTF-8, else null. */
function text(base64: string | null): string | null {
  if (base64 === null) return null;
  const bytes = Buffer.from(base64, 'base64');
  const decoded = new TextDecoder('utf-8', { fatal: false }).decode(bytes);
  return Buffer.from(decoded, 'utf8').equals(bytes) ? decoded : null;
}

/**
 * A dead letter with the original's key and value, and each correction's value, also
 * shown as text where they are UTF-8.
 *
 * @example
 * ```ts
 * json(200, present(letter));
 * ```
 */
export function present(letter: DeadLetter): DeadLetterView {
  return {
    ...letter,
    original: {
      ...letter.original,
      keyText: text(letter.original.key),
      valueText: text(letter.original.value),
    },
    history: letter.history.map(({ correction, ...entry }) => ({
      ...entry,
      // Absent stays absent and null stays null: only a correction gets its text.
      ...(correction === undefined
        ? {}
        : {
            correction: correction && {
              ...correction,
              valueText: text(correction.value),
            },
          }),
    })),
  };
}
