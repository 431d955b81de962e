/**
 * `npm run dev --env` and `--chaos` (local/runtime/overrides.ts) and the chaos
 * sequence (local/runtime/chaos.ts): syntax, what each mistake says, and the share
 * and repeatability of injected faults.
 */
import { describe, expect, it } from 'vitest';
import { chaosSequence, describeChaos } from '../../../local/runtime/chaos.ts';
import {
  checkFunctionNames,
  OverrideSyntaxError,
  parseChaosOverride,
  parseEnvOverride,
  readOverrides,
  splitEntries,
  UnknownFunctionError,
} from '../../../local/runtime/overrides.ts';

describe('--env', () => {
  it.each([
    ['payment:GATEWAY_FAIL_ALL=true', 'payment', 'GATEWAY_FAIL_ALL', 'true'],
    ['order-api:LOG_LEVEL=DEBUG', 'order-api', 'LOG_LEVEL', 'DEBUG'],
    // The value is everything after the first '=': colons and '=' included.
    ['payment:URL=http://h:1/a?b=c', 'payment', 'URL', 'http://h:1/a?b=c'],
    [
      'payment:GATEWAY_DECLINE_PREFIX=',
      'payment',
      'GATEWAY_DECLINE_PREFIX',
      '',
    ],
  ])('reads %s', (text, functionName, variable, value) => {
    expect(parseEnvOverride(text)).toEqual({ functionName, variable, value });
  });

  it.each([
    ['payment', /expected <function>:<NAME>=<value>/],
    ['payment:GATEWAY_FAIL_ALL', /expected <function>:<NAME>=<value>/],
    [':A1=1', /expected <function>:<NAME>=<value>/],
    ['payment:=1', /expected <function>:<NAME>=<value>/],
    ['Payment:A1=1', /'Payment' is not a function name/],
    ['pay ment:A1=1', /'pay ment' is not a function name/],
    ['payment:1A=1', /1A is not a variable name Lambda accepts/],
    ['payment:X=1', /X is not a variable name Lambda accepts/],
    ['payment:A-B=1', /A-B is not a variable name Lambda accepts/],
    ['payment:AWS_REGION=eu-west-1', /Lambda reserves AWS_REGION/],
    ['payment:_HANDLER=x', /_HANDLER is not a variable name/],
  ])('refuses %s, saying why', (text, message) => {
    expect(() => parseEnvOverride(text)).toThrow(OverrideSyntaxError);
    expect(() => parseEnvOverride(text)).toThrow(message);
  });

  it('collects variables per function; a later value for a variable wins', () => {
    // Act
    const overrides = readOverrides({
      env: [
        'payment:GATEWAY_FAIL_ALL=true',
        'order-api:LOG_LEVEL=DEBUG',
        'payment:GATEWAY_FAIL_ALL=false',
        'payment:PAYMENT_RETRY_ATTEMPTS=1',
      ],
      chaos: [],
    });

    // Assess
    expect(overrides).toEqual({
      environment: {
        payment: { GATEWAY_FAIL_ALL: 'false', PAYMENT_RETRY_ATTEMPTS: '1' },
        'order-api': { LOG_LEVEL: 'DEBUG' },
      },
      chaos: {},
    });
  });
});

describe('--chaos', () => {
  it.each([
    ['payment:fail=1', { fail: 1, timeout: 0, when: 'before' }],
    ['payment:timeout=0.25', { fail: 0, timeout: 0.25, when: 'before' }],
    [
      'payment:timeout=.1,fail=0.2,when=after,seed=42',
      { fail: 0.2, timeout: 0.1, when: 'after', seed: 42 },
    ],
    [
      'payment:fail=0,seed=4294967295',
      { fail: 0, timeout: 0, when: 'before', seed: 4294967295 },
    ],
  ])('reads %s', (text, chaos) => {
    expect(parseChaosOverride(text)).toEqual({
      functionName: 'payment',
      chaos,
    });
  });

  it.each([
    ['payment', /expected <function>:fail=<0..1>/],
    ['payment:', /'' is not <setting>=<value>/],
    ['payment:seed=1', /give fail=<0..1> or timeout=<0..1>/],
    ['payment:fail=1.5', /fail=1.5 is not a share from 0 to 1/],
    ['payment:fail=-0.1', /fail=-0.1 is not a share/],
    ['payment:fail=', /fail= is not a share/],
    ['payment:fail=50%', /fail=50% is not a share/],
    ['payment:fail=0.7,timeout=0.5', /fail \+ timeout is 1.2/],
    ['payment:fail=0.1,fail=0.2', /fail is given twice/],
    ['payment:fail=0.1,crash=0.2', /unknown setting crash/],
    ['payment:fail=0.1,when=during', /when is before or after/],
    [
      'payment:fail=0.1,seed=-1',
      /seed=-1 is not an integer from 0 to 4294967295/,
    ],
    ['payment:fail=0.1,seed=4294967296', /seed=4294967296 is not an integer/],
    ['payment:fail=0.1,seed=1.5', /seed=1.5 is not an integer/],
  ])('refuses %s, saying why', (text, message) => {
    expect(() => parseChaosOverride(text)).toThrow(OverrideSyntaxError);
    expect(() => parseChaosOverride(text)).toThrow(message);
  });

  it('keeps one setting per function: the later wins', () => {
    const { chaos } = readOverrides({
      env: [],
      chaos: ['payment:fail=1', 'order-api:timeout=0.5', 'payment:fail=0.5'],
    });
    expect(chaos).toEqual({
      payment: { fail: 0.5, timeout: 0, when: 'before' },
      'order-api': { fail: 0, timeout: 0.5, when: 'before' },
    });
  });
});

describe('LOCAL_FUNCTION_ENV and LOCAL_CHAOS', () => {
  it('split on white space, ignoring the ends', () => {
    expect(splitEntries('  payment:A1=1\torder-api:B2=2\n')).toEqual([
      'payment:A1=1',
      'order-api:B2=2',
    ]);
    expect(splitEntries(undefined)).toEqual([]);
    expect(splitEntries('   ')).toEqual([]);
  });
});

describe('checkFunctionNames', () => {
  const names = ['order-api', 'payment'];

  it('accepts overrides of the functions the template has', () => {
    expect(() =>
      checkFunctionNames(
        {
          environment: { payment: { A1: '1' } },
          chaos: { 'order-api': { fail: 1, timeout: 0, when: 'before' } },
        },
        names,
      ),
    ).not.toThrow();
  });

  it.each([
    [
      { environment: { paymnt: { A1: '1' } } },
      '--env: no function named paymnt',
    ],
    [
      { chaos: { orders: { fail: 1, timeout: 0, when: 'before' as const } } },
      '--chaos: no function named orders',
    ],
  ])(
    'names an unknown function and lists the known ones, in one line',
    (overrides, start) => {
      expect(() => checkFunctionNames(overrides, names)).toThrow(
        new UnknownFunctionError(
          `${start}; the functions are order-api, payment`,
        ),
      );
    },
  );
});

describe('chaosSequence', () => {
  const draws = (n: number, next: () => string | undefined) =>
    Array.from({ length: n }, () => next() ?? 'ok');

  it('gives the same faults for the same seed, and others for another', () => {
    // Prepare
    const settings = {
      fail: 0.3,
      timeout: 0.2,
      when: 'before',
      seed: 7,
    } as const;

    // Act
    const first = draws(200, chaosSequence(settings));
    const again = draws(200, chaosSequence(settings));
    const other = draws(200, chaosSequence({ ...settings, seed: 8 }));

    // Assess
    expect(again).toEqual(first);
    expect(other).not.toEqual(first);
  });

  it('fails and times out about the shares asked for', () => {
    // Prepare: seeded, so the counts are exact on every run; the bounds say what
    // the shares mean (4 standard deviations of a binomial with n = 10 000).
    const next = chaosSequence({
      fail: 0.3,
      timeout: 0.1,
      when: 'before',
      seed: 1,
    });

    // Act
    const outcomes = draws(10_000, next);

    // Assess
    const count = (what: string) => outcomes.filter((o) => o === what).length;
    expect(count('fail')).toBeGreaterThan(3_000 - 184);
    expect(count('fail')).toBeLessThan(3_000 + 184);
    expect(count('timeout')).toBeGreaterThan(1_000 - 120);
    expect(count('timeout')).toBeLessThan(1_000 + 120);
  });

  it.each([
    [{ fail: 1, timeout: 0 }, 'fail'],
    [{ fail: 0, timeout: 1 }, 'timeout'],
    [{ fail: 0, timeout: 0 }, 'ok'],
  ])('with %o, every invocation: %s', (shares, outcome) => {
    for (const seed of [0, 1, 2 ** 32 - 1]) {
      const next = chaosSequence({ ...shares, when: 'before', seed });
      expect(new Set(draws(1_000, next))).toEqual(new Set([outcome]));
    }
  });

  it('is described in one line, with its seed', () => {
    expect(
      describeChaos({ fail: 0.2, timeout: 0.05, when: 'after', seed: 42 }),
    ).toBe('fail 20%, time out 5%, after the handler (seed 42)');
  });
});
