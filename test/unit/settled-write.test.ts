import { describe, expect, it } from 'vitest';
import { StoreUnavailableError } from '#commons/dynamodb.ts';
import type { OrderRepository } from '#commons/order-repository.ts';
import {
  isAmbiguous,
  settledWrite,
  WriteNotStoredError,
} from '#commons/settled-write.ts';

/** The settling calls a test scripts, in order; each entry answers one call. */
type Answer<T> = T | Error;

function scriptedOrders(script: {
  fence?: Answer<'fenced' | 'applied'>[];
  confirm?: Answer<boolean>[];
}) {
  const calls: string[] = [];
  const next = <T>(name: string, answers: Answer<T>[] | undefined): T => {
    calls.push(name);
    const answer = answers?.shift();
    if (answer === undefined) throw new Error(`unexpected ${name}`);
    if (answer instanceof Error) throw answer;
    return answer;
  };
  const orders = {
    fence: async () => next('fence', script.fence),
    confirm: async () => next('confirm', script.confirm),
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

const base = { orderId: 'o-1', version: 1, eventId: 'e-1' } as const;

describe('settledWrite', () => {
  it('confirms a write that succeeded, and answers with its result', async () => {
    // Prepare
    const { orders, calls } = scriptedOrders({ confirm: [true] });

    // Act
    const result = await settledWrite({
      ...base,
      orders,
      write: async () => 'created' as const,
      stored: 'created',
    });

    // Assess
    expect(result).toBe('created');
    expect(calls).toEqual(['confirm']);
  });

  it('passes a result that stored nothing straight through', async () => {
    // Prepare
    const { orders, calls } = scriptedOrders({});

    // Act
    const result = await settledWrite({
      ...base,
      orders,
      write: async (): Promise<'created' | 'exists'> => 'exists',
      stored: 'created',
    });

    // Assess
    expect(result).toBe('exists');
    expect(calls).toEqual([]);
  });

  it('fences a write that timed out; once fenced, nothing was stored: 503', async () => {
    // Prepare
    const { orders, calls } = scriptedOrders({ fence: ['fenced'] });

    // Act
    const failure = await settledWrite({
      ...base,
      orders,
      write: async () => {
        throw timedOut();
      },
      stored: 'created',
    }).catch((error: unknown) => error);

    // Assess
    expect(failure).toBeInstanceOf(WriteNotStoredError);
    expect(failure).toBeInstanceOf(StoreUnavailableError);
    expect(calls).toEqual(['fence']);
  });

  it('confirms a timed-out write the fence finds applied: it stands', async () => {
    // Prepare: the first fence times out as well, the second answers.
    const { orders, calls } = scriptedOrders({
      fence: [timedOut(), 'applied'],
      confirm: [true],
    });

    // Act
    const result = await settledWrite({
      ...base,
      orders,
      write: async () => {
        throw timedOut();
      },
      stored: 'created',
    });

    // Assess
    expect(result).toBe('created');
    expect(calls).toEqual(['fence', 'fence', 'confirm']);
  });

  it('answers 503 when the relay voided the write before it could be confirmed', async () => {
    // Prepare
    const { orders } = scriptedOrders({ fence: ['applied'], confirm: [false] });

    // Act
    const failure = await settledWrite({
      ...base,
      orders,
      write: async () => {
        throw timedOut();
      },
      stored: 'created',
    }).catch((error: unknown) => error);

    // Assess
    expect(failure).toBeInstanceOf(WriteNotStoredError);
  });

  it('does not fence a write refused before it was sent', async () => {
    // Prepare
    const { orders, calls } = scriptedOrders({});
    const error = refused();

    // Act
    const failure = await settledWrite({
      ...base,
      orders,
      write: async () => {
        throw error;
      },
      stored: 'created',
    }).catch((e: unknown) => e);

    // Assess
    expect(failure).toBe(error);
    expect(calls).toEqual([]);
  });

  it('gives up at the deadline with StoreUnavailableError while the store stays silent', async () => {
    // Prepare: every settling call times out; the clock runs 300 ms a reading.
    const { orders, calls } = scriptedOrders({
      fence: Array.from({ length: 50 }, timedOut),
    });

    // Act
    const failure = await settledWrite({
      ...base,
      orders,
      write: async () => {
        throw timedOut();
      },
      stored: 'created',
      timings: { writeMs: 100, answerMs: 2_000, callMs: 100 },
      now: steppingClock(300),
    }).catch((e: unknown) => e);

    // Assess: a plain 503, not a claim that nothing was stored.
    expect(failure).toBeInstanceOf(StoreUnavailableError);
    expect(failure).not.toBeInstanceOf(WriteNotStoredError);
    expect(calls.length).toBeGreaterThan(0);
    expect(calls.length).toBeLessThan(10);
  });

  it('retries a confirm that timed out, fencing no more', async () => {
    // Prepare
    const { orders, calls } = scriptedOrders({ confirm: [timedOut(), true] });

    // Act
    const result = await settledWrite({
      ...base,
      orders,
      write: async () => 'appended' as const,
      stored: 'appended',
    });

    // Assess
    expect(result).toBe('appended');
    expect(calls).toEqual(['confirm', 'confirm']);
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
