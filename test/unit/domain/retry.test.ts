import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PoisonRecordError, TransientError } from '#domain/failures.ts';
import { backoffDelay, retryTransient } from '#domain/retry.ts';

/** A fake invocation: sleeping spends its remaining time, nothing really waits. */
function fakeTime(remainingMs: number) {
  let remaining = remainingMs;
  const sleeps: number[] = [];
  return {
    sleeps,
    remainingTimeMs: () => remaining,
    sleep: async (ms: number) => {
      sleeps.push(ms);
      remaining -= ms;
    },
  };
}

const options = {
  maxAttempts: 5,
  baseDelayMs: 100,
  maxDelayMs: 1_000,
  random: () => 1,
};

describe('backoffDelay', () => {
  it.each([
    [0, 0, 50],
    [0, 1, 100],
    [3, 0, 400],
    [3, 1, 800],
    [10, 0, 500],
    [10, 1, 1_000],
  ])('exponent %i with random %d waits %i ms', (exponent, r, expected) => {
    // Prepare
    const random = () => r;

    // Act
    const delay = backoffDelay(exponent, 100, 1_000, random);

    // Assess
    expect(delay).toBe(expected);
  });

  it('stays between half and all of the capped ceiling', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 2_000 }),
        fc.integer({ min: 0, max: 100_000 }),
        fc.integer({ min: 0, max: 10_000_000 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        (exponent, base, max, r) => {
          // Prepare
          const ceiling = Math.min(max, base * 2 ** Math.min(exponent, 1000));

          // Act
          const delay = backoffDelay(exponent, base, max, () => r);

          // Assess
          expect(delay).toBeGreaterThanOrEqual(Math.floor(ceiling / 2));
          expect(delay).toBeLessThanOrEqual(ceiling);
        },
      ),
    );
  });
});

describe('retryTransient', () => {
  it('returns the first success without waiting', async () => {
    // Prepare
    const time = fakeTime(60_000);

    // Act
    const result = await retryTransient(async () => 'ok', {
      ...options,
      ...time,
    });

    // Assess
    expect(result).toBe('ok');
    expect(time.sleeps).toEqual([]);
  });

  it('retries transient failures with growing delays until one succeeds', async () => {
    // Prepare
    const time = fakeTime(60_000);
    const seen: number[] = [];

    // Act
    const result = await retryTransient(
      async (attempt) => {
        seen.push(attempt);
        if (attempt < 4) throw new TransientError('timeout');
        return attempt;
      },
      { ...options, ...time },
    );

    // Assess
    expect(result).toBe(4);
    expect(seen).toEqual([1, 2, 3, 4]);
    expect(time.sleeps).toEqual([100, 200, 400]);
  });

  it('rethrows the last error after maxAttempts', async () => {
    // Prepare
    const time = fakeTime(60_000);
    let calls = 0;

    // Act
    const result = retryTransient(
      async (attempt) => {
        calls += 1;
        throw new TransientError(`failure ${attempt}`);
      },
      { ...options, ...time, maxAttempts: 3 },
    );

    // Assess
    await expect(result).rejects.toThrow('failure 3');
    expect(calls).toBe(3);
    expect(time.sleeps).toEqual([100, 200]);
  });

  it('tells onRetry of each retry before its wait, never of the last failure', async () => {
    // Prepare
    const time = fakeTime(60_000);
    const told: [string, number, number][] = [];

    // Act
    const result = retryTransient(
      async (attempt) => {
        throw new TransientError(`failure ${attempt}`);
      },
      {
        ...options,
        ...time,
        maxAttempts: 3,
        onRetry: (error, attempt, delayMs) => {
          told.push([(error as Error).message, attempt, delayMs]);
        },
      },
    );

    // Assess
    await expect(result).rejects.toThrow('failure 3');
    expect(told).toEqual([
      ['failure 1', 1, 100],
      ['failure 2', 2, 200],
    ]);
  });

  it('never retries poison', async () => {
    // Prepare
    const time = fakeTime(60_000);
    let calls = 0;
    const poison = new PoisonRecordError('not JSON');

    // Act
    const result = retryTransient(
      async () => {
        calls += 1;
        throw poison;
      },
      { ...options, ...time },
    );

    // Assess
    await expect(result).rejects.toBe(poison);
    expect(calls).toBe(1);
    expect(time.sleeps).toEqual([]);
  });

  it('treats unknown errors as transient, as classifyFailure does', async () => {
    // Prepare
    const time = fakeTime(60_000);
    let calls = 0;

    // Act
    const result = await retryTransient(
      async () => {
        calls += 1;
        if (calls === 1) throw new Error('ECONNRESET');
        return 'ok';
      },
      { ...options, ...time },
    );

    // Assess
    expect(result).toBe('ok');
    expect(calls).toBe(2);
  });

  it('stops when the next delay would not leave the safety margin', async () => {
    // Prepare: 1 000 ms margin; 1 350 ms left fits 100 and 200 but not then 400
    const time = fakeTime(1_350);
    let calls = 0;

    // Act
    const result = retryTransient(
      async (attempt) => {
        calls += 1;
        throw new TransientError(`failure ${attempt}`);
      },
      { ...options, ...time, maxAttempts: 10 },
    );

    // Assess
    await expect(result).rejects.toThrow('failure 3');
    expect(calls).toBe(3);
    expect(time.sleeps).toEqual([100, 200]);
  });

  it('does not retry at all when the invocation is nearly out of time', async () => {
    // Prepare
    const time = fakeTime(500);
    let calls = 0;

    // Act
    const result = retryTransient(
      async () => {
        calls += 1;
        throw new TransientError('timeout');
      },
      { ...options, ...time, safetyMarginMs: 1_000 },
    );

    // Assess
    await expect(result).rejects.toBeInstanceOf(TransientError);
    expect(calls).toBe(1);
  });
});
