import { describe, expect, it } from 'vitest';
import { StoreUnavailableError } from '#commons/dynamodb.ts';
import type { OrderRepository } from '#commons/order-repository.ts';
import {
  isAmbiguous,
  settledWrite,
  WriteNotStoredError,
} from '#commons/settled-write.ts';

/** The fences a test scripts, in order; each entry answers one call. */
function scriptedOrders(fences: ('blocked' | 'marked' | Error)[] = []) {
  const calls: string[] = [];
  const orders = {
    fence: async () => {
      calls.push('fence');
      const answer = fences.shift();
      if (answer === undefined) throw new Error('unexpected fence');
      if (answer instanceof Error) throw answer;
      return answer;
    },
  } as unknown as OrderRepository;
  return { orders, calls };
}

const timedOut = () =>
  new StoreUnavailableError('request timed out', { ambiguous: true });
const refused = () =>
  new StoreUnavailableError('connection refused', { ambiguous: false });

/** A clock that moves on by `step` ms at each reading. */
function steppingClock(step: number) {
  let now = 1_000_000;
  return () => {
    now += step;
    return now;
  };
}

const base = { orderId: 'o-1', eventId: 'e-1' } as const;

describe('settledWrite', () => {
  it('answers with the result of a write that answered in time, fencing nothing', async () => {
    // Prepare
    const { orders, calls } = scriptedOrders();
    let settleBy = 0;

    // Act
    const result = await settledWrite({
      ...base,
      orders,
      write: async (options) => {
        settleBy = options.settleBy ?? 0;
        return 'created' as const;
      },
      timings: { writeMs: 100, answerMs: 2_000, callMs: 100 },
      now: () => 5_000,
    });

    // Assess: the write carried the instant by which the API answers.
    expect(result).toBe('created');
    expect(settleBy).toBe(7_000);
    expect(calls).toEqual([]);
  });

  // 'blocked': the write had not landed, and now never can; 'marked': it had, and
  // the relay voids it.
  it.each(['blocked', 'marked'] as const)(
    'fences a write that timed out (%s), then answers 503',
    async (fence) => {
      // Prepare
      const { orders, calls } = scriptedOrders([fence]);

      // Act
      const failure = await settledWrite({
        ...base,
        orders,
        write: async () => {
          throw timedOut();
        },
      }).catch((error: unknown) => error);

      // Assess
      expect(failure).toBeInstanceOf(WriteNotStoredError);
      expect(failure).toBeInstanceOf(StoreUnavailableError);
      expect(calls).toEqual(['fence']);
    },
  );

  it('tries the fence again while the store does not answer it', async () => {
    // Prepare
    const { orders, calls } = scriptedOrders([timedOut(), 'marked']);

    // Act
    const failure = await settledWrite({
      ...base,
      orders,
      write: async () => {
        throw timedOut();
      },
    }).catch((error: unknown) => error);

    // Assess
    expect(failure).toBeInstanceOf(WriteNotStoredError);
    expect(calls).toEqual(['fence', 'fence']);
  });

  it('does not fence a write refused before it was sent', async () => {
    // Prepare
    const { orders, calls } = scriptedOrders();
    const error = refused();

    // Act
    const failure = await settledWrite({
      ...base,
      orders,
      write: async () => {
        throw error;
      },
    }).catch((e: unknown) => e);

    // Assess
    expect(failure).toBe(error);
    expect(calls).toEqual([]);
  });

  it('gives up at the deadline with StoreUnavailableError while the store stays silent', async () => {
    // Prepare: every fence times out; the clock runs 300 ms a reading.
    const { orders, calls } = scriptedOrders(
      Array.from({ length: 50 }, timedOut),
    );

    // Act
    const failure = await settledWrite({
      ...base,
      orders,
      write: async () => {
        throw timedOut();
      },
      timings: { writeMs: 100, answerMs: 2_000, callMs: 100 },
      now: steppingClock(300),
    }).catch((e: unknown) => e);

    // Assess: a plain 503, not a claim that the write is fenced off.
    expect(failure).toBeInstanceOf(StoreUnavailableError);
    expect(failure).not.toBeInstanceOf(WriteNotStoredError);
    expect(calls.length).toBeGreaterThan(0);
    expect(calls.length).toBeLessThan(10);
  });
});

describe('isAmbiguous', () => {
  it.each([
    ['a timeout', timedOut(), true],
    ['a refused connection', refused(), false],
    ['a wrapped refusal', new Error('conflict', { cause: refused() }), false],
    ['an error of unknown origin', new Error('?'), true],
    ['not an error at all', 'boom', true],
  ])('%s', (_, error, expected) => {
    expect(isAmbiguous(error)).toBe(expected);
  });
});
