import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CountryCode } from '#domain/events.ts';

describe('CountryCode', () => {
  it.each(['DE', 'US', 'JP', 'AQ', 'AX', 'SS', 'BQ'])(
    'takes the assigned code %s',
    (code) => {
      expect(CountryCode.safeParse(code).success).toBe(true);
    },
  );

  it.each([
    // Not two capital letters: these once reached ICU, which threw (a 500).
    '',
    'D',
    'DEU',
    'A1',
    'é',
    'de',
    ' DE',
    // Two letters, but no country: user-assigned, reserved or withdrawn.
    'ZZ',
    'XK',
    'AA',
    'QO',
    'EU',
    'UN',
    'UK',
    'SU',
    'YU',
  ])('refuses %j with a validation issue, never an exception', (code) => {
    // Act
    const result = CountryCode.safeParse(code);

    // Assess
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.message).toBe(
      'must be an assigned ISO-3166 alpha-2 country code, e.g. DE',
    );
  });

  it('answers any string with a result, never by throwing', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 8, unit: 'binary' }), (text) => {
        expect(() => CountryCode.safeParse(text)).not.toThrow();
      }),
      { numRuns: 2_000 },
    );
  });
});

describe('CountryCode table', () => {
  it('holds only codes ICU names as regions', () => {
    // Prepare
    const regions = new Intl.DisplayNames('en', {
      type: 'region',
      fallback: 'none',
    });

    // Act
    const unnamed = CountryCode.options.filter(
      (code) => regions.of(code) === undefined,
    );

    // Assess
    expect(CountryCode.options).toHaveLength(249);
    expect(unnamed).toEqual([]);
  });
});
