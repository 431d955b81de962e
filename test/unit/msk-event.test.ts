import { describe, expect, it } from 'vitest';
import {
  decodeHeaders,
  decodeKey,
  decodeValue,
  findHeader,
  headerMap,
  MskEvent,
  type MskHeader,
  type MskRecord,
  topicPartition,
} from '#commons/msk-event.ts';
import { loadFixture } from '../fixtures/fixtures.ts';

// A real MSK event, from Powertools' test suite.
const awsEvent = loadFixture('aws-events/msk-base.json');
const batchEvent = loadFixture('msk-order-placed-batch.json');

function firstRecord(event: MskEvent): MskRecord {
  const [record] = Object.values(event.records).flat();
  if (!record) throw new Error('fixture has no record');
  return record;
}

describe('MskEvent', () => {
  it('decodes a real MSK event', () => {
    // Prepare
    const raw = structuredClone(awsEvent);

    // Act
    const event = MskEvent.parse(raw);

    // Assess
    const record = firstRecord(event);
    expect(event.eventSource).toBe('aws:kafka');
    expect(topicPartition(record)).toBe('mytopic-0');
    expect(Object.keys(event.records)).toEqual(['mytopic-0']);
    expect(decodeKey(record)?.toString('utf8')).toBe('recordKey');
    expect(JSON.parse(decodeValue(record)?.toString('utf8') ?? '')).toEqual({
      key: 'value',
    });
    expect(headerMap(record.headers)).toEqual({ headerKey: 'headerValue' });
  });

  it('accepts self-managed Kafka, which has no eventSourceArn', () => {
    // Prepare
    const raw = structuredClone(batchEvent) as Record<string, unknown>;
    raw.eventSource = 'SelfManagedKafka';
    delete raw.eventSourceArn;

    // Act
    const result = MskEvent.safeParse(raw);

    // Assess
    expect(result.success).toBe(true);
  });

  it('refuses an MSK event without its eventSourceArn', () => {
    // Prepare
    const raw = structuredClone(batchEvent) as Record<string, unknown>;
    delete raw.eventSourceArn;

    // Act
    const result = MskEvent.safeParse(raw);

    // Assess
    expect(result.success).toBe(false);
  });

  it('refuses a partition given as a string', () => {
    // Prepare
    const raw = structuredClone(batchEvent) as MskEvent;
    const record = firstRecord(raw) as unknown as Record<string, unknown>;
    record.partition = '0';

    // Act
    const result = MskEvent.safeParse(raw);

    // Assess
    expect(result.success).toBe(false);
  });

  it('accepts a record whose key and value are missing or null', () => {
    // Prepare
    const raw = structuredClone(batchEvent) as MskEvent;
    const [first, second] = Object.values(raw.records).flat();
    if (!first || !second) throw new Error('fixture too small');
    delete first.key;
    delete first.value;
    second.key = null;
    second.value = null;

    // Act
    const event = MskEvent.parse(raw);

    // Assess
    const [parsedFirst, parsedSecond] = Object.values(event.records).flat();
    expect(parsedFirst && decodeKey(parsedFirst)).toBeNull();
    expect(parsedFirst && decodeValue(parsedFirst)).toBeNull();
    expect(parsedSecond && decodeKey(parsedSecond)).toBeNull();
    expect(parsedSecond && decodeValue(parsedSecond)).toBeNull();
  });

  it('refuses header bytes outside a byte range', () => {
    // Prepare
    const raw = structuredClone(batchEvent) as MskEvent;
    firstRecord(raw).headers = [{ bad: [300] }];

    // Act
    const result = MskEvent.safeParse(raw);

    // Assess
    expect(result.success).toBe(false);
  });
});

describe('decodeHeaders', () => {
  it('turns signed bytes back into UTF-8: café', () => {
    // Prepare
    const headers = [{ city: [99, 97, 102, -61, -87] }];

    // Act
    const [header] = decodeHeaders(headers);

    // Assess
    expect(header?.key).toBe('city');
    expect(header?.value).toEqual(Buffer.from([0x63, 0x61, 0x66, 0xc3, 0xa9]));
    expect(header?.value.toString('utf8')).toBe('café');
  });

  it('keeps bytes that are not UTF-8, and repeated names in order', () => {
    // Prepare
    const headers = [{ blob: [-1, 0, -128, 127] }, { blob: [1] }];

    // Act
    const decoded = decodeHeaders(headers);

    // Assess
    expect(decoded).toEqual([
      { key: 'blob', value: Buffer.from([0xff, 0x00, 0x80, 0x7f]) },
      { key: 'blob', value: Buffer.from([0x01]) },
    ]);
  });
});

describe('headerMap and findHeader', () => {
  const headers: MskHeader[] = [
    { 'correlation-id': [...Buffer.from('first')] },
    { city: [99, 97, 102, -61, -87] },
    { 'correlation-id': [...Buffer.from('second')] },
  ];

  it('reads every header as UTF-8, the last value winning', () => {
    expect(headerMap(structuredClone(headers))).toEqual({
      'correlation-id': 'second',
      city: 'café',
    });
  });

  it('finds the last value of one header, or undefined', () => {
    expect(findHeader(structuredClone(headers), 'correlation-id')).toBe(
      'second',
    );
    expect(findHeader(structuredClone(headers), 'city')).toBe('café');
    expect(findHeader(structuredClone(headers), 'absent')).toBeUndefined();
  });

  it('gives an empty object for no headers', () => {
    expect(headerMap([])).toEqual({});
  });
});

describe('topicPartition', () => {
  it('keeps dots and hyphens of the topic name', () => {
    expect(
      topicPartition({ topic: 'order-events.placed.v1', partition: 12 }),
    ).toBe('order-events.placed.v1-12');
  });
});
