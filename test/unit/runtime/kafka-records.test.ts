/**
 * Packing Kafka records into typed arrays and building the AWS MSK event from them
 * (local/runtime/kafka-records.ts). Every expectation comes from a reference builder
 * written here the plain way (Buffer's base64, `JSON.stringify`), so that the packed
 * path, the event and the size computed without building it all agree with it.
 */
import { Buffer } from 'node:buffer';
import { KafkaMskEventSchema } from '@aws-lambda-powertools/parser/schemas/kafka';
import { describe, expect, it } from 'vitest';
import {
  type EsmRecord,
  holdRecords,
  type KafkaEnvelope,
  type KafkaEvent,
  kafkaEvent,
  packRecords,
  type RawRecord,
  recordCount,
  type TimestampType,
  transferList,
} from '../../../local/runtime/kafka-records.ts';

const ENVELOPE: KafkaEnvelope = {
  eventSourceArn:
    'arn:aws:kafka:us-east-1:123456789012:cluster/local/00000000-0000-0000-0000-000000000000-1',
  bootstrapServers: '127.0.0.1:19092,127.0.0.1:19093',
};
const TOPIC = 'orders.v1';

/** Java's signed bytes of a header value: strings are UTF-8. */
function signedBytes(value: Uint8Array | string): number[] {
  const raw = typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
  return Array.from(raw, (b) => (b > 127 ? b - 256 : b));
}

/** One record of the event, built the straightforward way, fields in wire order. */
function referenceRecord(
  topic: string,
  timestampType: TimestampType,
  raw: RawRecord,
): EsmRecord {
  const headers: Record<string, number[]>[] = [];
  for (const [name, value] of Object.entries(raw.headers ?? {})) {
    if (value === undefined) continue;
    const values = Array.isArray(value) ? value : [value];
    for (const v of values as (Uint8Array | string)[]) {
      // fromEntries: an own property whatever the name.
      headers.push(Object.fromEntries([[name, signedBytes(v)]]));
    }
  }
  const record: Record<string, unknown> = {
    topic,
    partition: raw.partition,
    offset: raw.offset,
    timestamp: raw.timestamp,
    timestampType,
  };
  if (raw.key !== null) record.key = Buffer.from(raw.key).toString('base64');
  if (raw.value !== null) {
    record.value = Buffer.from(raw.value).toString('base64');
  }
  record.headers = headers;
  return record as unknown as EsmRecord;
}

/** The event for `records` (partitions ascending), built the straightforward way. */
function referenceEvent(
  envelope: KafkaEnvelope,
  topic: string,
  timestampType: TimestampType,
  records: readonly RawRecord[],
): KafkaEvent {
  const grouped: Record<string, EsmRecord[]> = {};
  for (const raw of records) {
    const id = `${topic}-${raw.partition}`;
    grouped[id] ??= [];
    grouped[id].push(referenceRecord(topic, timestampType, raw));
  }
  return {
    eventSource: 'aws:kafka',
    eventSourceArn: envelope.eventSourceArn,
    bootstrapServers: envelope.bootstrapServers,
    records: grouped,
  };
}

function build(
  records: readonly RawRecord[],
  timestampType: TimestampType = 'CREATE_TIME',
  topic = TOPIC,
): KafkaEvent {
  return kafkaEvent(ENVELOPE, packRecords(topic, timestampType, records));
}

function bytes(text: string): Uint8Array {
  return new Uint8Array(Buffer.from(text, 'utf8'));
}

/** `n` bytes counting up from `from` (wrapping at 256). */
function run(n: number, from = 0): Uint8Array {
  return Uint8Array.from({ length: n }, (_, i) => (from + i) % 256);
}

const ALL_BYTES = run(256);

function record(overrides: Partial<RawRecord> = {}): RawRecord {
  return {
    partition: 0,
    offset: 0,
    timestamp: 1_700_000_000_000,
    key: bytes('k'),
    value: bytes('v'),
    ...overrides,
  };
}

/** A batch with every shape the event has, partitions ascending. */
const MIXED: readonly RawRecord[] = [
  record({
    partition: 0,
    offset: 7,
    key: bytes('order-1'),
    value: bytes('{"status":"PLACED"}'),
    headers: { city: 'café', source: bytes('api') },
  }),
  record({ partition: 0, offset: 8, key: null, value: bytes('no key') }),
  record({ partition: 0, offset: 9, key: bytes('order-1'), value: null }),
  record({ partition: 1, offset: 0, key: null, value: null }),
  record({
    partition: 1,
    offset: 1,
    key: new Uint8Array([0x00, 0x80, 0xff]),
    value: Buffer.from([0xc3, 0xa9, 0x7f, 0x80, 0xfe, 0xff]),
    headers: {
      trace: ['first', Buffer.from('second'), new Uint8Array([0x80, 0xff])],
      empty: '',
      emptyBytes: new Uint8Array(0),
      'naïve-名前': 'x',
      absent: undefined,
    },
  }),
  record({
    partition: 3,
    offset: 123_456_789,
    timestamp: -1,
    key: bytes(''),
    value: bytes(''),
    headers: { all: ALL_BYTES },
  }),
];

describe('kafkaEvent(packRecords(...))', () => {
  it('equals the event built by hand for every shape of record', () => {
    // Act
    const event = build(MIXED);

    // Assess
    expect(event).toEqual(
      referenceEvent(ENVELOPE, TOPIC, 'CREATE_TIME', MIXED),
    );
    expect(Object.keys(event.records)).toEqual([
      'orders.v1-0',
      'orders.v1-1',
      'orders.v1-3',
    ]);
  });

  it('omits key and value when null, and keeps empty ones', () => {
    // Act
    const event = build(MIXED);

    // Assess
    const [, noKey, tombstone] = event.records['orders.v1-0'] ?? [];
    const [bothNull] = event.records['orders.v1-1'] ?? [];
    const [empty] = event.records['orders.v1-3'] ?? [];
    expect(noKey).not.toHaveProperty('key');
    expect(noKey?.value).toBe(Buffer.from('no key').toString('base64'));
    expect(tombstone).not.toHaveProperty('value');
    expect(tombstone?.key).toBe(Buffer.from('order-1').toString('base64'));
    expect(bothNull).not.toHaveProperty('key');
    expect(bothNull).not.toHaveProperty('value');
    expect(empty?.key).toBe('');
    expect(empty?.value).toBe('');
  });

  it('writes header values as Java signed bytes, repeated names in order', () => {
    // Act
    const event = build(MIXED);

    // Assess
    const [first] = event.records['orders.v1-0'] ?? [];
    expect(first?.headers).toEqual([
      { city: [99, 97, 102, -61, -87] },
      { source: [97, 112, 105] },
    ]);
    const [, binary] = event.records['orders.v1-1'] ?? [];
    expect(binary?.key).toBe('AID/');
    expect(binary?.headers).toEqual([
      { trace: [102, 105, 114, 115, 116] },
      { trace: [115, 101, 99, 111, 110, 100] },
      { trace: [-128, -1] },
      { empty: [] },
      { emptyBytes: [] },
      { 'naïve-名前': [120] },
    ]);
    const [all] = event.records['orders.v1-3'] ?? [];
    expect(all?.headers[0]?.all).toEqual([
      ...Array.from({ length: 128 }, (_, i) => i),
      ...Array.from({ length: 128 }, (_, i) => i - 128),
    ]);
  });

  it('has the fields of each record in wire order, and the JSON of the reference', () => {
    // Act
    const event = build(MIXED, 'LOG_APPEND_TIME');

    // Assess
    const reference = referenceEvent(ENVELOPE, TOPIC, 'LOG_APPEND_TIME', MIXED);
    expect(Object.keys(event)).toEqual([
      'eventSource',
      'eventSourceArn',
      'bootstrapServers',
      'records',
    ]);
    const order = [
      'topic',
      'partition',
      'offset',
      'timestamp',
      'timestampType',
      'key',
      'value',
      'headers',
    ];
    for (const records of Object.values(event.records)) {
      for (const r of records) {
        expect(Object.keys(r)).toEqual(order.filter((k) => k in r));
      }
    }
    expect(JSON.stringify(event)).toBe(JSON.stringify(reference));
  });

  it('keeps a header named __proto__ as an own field', () => {
    // Arrange: kafkajs builds headers with computed keys, so the name is an own key.
    const raw = record({
      headers: Object.fromEntries([['__proto__', 'x']]),
    });

    // Act
    const event = build([raw]);

    // Assess
    expect(JSON.stringify(event.records['orders.v1-0']?.[0])).toBe(
      JSON.stringify(referenceRecord(TOPIC, 'CREATE_TIME', raw)),
    );
  });
});

describe('holdRecords: size', () => {
  /** Shapes of one record, each on its own. */
  const shapes: [string, RawRecord][] = [
    ...[0, 9, 10, 99, 100, 99_999, 2 ** 31, 2 ** 53 - 1].map(
      (offset): [string, RawRecord] => [`offset ${offset}`, record({ offset })],
    ),
    ...[0, -1, 9, 1_700_000_000_000, 9_999_999_999_999].map(
      (timestamp): [string, RawRecord] => [
        `timestamp ${timestamp}`,
        record({ timestamp }),
      ],
    ),
    ...[0, 1, 2, 3, 4, 5, 6, 7, 300].map((n): [string, RawRecord] => [
      `key and value of ${n} bytes`,
      record({ key: run(n, 250), value: run(n, 120) }),
    ]),
    ['null key', record({ key: null })],
    ['null value', record({ value: null })],
    ['null key and value', record({ key: null, value: null })],
    ['no headers object', record({ headers: undefined })],
    ['empty headers object', record({ headers: {} })],
    ['all 256 bytes in one header', record({ headers: { all: ALL_BYTES } })],
    [
      'every byte as its own header value',
      record({
        headers: { b: Array.from(ALL_BYTES, (b) => new Uint8Array([b])) },
      }),
    ],
    [
      'several headers',
      record({
        headers: {
          'content-type': 'application/json',
          city: 'café',
          id: Buffer.from('0123456789'),
          empty: '',
        },
      }),
    ],
    [
      'repeated names',
      record({
        headers: { trace: ['a', bytes('bb'), new Uint8Array([0x80])], x: [] },
      }),
    ],
    [
      'header names needing JSON escaping',
      record({
        headers: {
          'a"quote': 'q',
          'new\nline': 'n',
          'back\\slash': 'b',
          'tab\tand\u0001control': 'c',
          'naïve-名前-🙂': 'u',
        },
      }),
    ],
    [
      'non-ASCII and unpaired-surrogate header values',
      record({ headers: { s: ['名前🙂', '\ud800'] } }),
    ],
    ['an undefined header value', record({ headers: { gone: undefined } })],
    ['integer-like header names', record({ headers: { b: 'x', '1': 'y' } })],
  ];

  for (const timestampType of [
    'CREATE_TIME',
    'LOG_APPEND_TIME',
  ] as TimestampType[]) {
    for (const [topic, partition] of [
      [TOPIC, 0],
      ['a', 7],
      ['orders_dead-letter.v1', 123],
    ] as [string, number][]) {
      it.each(shapes)(
        `is the JSON size of the entry: %s (${timestampType}, ${topic}-${partition})`,
        (_, shape) => {
          // Arrange
          const raw = { ...shape, partition };
          const expected = Buffer.byteLength(
            JSON.stringify(referenceRecord(topic, timestampType, raw)),
          );

          // Act
          const [held] = holdRecords(
            packRecords(topic, timestampType, [raw]),
            (record) => record,
          );
          const size = held?.size;

          // Assess
          expect(size).toBe(expected);
        },
      );
    }
  }

  it('is the size of the entry in the built event', () => {
    // Act
    const event = build(MIXED);
    const held = holdRecords(
      packRecords(TOPIC, 'CREATE_TIME', MIXED),
      (record) => record,
    );

    // Assess
    const built = Object.values(event.records).flat();
    expect(built).toHaveLength(MIXED.length);
    expect(held.map((record) => record.size)).toEqual(
      built.map((record) => Buffer.byteLength(JSON.stringify(record))),
    );
  });
});

describe('recordCount', () => {
  it('is the number of records packed', () => {
    // Act
    const packed = packRecords(TOPIC, 'CREATE_TIME', MIXED);

    // Assess
    expect(recordCount(packed)).toBe(MIXED.length);
    expect(recordCount(packRecords(TOPIC, 'CREATE_TIME', [record()]))).toBe(1);
  });

  it('is 0 for no records, whose event has no records', () => {
    // Act
    const packed = packRecords(TOPIC, 'CREATE_TIME', []);
    const event = kafkaEvent(ENVELOPE, packed);

    // Assess
    expect(recordCount(packed)).toBe(0);
    expect(event).toEqual({
      eventSource: 'aws:kafka',
      eventSourceArn: ENVELOPE.eventSourceArn,
      bootstrapServers: ENVELOPE.bootstrapServers,
      records: {},
    });
  });
});

describe('transferList', () => {
  it('lists the one ArrayBuffer that carries the records across a transfer', () => {
    // Arrange
    const packed = packRecords(TOPIC, 'CREATE_TIME', MIXED);
    const expected = kafkaEvent(ENVELOPE, packed);

    // Act
    const buffers = transferList(packed);
    const clone = structuredClone(packed, { transfer: buffers });

    // Assess
    expect(buffers).toHaveLength(1);
    for (const buffer of buffers) {
      expect(buffer).toBeInstanceOf(ArrayBuffer);
      expect(buffer.byteLength).toBe(0);
    }
    expect(packed.bytes.byteLength).toBe(0);
    expect(packed.meta.length).toBe(0);
    expect(packed.headers.length).toBe(0);
    expect(kafkaEvent(ENVELOPE, clone)).toEqual(expected);
    expect(JSON.stringify(kafkaEvent(ENVELOPE, clone))).toBe(
      JSON.stringify(referenceEvent(ENVELOPE, TOPIC, 'CREATE_TIME', MIXED)),
    );
  });

  it('works for no records', () => {
    // Arrange
    const packed = packRecords(TOPIC, 'CREATE_TIME', []);

    // Act
    const clone = structuredClone(packed, { transfer: transferList(packed) });

    // Assess
    expect(kafkaEvent(ENVELOPE, clone).records).toEqual({});
  });
});

/** aws-kafka-esm.md 8.2: Powertools reads header bytes as code points, unsigned. */
function unsignedHeaders(event: KafkaEvent): KafkaEvent {
  const copy = structuredClone(event);
  for (const records of Object.values(copy.records)) {
    for (const r of records) {
      r.headers = r.headers.map((header) =>
        Object.fromEntries(
          Object.entries(header).map(([name, values]) => [
            name,
            values.map((b) => (b < 0 ? b + 256 : b)),
          ]),
        ),
      );
    }
  }
  return copy;
}

describe('Powertools KafkaMskEventSchema', () => {
  it('parses the built event (header bytes unsigned, no tombstones)', () => {
    // Arrange: Powertools requires a value (aws-kafka-esm.md 8.2).
    const records = MIXED.filter((r) => r.value !== null);

    // Act
    const parsed = KafkaMskEventSchema.parse(unsignedHeaders(build(records)));

    // Assess
    expect(parsed.eventSource).toBe('aws:kafka');
    expect(parsed.eventSourceArn).toBe(ENVELOPE.eventSourceArn);
    expect(parsed.bootstrapServers).toEqual([
      '127.0.0.1:19092',
      '127.0.0.1:19093',
    ]);
    const [first, noKey] = parsed.records['orders.v1-0'] ?? [];
    expect(first?.key).toBe('order-1');
    expect(first?.value).toBe('{"status":"PLACED"}');
    expect(first?.headers).toEqual([{ city: 'cafÃ©' }, { source: 'api' }]);
    expect(noKey?.key).toBeUndefined();
    expect(noKey?.value).toBe('no key');
    expect(Object.keys(parsed.records)).toEqual([
      'orders.v1-0',
      'orders.v1-1',
      'orders.v1-3',
    ]);
  });
});
