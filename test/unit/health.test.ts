import { describe, expect, it } from 'vitest';
import { probe } from '#commons/health.ts';

describe('probe', () => {
  it('is up when the check succeeds in time', async () => {
    expect(await probe(async () => 'pong', 1000)).toEqual({ up: true });
  });

  it('is down, "unavailable", when the check fails, and keeps the error for the logs', async () => {
    // Prepare
    const refused = new Error('connect ECONNREFUSED 10.0.0.1:8000');

    // Act
    const result = await probe(() => Promise.reject(refused), 1000);

    // Assess: the reason says nothing about the internals; the error does.
    expect(result).toEqual({
      up: false,
      reason: 'unavailable',
      error: refused,
    });
  });

  it('is down when the check does not answer within its deadline', async () => {
    // Act
    const result = await probe(() => new Promise(() => {}), 20);

    // Assess
    expect(result).toEqual({ up: false, reason: 'no answer within 20 ms' });
  });
});
