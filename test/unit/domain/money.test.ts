import { describe, expect, it } from 'vitest';
import {
  CurrencyCode,
  currencyExponent,
  Money,
  majorUnits,
} from '#domain/money.ts';

/** What ICU says, asked the way money.ts once asked it on every call. */
function icuExponent(code: string): number | undefined {
  return new Intl.NumberFormat('en', {
    style: 'currency',
    currency: code,
  }).resolvedOptions().maximumFractionDigits;
}

describe('currencyExponent', () => {
  it('agrees with ICU on every currency ICU knows', () => {
    // Prepare
    const known = Intl.supportedValuesOf('currency');

    // Act
    const table = known.map((code) => [code, currencyExponent(code)]);

    // Assess: a Node.js upgrade that changes ICU's data fails here; update the table.
    expect(table).toEqual(known.map((code) => [code, icuExponent(code)]));
  });

  it('knows no code that ICU does not', () => {
    // Prepare
    const known = new Set(Intl.supportedValuesOf('currency'));
    const letters = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';
    const unknownToIcu: string[] = [];
    for (const a of letters) {
      for (const b of letters) {
        for (const c of letters) {
          if (!known.has(a + b + c)) unknownToIcu.push(a + b + c);
        }
      }
    }

    // Act
    const answered = unknownToIcu.filter(
      (code) => currencyExponent(code) !== undefined,
    );

    // Assess
    expect(answered).toEqual([]);
  });

  it.each([
    ['EUR', 2],
    ['USD', 2],
    ['JPY', 0],
    ['KWD', 3],
  ])('%s has %i minor-unit digits', (code, digits) => {
    expect(currencyExponent(code)).toBe(digits);
  });

  it.each(['', 'eur', 'EURO', 'XXX', '__proto__', 'constructor'])(
    'answers %j with undefined',
    (code) => {
      expect(currencyExponent(code)).toBeUndefined();
    },
  );
});

describe('CurrencyCode', () => {
  it('takes a code ICU knows and refuses one it does not, with the message', () => {
    // Act
    const euro = CurrencyCode.safeParse('EUR');
    const bogus = CurrencyCode.safeParse('EURO');

    // Assess
    expect(euro.success).toBe(true);
    expect(bogus.error?.issues[0]?.message).toBe(
      'must be an ISO-4217 currency code, e.g. EUR',
    );
  });
});

describe('Money', () => {
  it('refuses a fractional amount', () => {
    expect(Money.safeParse({ amount: 1.5, currency: 'EUR' }).success).toBe(
      false,
    );
  });
});

describe('majorUnits', () => {
  it('scales by the currency exponent, 2 for an unknown code', () => {
    expect(majorUnits(1000, 'EUR')).toBe(100_000);
    expect(majorUnits(1000, 'JPY')).toBe(1000);
    expect(majorUnits(1000, 'KWD')).toBe(1_000_000);
    expect(majorUnits(1000, 'XXX')).toBe(100_000);
  });
});
