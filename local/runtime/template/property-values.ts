/** Plain values of template properties: numbers with Lambda's defaults. */
import { InvalidTemplateError } from './errors.ts';

/** The property as a number, `fallback` when absent; anything else not a number throws. */
export function numberOr(value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  const number = Number(value);
  if (!Number.isFinite(number)) {
    throw new InvalidTemplateError(`${JSON.stringify(value)} is not a number`);
  }
  return number;
}
