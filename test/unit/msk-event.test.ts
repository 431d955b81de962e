import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decodeHeaders,
  decodeKey,
  decodeValue,
  decodeValueText,
  findHeader,
  headerMap,
  MskEvent,
  MskHeader,
  type MskRecord,
  NotUtf8Error,
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

  it.each([
    ['a byte outside -128..255', { bad: [-129] }],
    ['a fractional byte', { bad: [1.5] }],
    ['bytes that are not an array', { bad: 'text' }],
    ['a header that is an array', [[1]]],
    ['a header that is null', null],
  ])('refuses %s, at the header, with a message', (_name, header) => {
    // Prepare
    const raw = structuredClone(batchEvent) as MskEvent;
    firstRecord(raw).headers = [{ ok: [1] }, header as MskHeader];

    // Act
    const result = MskEvent.safeParse(raw);

    // Assess
    expect(result.error?.issues).toEqual([
      expect.objectContaining({
        path: ['records', 'order.placed.v1-0', 0, 'headers', 1],
        message:
          'must be a header { "<name>": [byte, ...] } of bytes -128..255',
      }),
    ]);
  });

  it('accepts signed and unsigned bytes, and headers of several names', () => {
    expect(MskHeader.safeParse({ a: [-128, 0, 127, 255], b: [] }).success).toBe(
      true,
    );
  });
});

describe('decodeValueText', () => {
  it('reads the value as UTF-8 text, null for a tombstone', () => {
    // Prepare
    const value = Buffer.from('{"city":"café"}').toString('base64');

    // Act & Assess
    expect(decodeValueText({ value })).toBe('{"city":"café"}');
    expect(decodeValueText({ value: null })).toBeNull();
    expect(decodeValueText({})).toBeNull();
  });

  it('throws NotUtf8Error for bytes that are not UTF-8', () => {
    // Prepare
    const value = Buffer.from([0x7b, 0xff, 0x7d]).toString('base64');

    // Act & Assess
    expect(() => decodeValueText({ value })).toThrow(NotUtf8Error);
  });

  it('agrees with a fatal TextDecoder on any bytes', () => {
    const strict = new TextDecoder('utf-8', { fatal: true });
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        // Prepare
        const value = Buffer.from(bytes).toString('base64');
        let expected: string | undefined;
        try {
          expected = strict.decode(bytes);
        } catch {
          expected = undefined;
        }

        // Act
        let actual: string | undefined;
        try {
          actual = decodeValueText({ value }) ?? undefined;
        } catch (error) {
          expect(error).toBeInstanceOf(NotUtf8Error);
          actual = undefined;
        }

        // Assess
        expect(actual).toBe(expected);
      }),
      { numRuns: 500 },
    );
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

  it('keeps a header named __proto__ as a header, not a prototype', () => {
    // Prepare
    const headers = JSON.parse('[{"__proto__":[120]}]') as MskHeader[];

    // Act
    const map = headerMap(headers);

    // Assess
    expect(Object.getPrototypeOf(map)).toBe(Object.prototype);
    expect(Object.keys(map)).toEqual(['__proto__']);
    expect(Object.getOwnPropertyDescriptor(map, '__proto__')?.value).toBe('x');
  });

  it('reads any bytes as Buffer does, short or long, ASCII or not', () => {
    const byte = fc.integer({ min: -128, max: 255 });
    const ascii = fc.integer({ min: 0, max: 127 });
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            name: fc.constantFrom('a', 'b', 'c'),
            bytes: fc.oneof(
              fc.array(byte, { maxLength: 300 }),
              fc.array(ascii, { maxLength: 300 }),
            ),
          }),
          { maxLength: 4 },
        ),
        (entries) => {
          // Prepare
          const headers = entries.map(({ name, bytes }) => ({ [name]: bytes }));
          const expected = new Map<string, string>();
          for (const { name, bytes } of entries) {
            expected.set(name, Buffer.from(bytes).toString('utf8'));
          }

          // Act
          const map = headerMap(headers);

          // Assess
          expect(map).toEqual(Object.fromEntries(expected));
          for (const name of ['a', 'b', 'c']) {
            expect(findHeader(headers, name)).toBe(expected.get(name));
          }
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe('topicPartition', () => {
  it('keeps dots and hyphens of the topic name', () => {
    expect(
      topicPartition({ topic: 'order-events.placed.v1', partition: 12 }),
    ).toBe('order-events.placed.v1-12');
  });
});
