import { z } from 'zod';

/**
 * The number of minor-unit digits of an ISO-4217 currency (2 for EUR, 0 for JPY),
 * from the ICU data Node.js ships, or undefined for a code ICU does not know.
 *
 * @example
 * ```ts
 * currencyExponent('EUR'); // 2
 * ```
 */
export function currencyExponent(code: string): number | undefined {
  if (!/^[A-Z]{3}$/.test(code)) return undefined;
  if (!Intl.supportedValuesOf('currency').includes(code)) return undefined;
  return new Intl.NumberFormat('en', {
    style: 'currency',
    currency: code,
  }).resolvedOptions().maximumFractionDigits;
}

/** An ISO-4217 currency code that ICU knows, e.g. `EUR`. */
export const CurrencyCode = z
  .string()
  .refine((code) => currencyExponent(code) !== undefined, {
    message: 'must be an ISO-4217 currency code, e.g. EUR',
  });

/** A non-negative whole number of minor units (cents for EUR). Never a float. */
export const MinorUnits = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);

/**
 * Money: integer minor units plus an ISO-4217 currency.
 * `{ amount: 123450, currency: 'EUR' }` is 1234.50 EUR.
 */
export const Money = z.object({ amount: MinorUnits, currency: CurrencyCode });
export type Money = z.infer<typeof Money>;

/**
 * Whole major units as minor units of a currency: `majorUnits(1000, 'EUR')` is 100000.
 *
 * @example
 * ```ts
 * majorUnits(10_000, 'JPY'); // 10000
 * ```
 */
export function majorUnits(whole: number, currency: string): number {
  return whole * 10 ** (currencyExponent(currency) ?? 2);
}

/** Adds amounts of one currency; throws on a currency mismatch. */
export function sum(currency: string, amounts: readonly Money[]): Money {
  let total = 0;
  for (const money of amounts) {
    if (money.currency !== currency) {
      throw new RangeError(
        `cannot add ${money.currency} to an amount in ${currency}`,
      );
    }
    total += money.amount;
  }
  return { amount: total, currency };
}
