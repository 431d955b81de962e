import { describe, expect, it } from 'vitest';
import {
  correctionOf,
  LINEAGE_HEADERS,
  lineageOf,
  type RawHeader,
  type ReceivedDeadLetter,
} from '#domain/dead-letter.ts';
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
    redrivenFrom: null,
    lineageId: 'order.placed.v1.dead-letter:0:7',
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

/** What redriveHeaders reads of a letter: its id, attempt, lineage and headers. */
function redriven(
  headers: RawHeader[],
  attempt: number,
  lineageId = 'order.placed.v1.dead-letter:0:7',
) {
  return {
    id: 'order.placed.v1.dead-letter:0:7',
    attempt,
    lineageId,
    original: { headers },
  };
}

const asText = (headers: { key: string; value: Buffer }[]) =>
  headers.map((header) => [header.key, header.value.toString('utf8')]);

describe('redriveHeaders', () => {
  it('keeps the original headers and sets the next attempt and the lineage', () => {
    // Prepare
    const headers: RawHeader[] = [
      { key: HEADERS.eventType, value: b64('OrderPlaced') },
      { key: HEADERS.correlationId, value: b64('corr-1') },
      { key: HEADERS.redriveAttempt, value: b64('2') },
      { key: HEADERS.contentType, value: b64('application/json') },
    ];

    // Act
    const result = redriveHeaders(redriven(headers, 2));

    // Assess
    expect(asText(result)).toEqual([
      [HEADERS.eventType, 'OrderPlaced'],
      [HEADERS.correlationId, 'corr-1'],
      [HEADERS.contentType, 'application/json'],
      [HEADERS.redriveAttempt, '3'],
      [LINEAGE_HEADERS.redrivenFrom, 'order.placed.v1.dead-letter:0:7'],
      [LINEAGE_HEADERS.lineage, 'order.placed.v1.dead-letter:0:7'],
    ]);
  });

  it('replaces the lineage headers of a record that was itself a redrive', () => {
    // Prepare: the letter's record came from the redrive of letter :0:3, chain :0:1.
    const headers: RawHeader[] = [
      { key: LINEAGE_HEADERS.redrivenFrom, value: b64('x.dead-letter:0:3') },
      { key: HEADERS.correlationId, value: b64('corr-1') },
      { key: LINEAGE_HEADERS.lineage, value: b64('x.dead-letter:0:1') },
      { key: HEADERS.redriveAttempt, value: b64('1') },
    ];

    // Act
    const result = redriveHeaders(redriven(headers, 1, 'x.dead-letter:0:1'));

    // Assess: one of each, this letter as the predecessor, the chain kept.
    expect(asText(result)).toEqual([
      [HEADERS.correlationId, 'corr-1'],
      [HEADERS.redriveAttempt, '2'],
      [LINEAGE_HEADERS.redrivenFrom, 'order.placed.v1.dead-letter:0:7'],
      [LINEAGE_HEADERS.lineage, 'x.dead-letter:0:1'],
    ]);
  });

  it('adds the attempt and lineage headers to a record that never had them', () => {
    // Prepare
    const headers: RawHeader[] = [];

    // Act
    const result = redriveHeaders(redriven(headers, 0));

    // Assess
    expect(result).toEqual([
      { key: HEADERS.redriveAttempt, value: Buffer.from('1') },
      {
        key: LINEAGE_HEADERS.redrivenFrom,
        value: Buffer.from('order.placed.v1.dead-letter:0:7'),
      },
      {
        key: LINEAGE_HEADERS.lineage,
        value: Buffer.from('order.placed.v1.dead-letter:0:7'),
      },
    ]);
  });

  it('keeps binary header values byte for byte', () => {
    // Prepare
    const bytes = Buffer.from([0, 255, 128, 10]);
    const headers: RawHeader[] = [
      { key: 'trace', value: bytes.toString('base64') },
    ];

    // Act
    const [trace] = redriveHeaders(redriven(headers, 0));

    // Assess
    expect(trace?.value.equals(bytes)).toBe(true);
  });
});

describe('lineageOf', () => {
  const id = 'order.placed.v1.dead-letter:2:40';

  it('starts a chain when the record was not redriven', () => {
    // Act
    const lineage = lineageOf(id, [
      { key: HEADERS.correlationId, value: b64('corr-1') },
    ]);

    // Assess
    expect(lineage).toEqual({ redrivenFrom: null, lineageId: id });
  });

  it('links to the letter the record was redriven from, and its chain', () => {
    // Act
    const lineage = lineageOf(id, [
      { key: LINEAGE_HEADERS.redrivenFrom, value: b64('x.dead-letter:0:3') },
      { key: LINEAGE_HEADERS.lineage, value: b64('x.dead-letter:0:1') },
    ]);

    // Assess
    expect(lineage).toEqual({
      redrivenFrom: 'x.dead-letter:0:3',
      lineageId: 'x.dead-letter:0:1',
    });
  });

  it('takes the predecessor as the chain when there is no lineage header', () => {
    // Act
    const lineage = lineageOf(id, [
      { key: LINEAGE_HEADERS.redrivenFrom, value: b64('x.dead-letter:0:3') },
    ]);

    // Assess
    expect(lineage).toEqual({
      redrivenFrom: 'x.dead-letter:0:3',
      lineageId: 'x.dead-letter:0:3',
    });
  });

  it.each([
    ['empty', ''],
    ['not UTF-8', Buffer.from([0xff, 0xfe]).toString('base64')],
    ['with spaces', b64('a b')],
    ['too long', b64('x'.repeat(513))],
  ])('ignores a redriven-from header that is %s', (_, value) => {
    // Act
    const lineage = lineageOf(id, [
      { key: LINEAGE_HEADERS.redrivenFrom, value },
      { key: LINEAGE_HEADERS.lineage, value: b64('x.dead-letter:0:1') },
    ]);

    // Assess
    expect(lineage).toEqual({ redrivenFrom: null, lineageId: id });
  });

  it('ignores a lineage header that is not an id, keeping the predecessor', () => {
    // Act
    const lineage = lineageOf(id, [
      { key: LINEAGE_HEADERS.redrivenFrom, value: b64('x.dead-letter:0:3') },
      { key: LINEAGE_HEADERS.lineage, value: b64('bad\nid') },
    ]);

    // Assess
    expect(lineage.lineageId).toBe('x.dead-letter:0:3');
  });
});

describe('correctionOf', () => {
  it('keeps the corrected bytes and their SHA-256', () => {
    // Prepare
    const value = Buffer.from('abc');

    // Act
    const correction = correctionOf(value);

    // Assess: the SHA-256 of "abc" (FIPS 180-2, appendix B.1).
    expect(correction).toEqual({
      value: 'YWJj',
      sha256:
        'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
    });
  });
});
