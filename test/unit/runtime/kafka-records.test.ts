/**
 * Packing Kafka records into typed arrays and building the AWS MSK event from them
 * (local/runtime/esm/records/). Every expectation comes from a reference builder
 * written here the plain way (Buffer's base64, `JSON.stringify`), so that the packed
 * path, the event and the size computed without building it all agree with it.
 */
import { Buffer } from 'node:buffer';
import { KafkaMskEventSchema } from '@aws-lambda-powertools/parser/schemas/kafka';
import { describe, expect, it } from 'vitest';
import {
  gatherRecords,
  type HeldRecord,
  heldKey,
  holdRecords,
} from '../../../local/runtime/esm/records/held-records.ts';
import {
  type EsmRecord,
  type KafkaEnvelope,
  type KafkaEvent,
  kafkaEvent,
  type TimestampType,
} from '../../../local/runtime/esm/records/kafka-event.ts';
import {
  type PackedRecords,
  packFetched,
  packRecords,
  type RawRecord,
  recordCount,
  transferList,
} from '../../../local/runtime/esm/records/packed-records.ts';

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

describe('packFetched', () => {
  /** A batch of one partition as kafkajs hands it over: decimal strings. */
  const fetched = (partition: number) =>
    MIXED.filter((r) => r.partition === partition).map((r) => ({
      offset: String(r.offset),
      timestamp: String(r.timestamp),
      key: r.key,
      value: r.value,
      ...(r.headers ? { headers: r.headers } : {}),
    }));

  it('packs a fetched batch as packRecords packs the same records', () => {
    for (const partition of [0, 1, 3]) {
      const packed = packFetched(
        TOPIC,
        'CREATE_TIME',
        partition,
        fetched(partition),
      );
      expect(kafkaEvent(ENVELOPE, packed)).toEqual(
        build(MIXED.filter((r) => r.partition === partition)),
      );
    }
  });

  it('reads every decimal string kafkajs gives: 0, -1, 13 digits, 2^53 - 1', () => {
    const strings = ['0', '-1', '1700000000123', '9007199254740991', '42'];
    const packed = packFetched(
      TOPIC,
      'LOG_APPEND_TIME',
      2,
      strings.map((text) => ({ offset: text, timestamp: text, value: null })),
    );
    const records = kafkaEvent(ENVELOPE, packed).records[`${TOPIC}-2`] ?? [];
    expect(records.map((r) => [r.offset, r.timestamp])).toEqual(
      strings.map((text) => [Number(text), Number(text)]),
    );
  });
});

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

  it('keeps every record when a partition comes back out of the event order', () => {
    // Arrange
    const [first, second, third] = [
      record({ partition: 1, offset: 5 }),
      record({ partition: 0, offset: 9 }),
      record({ partition: 1, offset: 6 }),
    ];
    const outOfOrder = [first, second, third].filter(
      (r): r is RawRecord => r !== undefined,
    );

    // Act
    const event = build(outOfOrder);

    // Assess
    expect(event).toEqual(
      referenceEvent(ENVELOPE, TOPIC, 'CREATE_TIME', outOfOrder),
    );
    expect(event.records['orders.v1-1']?.map((r) => r.offset)).toEqual([5, 6]);
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

/** Each raw record with the held record it was packed into. */
interface Pair {
  readonly raw: RawRecord;
  readonly held: HeldRecord;
}

/** Packs `raws` as one source and holds its records, each paired with its raw record. */
function holdPairs(
  raws: readonly RawRecord[],
  timestampType: TimestampType = 'CREATE_TIME',
  topic = TOPIC,
): { packed: PackedRecords; pairs: Pair[] } {
  const packed = packRecords(topic, timestampType, raws);
  // A copy with state of its own, as the mapping holds them.
  const held = holdRecords(packed, (r) => ({ ...r, attempts: 0 }));
  const pairs = raws.map((raw, i): Pair => {
    const h = held[i];
    if (h === undefined) throw new Error(`no held record ${i}`);
    return { raw, held: h };
  });
  return { packed, pairs };
}

/** The gathered event of `pairs` and the reference event of their raw records. */
function gatherAndReference(
  pairs: readonly Pair[],
  timestampType: TimestampType = 'CREATE_TIME',
  topic = TOPIC,
): { event: KafkaEvent; reference: KafkaEvent } {
  const gathered = gatherRecords(
    topic,
    timestampType,
    pairs.map((p) => p.held),
  );
  return {
    event: kafkaEvent(ENVELOPE, gathered),
    reference: referenceEvent(
      ENVELOPE,
      topic,
      timestampType,
      pairs.map((p) => p.raw),
    ),
  };
}

/** In the order of the event: partitions ascending, offsets ascending within each. */
function eventOrder(pairs: readonly Pair[]): Pair[] {
  return [...pairs].sort(
    (a, b) => a.raw.partition - b.raw.partition || a.raw.offset - b.raw.offset,
  );
}

/** A seeded generator (mulberry32): the same numbers in [0, 1) on every run. */
function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('gatherRecords', () => {
  it('gives, for all the held records of one source, the event of packing them directly', () => {
    // Arrange
    const { packed, pairs } = holdPairs(MIXED);

    // Act
    const gathered = gatherRecords(
      TOPIC,
      'CREATE_TIME',
      pairs.map((p) => p.held),
    );
    const event = kafkaEvent(ENVELOPE, gathered);

    // Assess
    const reference = referenceEvent(ENVELOPE, TOPIC, 'CREATE_TIME', MIXED);
    expect(event).toEqual(reference);
    expect(JSON.stringify(event)).toBe(JSON.stringify(reference));
    expect(event).toEqual(kafkaEvent(ENVELOPE, packed));
    expect(recordCount(gathered)).toBe(MIXED.length);
    expect(Array.from(gathered.meta)).toEqual(Array.from(packed.meta));
    expect(Array.from(gathered.headers)).toEqual(Array.from(packed.headers));
    expect(Array.from(gathered.bytes)).toEqual(Array.from(packed.bytes));
    expect(gathered.names).toEqual(packed.names);
  });

  it('uses the topic and timestamp type it is given', () => {
    // Arrange
    const { pairs } = holdPairs(MIXED, 'CREATE_TIME', TOPIC);

    // Act
    const { event, reference } = gatherAndReference(
      pairs,
      'LOG_APPEND_TIME',
      'orders_dead-letter.v1',
    );

    // Assess
    expect(event).toEqual(reference);
    expect(JSON.stringify(event)).toBe(JSON.stringify(reference));
    expect(Object.keys(event.records)).toEqual([
      'orders_dead-letter.v1-0',
      'orders_dead-letter.v1-1',
      'orders_dead-letter.v1-3',
    ]);
  });

  it.each([
    ['every other record, from the first', (i: number) => i % 2 === 0],
    ['every other record, from the second', (i: number) => i % 2 === 1],
    ['the first and the last', (i: number) => i === 0 || i === 5],
    ['all but the first', (i: number) => i !== 0],
    ['all but the last', (i: number) => i !== 5],
    ['the middle two', (i: number) => i === 2 || i === 3],
    ['one, skipping the rest', (i: number) => i === 4],
    ['runs with gaps between them', (i: number) => i !== 2 && i !== 3],
  ])('gives the event of just the records gathered: %s', (_, keep) => {
    // Arrange: filtered records are skipped.
    const { pairs } = holdPairs(MIXED);
    const kept = pairs.filter((_, i) => keep(i));

    // Act
    const { event, reference } = gatherAndReference(kept);

    // Assess
    expect(kept.length).toBeGreaterThan(0);
    expect(event).toEqual(reference);
    expect(JSON.stringify(event)).toBe(JSON.stringify(reference));
  });

  it('gives the event of every subset of a batch of records', () => {
    // Arrange: six records, 64 subsets, each gathered in order.
    const { pairs } = holdPairs(MIXED);

    for (let mask = 0; mask < 2 ** pairs.length; mask += 1) {
      const kept = pairs.filter((_, i) => (mask & (1 << i)) !== 0);

      // Act
      const { event, reference } = gatherAndReference(kept);

      // Assess
      expect(JSON.stringify(event), `subset ${mask}`).toBe(
        JSON.stringify(reference),
      );
    }
  });

  it('maps the header names of several sources into one list', () => {
    // Arrange: the same name at different ids, names found in one source only,
    // `__proto__`, repeated names, a source with no headers at all.
    const a = holdPairs([
      record({
        offset: 0,
        headers: { city: 'café', source: bytes('api') },
      }),
      record({ offset: 3, headers: { source: 'a-second' } }),
      record({ partition: 2, offset: 0, headers: { city: ['x', 'y'] } }),
    ]);
    const b = holdPairs([
      record({
        offset: 1,
        key: null,
        headers: Object.fromEntries([
          ['source', 'b'],
          ['trace', ['t1', new Uint8Array([0x80, 0xff]), '']],
          ['__proto__', 'polluted?'],
        ]),
      }),
      record({
        offset: 4,
        value: null,
        headers: Object.fromEntries([
          ['__proto__', ['p1', 'p2']],
          ['city', 'b-city'],
        ]),
      }),
      record({
        partition: 1,
        offset: 0,
        headers: { trace: 't', 'naïve-名前': bytes('名前') },
      }),
    ]);
    const c = holdPairs([
      record({ offset: 2, key: bytes(''), value: bytes('') }),
      record({ partition: 1, offset: 1, key: null, value: null }),
      record({ partition: 2, offset: 1, headers: { only: ALL_BYTES } }),
    ]);
    const d = holdPairs([
      record({
        partition: 2,
        offset: 2,
        headers: { 'naïve-名前': 'd', source: ['d1', 'd2'], city: 'd-city' },
      }),
    ]);
    expect(a.packed.names).toEqual(['city', 'source']);
    expect(b.packed.names).toEqual([
      'source',
      'trace',
      '__proto__',
      'city',
      'naïve-名前',
    ]);
    expect(c.packed.names).toEqual(['only']);
    expect(d.packed.names).toEqual(['naïve-名前', 'source', 'city']);
    const all = eventOrder([...a.pairs, ...b.pairs, ...c.pairs, ...d.pairs]);

    // Act
    const { event, reference } = gatherAndReference(all);

    // Assess
    expect(event).toEqual(reference);
    expect(JSON.stringify(event)).toBe(JSON.stringify(reference));
    const [first, second, third] = event.records['orders.v1-0'] ?? [];
    expect(first?.headers).toEqual([
      { city: [99, 97, 102, -61, -87] },
      { source: [97, 112, 105] },
    ]);
    expect(JSON.stringify(second?.headers)).toBe(
      '[{"source":[98]},{"trace":[116,49]},{"trace":[-128,-1]},{"trace":[]},{"__proto__":[112,111,108,108,117,116,101,100,63]}]',
    );
    expect(Object.hasOwn(second?.headers[4] ?? {}, '__proto__')).toBe(true);
    expect(third?.headers).toEqual([]);
    const fromD = event.records['orders.v1-2']?.[2];
    expect(fromD?.headers).toEqual([
      { 'naïve-名前': [100] },
      { source: [100, 49] },
      { source: [100, 50] },
      { city: [100, 45, 99, 105, 116, 121] },
    ]);
  });

  it('maps header names when two sources take turns, a run at a time', () => {
    // Arrange: runs of two from each source, each source's records in one
    // partition spread over both.
    const names = ['x', 'y', 'z'];
    const sources = [0, 1, 2].map((s) =>
      holdPairs(
        Array.from({ length: 6 }, (_, i) =>
          record({
            offset: 6 * Math.floor(i / 2) + 2 * s + (i % 2),
            key: bytes(`key-${s}-${i}`),
            value: run(i + s, 40 * s),
            headers: Object.fromEntries([
              // Each source meets the names in another order.
              [names[(s + i) % 3] ?? '', `h-${s}-${i}`],
              [names[(s + 1) % 3] ?? '', [bytes(`r-${s}`), `q-${i}`]],
            ]),
          }),
        ),
      ),
    );
    const all = eventOrder(sources.flatMap((s) => s.pairs));

    // Act
    const { event, reference } = gatherAndReference(all);
    const skipped = gatherAndReference(all.filter((_, i) => i % 3 !== 1));

    // Assess
    expect(event.records['orders.v1-0']?.map((r) => r.offset)).toEqual(
      Array.from({ length: 18 }, (_, i) => i),
    );
    expect(event).toEqual(reference);
    expect(JSON.stringify(event)).toBe(JSON.stringify(reference));
    expect(skipped.event).toEqual(skipped.reference);
    expect(JSON.stringify(skipped.event)).toBe(
      JSON.stringify(skipped.reference),
    );
  });

  it('gives the event of random subsets of random records from random sources', () => {
    // Arrange: a seeded generator, so every run checks the same cases.
    const random = seeded(0x5eed);
    const pick = <T>(list: readonly T[]): T =>
      list[Math.floor(random() * list.length)] as T;
    const lengths = [0, 1, 2, 3, 4, 5, 17, 64];
    const maybeBytes = (): Uint8Array | null =>
      random() < 0.2 ? null : run(pick(lengths), Math.floor(random() * 256));
    const headerValue = (): Uint8Array | string =>
      random() < 0.5
        ? pick(['', 'a', 'café', '名前🙂', 'x'.repeat(9)])
        : run(pick(lengths), 200);
    const pool = [
      '__proto__',
      'city',
      'trace',
      'naïve-名前',
      '1',
      'a"quote',
      'constructor',
    ];

    for (let round = 0; round < 40; round += 1) {
      let offset = 0;
      const sources = Array.from({ length: 1 + Math.floor(random() * 3) }, () =>
        holdPairs(
          Array.from({ length: Math.floor(random() * 8) }, () => {
            const headers: [string, unknown][] = [];
            const count = Math.floor(random() * 4);
            for (let n = 0; n < count; n += 1) {
              const name = pick(pool);
              if (headers.some(([seen]) => seen === name)) continue;
              headers.push([
                name,
                random() < 0.3
                  ? Array.from(
                      { length: Math.floor(random() * 3) },
                      headerValue,
                    )
                  : headerValue(),
              ]);
            }
            offset += 1;
            return record({
              partition: Math.floor(random() * 3),
              offset,
              timestamp: Math.floor(random() * 2e12),
              key: maybeBytes(),
              value: maybeBytes(),
              headers:
                random() < 0.2
                  ? undefined
                  : (Object.fromEntries(headers) as RawRecord['headers']),
            });
          }).sort((x, y) => x.partition - y.partition || x.offset - y.offset),
          round % 2 === 0 ? 'CREATE_TIME' : 'LOG_APPEND_TIME',
        ),
      );
      const kept = eventOrder(
        sources.flatMap((s) => s.pairs).filter(() => random() < 0.6),
      );

      // Act
      const { event, reference } = gatherAndReference(
        kept,
        round % 2 === 0 ? 'CREATE_TIME' : 'LOG_APPEND_TIME',
      );

      // Assess
      expect(event, `round ${round}`).toEqual(reference);
      expect(JSON.stringify(event), `round ${round}`).toBe(
        JSON.stringify(reference),
      );
    }
  });

  it('copies the bytes of each record whatever order the records come in', () => {
    // Arrange: one partition, so the event keeps the order given; backwards and a
    // record given twice each break a run.
    const { pairs } = holdPairs(
      Array.from({ length: 5 }, (_, i) =>
        record({
          offset: i,
          key: bytes(`key-${i}`),
          value: run(3 * i, 17 * i),
          headers: { n: `${i}` },
        }),
      ),
    );
    const order = [4, 3, 0, 1, 1, 2];
    const given = order.map((i) => pairs[i] as Pair);

    // Act
    const { event, reference } = gatherAndReference(given);

    // Assess
    expect(event.records['orders.v1-0']?.map((r) => r.offset)).toEqual(order);
    expect(event).toEqual(reference);
    expect(JSON.stringify(event)).toBe(JSON.stringify(reference));
  });

  it('gives, for no records, an event with no records', () => {
    // Act
    const gathered = gatherRecords(TOPIC, 'CREATE_TIME', []);
    const event = kafkaEvent(ENVELOPE, gathered);

    // Assess
    expect(recordCount(gathered)).toBe(0);
    expect(gathered.bytes.byteLength).toBe(0);
    expect(gathered.headers.length).toBe(0);
    expect(gathered.names).toEqual([]);
    expect(event).toEqual({
      eventSource: 'aws:kafka',
      eventSourceArn: ENVELOPE.eventSourceArn,
      bootstrapServers: ENVELOPE.bootstrapServers,
      records: {},
    });
    expect(JSON.stringify(event)).toBe(
      JSON.stringify(referenceEvent(ENVELOPE, TOPIC, 'CREATE_TIME', [])),
    );
  });

  it('gives records that hold again with the sizes they had', () => {
    // Arrange
    const { pairs } = holdPairs(MIXED);
    const kept = pairs.filter((_, i) => i !== 1);

    // Act
    const again = holdRecords(
      gatherRecords(
        TOPIC,
        'CREATE_TIME',
        kept.map((p) => p.held),
      ),
      (r) => r,
    );

    // Assess
    expect(again.map((r) => r.size)).toEqual(kept.map((p) => p.held.size));
    expect(again.map((r) => r.byteLength)).toEqual(
      kept.map((p) => p.held.byteLength),
    );
    expect(again.map((r) => [r.partition, r.offset, r.timestamp])).toEqual(
      kept.map((p) => [p.raw.partition, p.raw.offset, p.raw.timestamp]),
    );
  });

  it('copies the records: overwriting the source afterwards changes nothing', () => {
    // Arrange
    const a = holdPairs(MIXED);
    const b = holdPairs([
      record({ partition: 4, offset: 1, headers: { other: 'b' } }),
    ]);
    const kept = [...a.pairs.filter((_, i) => i !== 2), ...b.pairs];
    const gathered = gatherRecords(
      TOPIC,
      'CREATE_TIME',
      kept.map((p) => p.held),
    );
    const before = JSON.stringify(kafkaEvent(ENVELOPE, gathered));

    // Act
    for (const source of [a.packed, b.packed]) {
      source.bytes.fill(0);
      source.meta.fill(0);
      source.headers.fill(0);
    }
    const event = kafkaEvent(ENVELOPE, gathered);

    // Assess
    const reference = referenceEvent(
      ENVELOPE,
      TOPIC,
      'CREATE_TIME',
      kept.map((p) => p.raw),
    );
    expect(gathered.bytes.buffer).not.toBe(a.packed.bytes.buffer);
    expect(gathered.bytes.buffer).not.toBe(b.packed.bytes.buffer);
    expect(event).toEqual(reference);
    expect(JSON.stringify(event)).toBe(JSON.stringify(reference));
    expect(JSON.stringify(event)).toBe(before);
  });

  it('copies the records: transferring the source afterwards changes nothing', () => {
    // Arrange
    const { packed, pairs } = holdPairs(MIXED);
    const gathered = gatherRecords(
      TOPIC,
      'CREATE_TIME',
      pairs.map((p) => p.held),
    );

    // Act: the source's buffer is detached.
    structuredClone(packed, { transfer: transferList(packed) });
    const event = kafkaEvent(ENVELOPE, gathered);

    // Assess
    expect(packed.bytes.byteLength).toBe(0);
    const reference = referenceEvent(ENVELOPE, TOPIC, 'CREATE_TIME', MIXED);
    expect(event).toEqual(reference);
    expect(JSON.stringify(event)).toBe(JSON.stringify(reference));
  });

  it('has one buffer of its own to transfer, which leaves the source intact', () => {
    // Arrange
    const { packed, pairs } = holdPairs(MIXED);
    const gathered = gatherRecords(
      TOPIC,
      'CREATE_TIME',
      pairs.filter((_, i) => i % 2 === 0).map((p) => p.held),
    );

    // Act
    const buffers = transferList(gathered);
    const clone = structuredClone(gathered, { transfer: buffers });

    // Assess
    expect(buffers).toHaveLength(1);
    expect(gathered.bytes.byteLength).toBe(0);
    expect(gathered.meta.length).toBe(0);
    expect(gathered.headers.length).toBe(0);
    expect(kafkaEvent(ENVELOPE, clone)).toEqual(
      referenceEvent(
        ENVELOPE,
        TOPIC,
        'CREATE_TIME',
        MIXED.filter((_, i) => i % 2 === 0),
      ),
    );
    expect(kafkaEvent(ENVELOPE, packed)).toEqual(
      referenceEvent(ENVELOPE, TOPIC, 'CREATE_TIME', MIXED),
    );
  });
});

describe('heldKey', () => {
  it('is the exact key bytes of each record, null for a null key', () => {
    // Arrange
    const { pairs } = holdPairs(MIXED);

    for (const { raw, held } of pairs) {
      // Act
      const key = heldKey(held);

      // Assess
      if (raw.key === null) {
        expect(key).toBeNull();
      } else {
        expect(key).toBeInstanceOf(Uint8Array);
        expect(Array.from(key ?? [])).toEqual(Array.from(raw.key));
      }
    }
    expect(pairs.filter((p) => p.raw.key === null)).toHaveLength(2);
  });

  it('is an empty array, not null, for an empty key', () => {
    // Arrange
    const { pairs } = holdPairs([
      record({ key: bytes('before'), headers: { h: 'v' } }),
      record({ offset: 1, key: new Uint8Array(0), value: bytes('value') }),
      record({ offset: 2, key: new Uint8Array(0), value: null }),
    ]);

    // Act
    const keys = pairs.map((p) => heldKey(p.held));

    // Assess
    expect(keys[1]).not.toBeNull();
    expect(keys[1]).toBeInstanceOf(Uint8Array);
    expect(keys[1]?.length).toBe(0);
    expect(keys[2]).not.toBeNull();
    expect(keys[2]?.length).toBe(0);
  });

  it('is a view of the buffer the record is held in, not a copy', () => {
    // Arrange
    const { packed, pairs } = holdPairs(MIXED);
    const held = pairs[4]?.held;
    if (held === undefined) throw new Error('no record 4');

    // Act
    const key = heldKey(held);

    // Assess
    expect(Array.from(key ?? [])).toEqual([0x00, 0x80, 0xff]);
    expect(key?.buffer).toBe(packed.bytes.buffer);
  });

  it('is the key of a record held again after gathering', () => {
    // Arrange
    const a = holdPairs(MIXED);
    const b = holdPairs([
      record({ partition: 5, offset: 0, key: bytes('from-b') }),
      record({ partition: 5, offset: 1, key: null }),
    ]);
    const kept = [...a.pairs.filter((_, i) => i % 2 === 1), ...b.pairs];

    // Act
    const keys = holdRecords(
      gatherRecords(
        TOPIC,
        'CREATE_TIME',
        kept.map((p) => p.held),
      ),
      heldKey,
    );

    // Assess
    expect(keys.map((k) => (k === null ? null : Array.from(k)))).toEqual(
      kept.map((p) => (p.raw.key === null ? null : Array.from(p.raw.key))),
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

/**
 * docs/aws-kafka-esm.md, Event payload: Powertools reads header bytes as code points,
 * unsigned.
 */
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
    // Arrange: Powertools requires a value (docs/aws-kafka-esm.md, Event payload).
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
