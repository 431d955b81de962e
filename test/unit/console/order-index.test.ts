import { describe, expect, it } from 'vitest';
import { encodeConsumerDeadLetter } from '#commons/dead-letter-codec.ts';
import { newEvent } from '#domain/events.ts';
import {
  type IndexedEvent,
  indexRecord,
  OrderIndex,
  type RawRecord,
} from '../../../local/console/order-index.ts';
import { loadFixture } from '../../fixtures/fixtures.ts';

const clock = {
  now: () => new Date('2026-01-01T00:00:00.000Z'),
  uuid: () => '0b9c3f0e-52a4-4d4f-9d53-0c8f2b7a1e01',
};

const processed = newEvent(
  'PaymentProcessed',
  {
    orderId: 'o-1',
    paymentId: 'pay-1',
    transactionId: 'tx-1',
    amount: { amount: 3998, currency: 'EUR' },
  },
  {
    correlationId: 'corr-1',
    causationId: '5a1f0e6c-2a43-4d6b-8f0e-1b2c3d4e5f60',
  },
  clock,
);

function record(overrides: Partial<RawRecord> = {}): RawRecord {
  return {
    topic: 'payment.processed.v1',
    partition: 2,
    offset: '41',
    timestamp: String(Date.parse('2026-01-01T00:00:01.000Z')),
    key: Buffer.from('o-1'),
    value: Buffer.from(JSON.stringify(processed)),
    headers: { 'event-type': Buffer.from('PaymentProcessed') },
    ...overrides,
  };
}

describe('indexRecord', () => {
  it('files an event under its key, with its envelope ids and its headers as text', () => {
    // Act
    const indexed = indexRecord(record());

    // Assess
    expect(indexed).toEqual({
      orderId: 'o-1',
      event: {
        kind: 'event',
        at: '2026-01-01T00:00:01.000Z',
        topic: 'payment.processed.v1',
        partition: 2,
        offset: '41',
        key: 'o-1',
        eventType: 'PaymentProcessed',
        eventId: processed.eventId,
        correlationId: 'corr-1',
        causationId: processed.causationId,
        headers: { 'event-type': 'PaymentProcessed' },
        valid: true,
      },
    });
  });

  it('keeps a record that is no valid event, with its value as text', () => {
    // Prepare: amounts as strings, the poison of the console's story.
    const poison = {
      ...processed,
      data: { ...processed.data, amount: { amount: '3998', currency: 'EUR' } },
    };

    // Act
    const indexed = indexRecord(
      record({
        key: Buffer.from('ext-1'),
        value: Buffer.from(JSON.stringify(poison)),
      }),
    );

    // Assess
    expect(indexed?.orderId).toBe('ext-1');
    expect(indexed?.event).toMatchObject({
      eventType: 'PaymentProcessed',
      valid: false,
      valueText: JSON.stringify(poison),
    });
  });

  it('takes the order id from the value when the record has no key, and skips a record naming none', () => {
    // Act
    const keyless = indexRecord(record({ key: null }));
    const nameless = indexRecord(
      record({ key: null, value: Buffer.from('x') }),
    );

    // Assess
    expect(keyless?.orderId).toBe('o-1');
    expect(nameless).toBeUndefined();
  });

  it("files a consumer's dead letter under the original key, linked to the event that failed", () => {
    // Prepare
    const message = encodeConsumerDeadLetter({
      record: {
        topic: 'order.placed.v1',
        partition: 1,
        offset: 7,
        timestamp: 0,
        timestampType: 'CREATE_TIME',
        key: Buffer.from('ext-9').toString('base64'),
        value: Buffer.from(JSON.stringify(processed)).toString('base64'),
        headers: [],
      },
      error: new Error('bad amount'),
      consumer: 'payment',
      correlationId: 'corr-9',
      attempt: 0,
      now: clock.now(),
    });

    // Act
    const indexed = indexRecord(
      record({
        topic: 'order.placed.v1.dead-letter',
        partition: 0,
        offset: '3',
        key: message.key,
        value: message.value,
        headers: message.headers,
      }),
    );

    // Assess
    expect(indexed?.orderId).toBe('ext-9');
    expect(indexed?.event).toMatchObject({
      eventType: 'DeadLetter',
      valid: true,
      correlationId: 'corr-9',
      causationId: processed.eventId,
      deadLetterId: 'order.placed.v1.dead-letter:0:3',
      original: { topic: 'order.placed.v1', partition: 1, offset: '7' },
    });
  });

  it("files the ESM's on-failure record under the failed record's key, whatever its own key", () => {
    // Prepare: AWS's shape (test/fixtures), its record keyed order-77.
    const value = Buffer.from(
      JSON.stringify(loadFixture('esm-on-failure-record.json')),
    );

    // Act
    const indexed = indexRecord(
      record({
        topic: 'payment.processed.v1.dead-letter',
        key: null,
        value,
        headers: {},
      }),
    );

    // Assess
    expect(indexed?.orderId).toBe('order-77');
    expect(indexed?.event).toMatchObject({
      eventType: 'DeadLetter',
      valid: true,
      original: { topic: 'payment.processed.v1', partition: 1, offset: '100' },
    });
  });

  it('shows an unreadable dead letter as text under its own key', () => {
    // Act
    const indexed = indexRecord(
      record({
        topic: 'order.placed.v1.dead-letter',
        key: Buffer.from('o-5'),
        value: Buffer.from('{"nope":true}'),
      }),
    );

    // Assess
    expect(indexed?.orderId).toBe('o-5');
    expect(indexed?.event).toMatchObject({
      eventType: 'DeadLetter',
      valid: false,
      valueText: '{"nope":true}',
    });
  });
});

describe('OrderIndex', () => {
  const event = (offset: number, at: string): IndexedEvent => ({
    kind: 'event',
    at,
    topic: 't',
    partition: 0,
    offset: String(offset),
    key: null,
    eventType: null,
    eventId: null,
    correlationId: null,
    causationId: null,
    headers: {},
    valid: true,
  });

  it('keeps each record once, by time, and finds the order of a position', () => {
    // Prepare
    const index = new OrderIndex();

    // Act
    const first = index.add('o-1', event(2, '2026-01-01T00:00:02.000Z'));
    index.add('o-1', event(1, '2026-01-01T00:00:01.000Z'));
    const again = index.add('o-1', event(2, '2026-01-01T00:00:02.000Z'));

    // Assess
    expect([first, again]).toEqual([true, false]);
    expect(index.eventsOf('o-1').map((e) => e.offset)).toEqual(['1', '2']);
    expect(index.orderAt('t', 0, 2)).toBe('o-1');
    expect(index.orderAt('t', 0, 3)).toBeUndefined();
  });

  it('forgets the oldest records past its capacity', () => {
    // Prepare
    const index = new OrderIndex(2);

    // Act
    index.add('o-1', event(1, '2026-01-01T00:00:01.000Z'));
    index.add('o-2', event(2, '2026-01-01T00:00:02.000Z'));
    index.add('o-2', event(3, '2026-01-01T00:00:03.000Z'));

    // Assess
    expect(index.size).toBe(2);
    expect(index.eventsOf('o-1')).toEqual([]);
    expect(index.orderAt('t', 0, 1)).toBeUndefined();
    expect(index.eventsOf('o-2')).toHaveLength(2);
  });
});
