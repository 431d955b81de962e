import { describe, expect, it } from 'vitest';
import type { RawHeader, ReceivedDeadLetter } from '#domain/dead-letter.ts';
import { HEADERS } from '#domain/events.ts';
import {
  DEFAULT_REDRIVE_POLICY,
  decideRedrive,
  redriveHeaders,
} from '#domain/redrive-policy.ts';

const now = new Date('2025-01-01T00:00:00.000Z');
const b64 = (text: string) => Buffer.from(text).toString('base64');

function letter(
  errorClass: 'poison' | 'transient',
  attempt: number,
): ReceivedDeadLetter {
  return {
    id: 'order.placed.v1.dead-letter:0:7',
    source: 'consumer',
    original: {
      topic: 'order.placed.v1',
      partition: 0,
      offset: '42',
      timestamp: now.getTime(),
      key: b64('order-1'),
      value: b64('{}'),
      headers: [],
    },
    error: {
      class: errorClass,
      name: 'TransientError',
      message: 'store unavailable',
      stack: null,
    },
    consumer: 'payment',
    attempt,
    correlationId: 'corr-1',
    failedAt: now.toISOString(),
  };
}

const isoAfter = (ms: number) => new Date(now.getTime() + ms).toISOString();

describe('decideRedrive', () => {
  it('parks poison for an operator, even on its first failure', () => {
    // Prepare
    const poison = letter('poison', 0);

    // Act
    const decision = decideRedrive(
      poison,
      DEFAULT_REDRIVE_POLICY,
      now,
      () => 1,
    );

    // Assess
    expect(decision).toEqual({
      status: 'PARKED',
      note: 'poison: waits for an operator',
    });
  });

  it.each([
    // attempt, random, delay
    [0, 0, 30_000],
    [0, 1, 60_000],
    [1, 0, 60_000],
    [1, 1, 120_000],
    [4, 0, 480_000],
    [4, 1, 960_000],
  ])('schedules attempt %i with random %d after %i ms', (attempt, r, delay) => {
    // Prepare
    const transient = letter('transient', attempt);

    // Act
    const decision = decideRedrive(
      transient,
      DEFAULT_REDRIVE_POLICY,
      now,
      () => r,
    );

    // Assess
    expect(decision).toMatchObject({
      status: 'SCHEDULED',
      redriveAt: isoAfter(delay),
    });
  });

  it('caps the delay at maxDelayMs', () => {
    // Prepare
    const policy = { ...DEFAULT_REDRIVE_POLICY, maxAttempts: 20 };
    const transient = letter('transient', 10);

    // Act
    const low = decideRedrive(transient, policy, now, () => 0);
    const high = decideRedrive(transient, policy, now, () => 1);

    // Assess
    expect(low).toMatchObject({ redriveAt: isoAfter(1_800_000) });
    expect(high).toMatchObject({ redriveAt: isoAfter(3_600_000) });
  });

  it('parks a transient letter once it is out of attempts', () => {
    // Prepare
    const exhausted = letter('transient', DEFAULT_REDRIVE_POLICY.maxAttempts);

    // Act
    const decision = decideRedrive(
      exhausted,
      DEFAULT_REDRIVE_POLICY,
      now,
      () => 0,
    );

    // Assess
    expect(decision.status).toBe('PARKED');
    expect(decision.note).toMatch(/out of automatic redrives \(5 of 5/);
  });
});

describe('redriveHeaders', () => {
  it('keeps the original headers and sets the next attempt', () => {
    // Prepare
    const headers: RawHeader[] = [
      { key: HEADERS.eventType, value: b64('OrderPlaced') },
      { key: HEADERS.correlationId, value: b64('corr-1') },
      { key: HEADERS.redriveAttempt, value: b64('2') },
      { key: HEADERS.contentType, value: b64('application/json') },
    ];

    // Act
    const result = redriveHeaders(headers, 2);

    // Assess
    expect(
      result.map((header) => [header.key, header.value.toString('utf8')]),
    ).toEqual([
      [HEADERS.eventType, 'OrderPlaced'],
      [HEADERS.correlationId, 'corr-1'],
      [HEADERS.contentType, 'application/json'],
      [HEADERS.redriveAttempt, '3'],
    ]);
  });

  it('adds the attempt header to a record that never had one', () => {
    // Prepare
    const headers: RawHeader[] = [];

    // Act
    const result = redriveHeaders(headers, 0);

    // Assess
    expect(result).toEqual([
      { key: HEADERS.redriveAttempt, value: Buffer.from('1') },
    ]);
  });

  it('keeps binary header values byte for byte', () => {
    // Prepare
    const bytes = Buffer.from([0, 255, 128, 10]);
    const headers: RawHeader[] = [
      { key: 'trace', value: bytes.toString('base64') },
    ];

    // Act
    const [trace] = redriveHeaders(headers, 0);

    // Assess
    expect(trace?.value.equals(bytes)).toBe(true);
  });
});
