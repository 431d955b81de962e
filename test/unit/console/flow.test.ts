import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  committedOffset,
  partitionLag,
  Throttle,
} from '../../../local/console/flow.ts';

describe('partitionLag', () => {
  it('counts from the committed offset to the end', () => {
    expect(partitionLag({ committed: '7', end: '10', start: '0' })).toBe(3);
    expect(partitionLag({ committed: '10', end: '10', start: '0' })).toBe(0);
  });

  it('counts from the start when nothing is committed', () => {
    expect(partitionLag({ committed: null, end: '10', start: '4' })).toBe(6);
  });

  it('is exact beyond 2^53 and never negative', () => {
    expect(
      partitionLag({
        committed: '9007199254740993',
        end: '9007199254740995',
        start: '0',
      }),
    ).toBe(2);
    expect(partitionLag({ committed: '12', end: '10', start: '0' })).toBe(0);
  });

  it("reads kafkajs' -1 as no commit", () => {
    expect(committedOffset('-1')).toBeNull();
    expect(committedOffset('42')).toBe('42');
  });
});

describe('Throttle', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('sends the first id at once, then what comes within the period together, once', () => {
    // Prepare
    const sent: string[][] = [];
    const throttle = new Throttle(500, (ids) => sent.push(ids));

    // Act
    throttle.add('o-1');
    throttle.add('o-2');
    throttle.add('o-3');
    throttle.add('o-2');

    // Assess
    expect(sent).toEqual([['o-1']]);
    vi.advanceTimersByTime(499);
    expect(sent).toEqual([['o-1']]);
    vi.advanceTimersByTime(1);
    expect(sent).toEqual([['o-1'], ['o-2', 'o-3']]);
    vi.advanceTimersByTime(5_000);
    expect(sent).toHaveLength(2);
  });

  it('sends nothing once stopped', () => {
    // Prepare
    const sent: string[][] = [];
    const throttle = new Throttle(500, (ids) => sent.push(ids));
    throttle.add('o-1');
    throttle.add('o-2');

    // Act
    throttle.stop();
    vi.advanceTimersByTime(1_000);

    // Assess
    expect(sent).toEqual([['o-1']]);
  });
});
