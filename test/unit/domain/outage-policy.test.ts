import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_OUTAGE_POLICY,
  guaranteedOutageSeconds,
  nextOutageDelay,
} from '#domain/outage-policy.ts';

const policy = DEFAULT_OUTAGE_POLICY;

describe('nextOutageDelay', () => {
  it.each([
    [1, 0, 125],
    [1, 1, 250],
    [2, 1, 500],
    [4, 1, 2_000],
    [30, 0, 1_000],
    [30, 1, 2_000],
  ])(
    'after %i failure(s) with random %d waits %i ms',
    (failures, r, expected) => {
      // Prepare
      const state = { failures, longestTryMs: 0, remainingMs: 60_000 };

      // Act
      const delay = nextOutageDelay(policy, state, () => r);

      // Assess
      expect(delay).toBe(expected);
    },
  );

  it('waits while the delay, the longest try and the reserve fit', () => {
    // Prepare: 2 000 + 3 000 + 5 000 = 10 000
    const state = { failures: 5, longestTryMs: 3_000, remainingMs: 10_000 };

    // Act
    const delay = nextOutageDelay(policy, state, () => 1);

    // Assess
    expect(delay).toBe(2_000);
  });

  it('gives the record back to the mapping when they no longer fit', () => {
    // Prepare
    const state = { failures: 5, longestTryMs: 3_000, remainingMs: 9_999 };

    // Act
    const delay = nextOutageDelay(policy, state, () => 1);

    // Assess
    expect(delay).toBeUndefined();
  });

  it('never plans past the reserve, and never waits longer than the cap', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 10_000 }),
        fc.integer({ min: 0, max: 900_000 }),
        fc.integer({ min: 0, max: 900_000 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        (failures, longestTryMs, remainingMs, r) => {
          // Act
          const delay = nextOutageDelay(
            policy,
            { failures, longestTryMs, remainingMs },
            () => r,
          );

          // Assess
          if (delay === undefined) return;
          expect(delay).toBeGreaterThanOrEqual(policy.baseDelayMs / 2);
          expect(delay).toBeLessThanOrEqual(policy.maxDelayMs);
          expect(delay + longestTryMs + policy.reserveMs).toBeLessThanOrEqual(
            remainingMs,
          );
        },
      ),
    );
  });
});

describe('guaranteedOutageSeconds', () => {
  it.each([
    // dev: 4 invocations of 60 s, each waiting at least 60 - 7 - 30 s
    [3, 60, 92],
    // prod
    [10, 60, 253],
    // a timeout too short for a worst-case try guarantees nothing
    [3, 30, 0],
    [0, 60, 23],
  ])(
    '%i retries with a %i s timeout ride out %i s',
    (retryAttempts, timeoutSeconds, expected) => {
      // Act
      const seconds = guaranteedOutageSeconds({
        retryAttempts,
        timeoutSeconds,
      });

      // Assess
      expect(seconds).toBe(expected);
    },
  );
});
