import * as z from 'zod';

/**
 * The ISO-4217 codes the ICU data of Node.js 24 knows (`Intl.supportedValuesOf(
 * 'currency')`, ICU 78 / CLDR 48), written out rather than asked of ICU: building the
 * table from ICU at load takes a `NumberFormat` per code (11 ms of cold start), and
 * asking per call made the money check the top cost of validating an event
 * (docs/performance.md, Per-record cost). A unit test checks it against ICU, code by
 * code, so a Node.js upgrade that changes ICU's list fails there, not in production.
 */
const CURRENCY_CODES = (
  'AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB ' +
  'BRL BSD BTN BWP BYN BZD CAD CDF CHF CLP CNY COP CRC CUC CUP CVE CZK DJF DKK ' +
  'DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL HRK ' +
  'HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY KES KGS KHR KMF KPW KRW KWD KYD ' +
  'KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN ' +
  'MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD ' +
  'RUB RWF SAR SBD SCR SDG SEK SGD SHP SLE SLL SOS SRD SSP STN SVC SYP SZL THB ' +
  'TJS TMT TND TOP TRY TTD TWD TZS UAH UGX USD UYU UZS VES VND VUV WST XAF XCD ' +
  'XCG XDR XOF XPF XSU YER ZAR ZMW ZWG ZWL'
).split(' ');

/**
 * The codes whose minor unit is not 2 digits, as ICU formats them (CLDR's digits,
 * which for some codes differ from ISO-4217's table: ICU gives IQD 0, ISO 3).
 */
const ZERO_DIGITS = new Set(
  (
    'AFN ALL BIF CLP COP DJF GNF HUF IDR IQD IRR ISK JPY KMF KPW KRW LAK ' +
    'LBP MGA MMK PKR PYG RWF SLL SOS SYP UGX VND VUV XAF XOF XPF YER'
  ).split(' '),
);
const THREE_DIGITS = new Set(['BHD', 'JOD', 'KWD', 'LYD', 'OMR', 'TND']);

/** Minor-unit digits by code, built once at load. */
const EXPONENTS: ReadonlyMap<string, number> = new Map(
  CURRENCY_CODES.map((code) => [
    code,
    ZERO_DIGITS.has(code) ? 0 : THREE_DIGITS.has(code) ? 3 : 2,
  ]),
);

/**
 * The number of minor-unit digits of an ISO-4217 currency (2 for EUR, 0 for JPY),
 * as the ICU data Node.js ships says, or undefined for a code ICU does not know. A
 * lookup in a constant table: no `Intl` object per call.
 *
 * @example
 * ```ts
 * currencyExponent('EUR'); // 2
 * ```
 */
export function currencyExponent(code: string): number | undefined {
  return EXPONENTS.get(code);
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
