/**
 * The records of one Kafka ESM invocation, packed into three typed arrays so that
 * they cross to a function's sandbox (a worker thread) by transfer, not by copy or
 * structured clone, and the AWS event (docs/aws-kafka-esm.md, Event payload) is built
 * there, on the sandbox's thread: base64 and the signed header bytes cost the
 * mapping's thread nothing.
 *
 * `kafkaEvent` is the one place the event is built, for every path: a sandbox, a
 * fake invoker in the tests, the one-record payload of an on-failure destination.
 * It depends on nothing but Node's Buffer, so a sandbox loads it in no time.
 */
import { Buffer } from 'node:buffer';

/** docs/aws-kafka-esm.md, Event payload: from the topic's `message.timestamp.type`. */
export type TimestampType = 'CREATE_TIME' | 'LOG_APPEND_TIME';

/** What the event says about where its records come from. */
export interface KafkaEnvelope {
  readonly eventSourceArn: string;
  /**
   * The brokers, comma-separated (docs/aws-kafka-esm.md, Event payload: a string, not
   * a list).
   */
  readonly bootstrapServers: string;
}

/**
 * A record as read from the broker: what kafkajs hands out per message, reduced to
 * what the event shows. Header values are grouped by name, in order of appearance
 * (kafkajs groups repeated names).
 */
export interface RawRecord {
  readonly partition: number;
  readonly offset: number;
  readonly timestamp: number;
  readonly key: Uint8Array | null;
  readonly value: Uint8Array | null;
  readonly headers?: Readonly<
    Record<
      string,
      Uint8Array | string | readonly (Uint8Array | string)[] | undefined
    >
  >;
}

/**
 * Records packed for transfer: three views of one buffer. Per record, in `meta`:
 * partition, offset, timestamp, key length, value length (-1: null) and header count;
 * per header, in `headers`: the index of its name in `names` and the length of its
 * value. Keys, values and header values follow each other in `bytes`, in that order.
 */
export interface PackedRecords {
  readonly topic: string;
  readonly timestampType: TimestampType;
  readonly meta: Float64Array;
  readonly headers: Int32Array;
  readonly names: readonly string[];
  readonly bytes: Uint8Array;
}

/** One record of the event, as on the wire (docs/aws-kafka-esm.md, Event payload). */
export interface EsmRecord {
  topic: string;
  partition: number;
  offset: number;
  timestamp: number;
  timestampType: TimestampType;
  key?: string;
  value?: string;
  headers: Record<string, number[]>[];
}

/**
 * The event a Kafka ESM invokes its function with (docs/aws-kafka-esm.md, Event
 * payload).
 */
export interface KafkaEvent {
  eventSource: 'aws:kafka';
  eventSourceArn: string;
  bootstrapServers: string;
  records: Record<string, EsmRecord[]>;
}

const META_FIELDS = 6;
const UTF8 = new TextEncoder();

/**
 * Packs `records` (grouped by partition, partitions ascending, offsets ascending
 * within each: the order of the event) for {@link kafkaEvent}.
 *
 * @example
 * ```ts
 * const packed = packRecords('orders.v1', 'CREATE_TIME', [{ partition: 0, offset: 7, timestamp: 0, key: null, value: null }]);
 * worker.postMessage(packed, transferList(packed));
 * ```
 */
export function packRecords(
  topic: string,
  timestampType: TimestampType,
  records: readonly RawRecord[],
): PackedRecords {
  return pack(topic, timestampType, records, RAW_PLACEMENT);
}

/**
 * A message as kafkajs fetches it: offset and timestamp as decimal strings, the
 * partition on its batch.
 */
export interface FetchedMessage {
  readonly offset: string;
  readonly timestamp: string;
  readonly key?: Uint8Array | null;
  readonly value: Uint8Array | null;
  readonly headers?: RawRecord['headers'];
}

/**
 * Packs the messages of one fetched batch of `partition`, as {@link packRecords}
 * would their records, without an object per message on the way.
 *
 * @example
 * ```ts
 * const packed = packFetched(batch.topic, 'CREATE_TIME', batch.partition, batch.messages);
 * ```
 */
export function packFetched(
  topic: string,
  timestampType: TimestampType,
  partition: number,
  messages: readonly FetchedMessage[],
): PackedRecords {
  return pack(topic, timestampType, messages, {
    partition: () => partition,
    offset: (message) => decimal(message.offset),
    timestamp: (message) => decimal(message.timestamp),
  });
}

/**
 * The number a decimal string of kafkajs' says (`Long#toString`: offsets and
 * timestamps). Digit by digit: `Number()` takes V8's slow path for strings that are
 * not array indices, and this runs for every record fetched.
 */
function decimal(text: string): number {
  const length = text.length;
  // 15 digits stay below 2^53; longer strings, signs and the rest go to Number().
  if (length === 0 || length > 15) return Number(text);
  let value = 0;
  for (let i = 0; i < length; i += 1) {
    const digit = text.charCodeAt(i) - 48;
    if (digit < 0 || digit > 9) return Number(text);
    value = value * 10 + digit;
  }
  return value;
}

/** Where a record comes from: what packing reads besides its bytes. */
interface Placement<T> {
  partition(record: T): number;
  offset(record: T): number;
  timestamp(record: T): number;
}

const RAW_PLACEMENT: Placement<RawRecord> = {
  partition: (record) => record.partition,
  offset: (record) => record.offset,
  timestamp: (record) => record.timestamp,
};

function pack<T extends FetchedMessage | RawRecord>(
  topic: string,
  timestampType: TimestampType,
  records: readonly T[],
  place: Placement<T>,
): PackedRecords {
  // First pass: sizes, so that each array is allocated once.
  let byteLength = 0;
  let headerCount = 0;
  for (const record of records) {
    byteLength += (record.key?.length ?? 0) + (record.value?.length ?? 0);
    const headers = record.headers;
    if (headers === undefined) continue;
    for (const name in headers) {
      const value = headers[name];
      if (value === undefined) continue;
      if (isList(value)) {
        for (const v of value) {
          headerCount += 1;
          byteLength += headerLength(v);
        }
      } else {
        headerCount += 1;
        byteLength += headerLength(value);
      }
    }
  }
  const {
    meta,
    headers: headerIndex,
    bytes,
  } = allocate(records.length, headerCount, byteLength);
  const names: string[] = [];
  const nameIds = new Map<string, number>();
  let m = 0;
  let h = 0;
  let at = 0;
  const putHeader = (id: number, value: Uint8Array | string) => {
    const length = put(bytes, at, value);
    headerIndex[h] = id;
    headerIndex[h + 1] = length;
    h += 2;
    at += length;
  };
  for (const record of records) {
    const { key, value } = record;
    meta[m] = place.partition(record);
    meta[m + 1] = place.offset(record);
    meta[m + 2] = place.timestamp(record);
    meta[m + 3] = key == null ? -1 : key.length;
    meta[m + 4] = value === null ? -1 : value.length;
    if (key != null) at += put(bytes, at, key);
    if (value !== null) at += put(bytes, at, value);
    const first = h;
    const headers = record.headers;
    if (headers !== undefined) {
      for (const name in headers) {
        const value = headers[name];
        if (value === undefined) continue;
        let id = nameIds.get(name);
        if (id === undefined) {
          id = names.length;
          names.push(name);
          nameIds.set(name, id);
        }
        if (isList(value)) {
          for (const v of value) putHeader(id, v);
        } else {
          putHeader(id, value);
        }
      }
    }
    meta[m + 5] = (h - first) / 2;
    m += META_FIELDS;
  }
  return { topic, timestampType, meta, headers: headerIndex, names, bytes };
}

/**
 * The three views of a packed buffer, sized: one buffer, one transfer. Meta first
 * (8-byte aligned), then the header pairs, then the bytes.
 */
function allocate(
  recordCount: number,
  headerCount: number,
  byteLength: number,
): Pick<PackedRecords, 'meta' | 'headers' | 'bytes'> {
  const metaBytes = recordCount * META_FIELDS * 8;
  const headerBytes = headerCount * 2 * 4;
  // Uninitialised, as packing writes every byte (zeroing tens of kB per
  // invocation costs as much as the rest of the allocation), and not pooled, so
  // that it can be transferred.
  const { buffer } = Buffer.allocUnsafeSlow(
    metaBytes + headerBytes + byteLength,
  );
  return {
    meta: new Float64Array(buffer, 0, recordCount * META_FIELDS),
    headers: new Int32Array(buffer, metaBytes, headerCount * 2),
    bytes: new Uint8Array(buffer, metaBytes + headerBytes, byteLength),
  };
}

/**
 * A record held packed, as a mapping holds it between its fetch and its invocation:
 * where it sits in the buffer it arrived in, and what the mapping reads of it.
 */
export interface HeldRecord {
  readonly packed: PackedRecords;
  /** Its row in `packed.meta`. */
  readonly index: number;
  /** Where its key, then value, then header values start in `packed.bytes`. */
  readonly start: number;
  /** Its first pair in `packed.headers`. */
  readonly header: number;
  /** Its bytes in `packed.bytes`. */
  readonly byteLength: number;
  readonly partition: number;
  readonly offset: number;
  readonly timestamp: number;
  /**
   * `Buffer.byteLength(JSON.stringify(record))` of its entry in the event, computed
   * without building it: base64 is plain ASCII, numbers are their decimal digits,
   * headers are lists of small integers.
   */
  readonly size: number;
}

/**
 * The records of `packed`, in order, each handed to `hold` (which may return it, or
 * a copy with state of its own) without copying a byte: they stay in the buffer they
 * arrived in until {@link gatherRecords} packs an invocation from them.
 *
 * @example
 * ```ts
 * const held = holdRecords(packed, (record) => ({ ...record, attempts: 0 }));
 * ```
 */
export function holdRecords<T>(
  packed: PackedRecords,
  hold: (record: HeldRecord) => T,
): T[] {
  const { topic, timestampType, meta, headers, names, bytes } = packed;
  const held: T[] = new Array(meta.length / META_FIELDS);
  const nameSizes = names.map((name) => jsonStringBytes(name) + 5);
  let fixedPartition = Number.NaN;
  let fixedBytes = 0;
  let start = 0;
  let h = 0;
  for (let m = 0, i = 0; m < meta.length; m += META_FIELDS, i += 1) {
    const partition = meta[m] ?? 0;
    const offset = meta[m + 1] ?? 0;
    const timestamp = meta[m + 2] ?? 0;
    const keyLength = meta[m + 3] ?? -1;
    const valueLength = meta[m + 4] ?? -1;
    const headerCount = meta[m + 5] ?? 0;
    if (partition !== fixedPartition) {
      fixedPartition = partition;
      fixedBytes = recordFixedBytes(topic, partition, timestampType);
    }
    let size = fixedBytes + digits(offset) + digits(timestamp);
    let at = start;
    // `,"key":"…"` and `,"value":"…"`.
    if (keyLength >= 0) {
      size += 9 + base64Length(keyLength);
      at += keyLength;
    }
    if (valueLength >= 0) {
      size += 11 + base64Length(valueLength);
      at += valueLength;
    }
    const header = h;
    for (let n = 0; n < headerCount; n += 1, h += 2) {
      const length = headers[h + 1] ?? 0;
      // `{"name":[…]}`, the values' signed bytes with a comma between them.
      size += (nameSizes[headers[h] ?? 0] ?? 0) + Math.max(0, length - 1);
      for (let b = at; b < at + length; b += 1) {
        size += SIGNED_BYTE_DIGITS[bytes[b] ?? 0] ?? 0;
      }
      at += length;
    }
    // `[` and `]` around the headers, a comma between them.
    size += 2 + Math.max(0, headerCount - 1);
    held[i] = hold({
      packed,
      index: i,
      start,
      header,
      byteLength: at - start,
      partition,
      offset,
      timestamp,
      size,
    });
    start = at;
  }
  return held;
}

/**
 * Packs held records (in the order of the event) into a buffer of their own, for
 * one invocation: their rows and bytes are copied, runs of neighbours in one buffer
 * in one go.
 *
 * @example
 * ```ts
 * const packed = gatherRecords('orders.v1', 'CREATE_TIME', batch);
 * worker.postMessage(packed, transferList(packed));
 * ```
 */
export function gatherRecords(
  topic: string,
  timestampType: TimestampType,
  records: readonly HeldRecord[],
): PackedRecords {
  let byteLength = 0;
  let headerCount = 0;
  let sources: PackedRecords | Set<PackedRecords> | undefined;
  for (const record of records) {
    byteLength += record.byteLength;
    headerCount += record.packed.meta[record.index * META_FIELDS + 5] ?? 0;
    if (sources === undefined) sources = record.packed;
    else if (sources instanceof Set) sources.add(record.packed);
    else if (sources !== record.packed) {
      sources = new Set([sources, record.packed]);
    }
  }
  // Header names: the one source's list, or a merged one with each source's ids
  // mapped into it.
  let names: readonly string[] = [];
  const nameIds = new Map<PackedRecords, Int32Array>();
  if (sources instanceof Set) {
    const merged: string[] = [];
    const ids = new Map<string, number>();
    for (const source of sources) {
      nameIds.set(
        source,
        Int32Array.from(source.names, (name) => {
          let id = ids.get(name);
          if (id === undefined) {
            id = merged.length;
            merged.push(name);
            ids.set(name, id);
          }
          return id;
        }),
      );
    }
    names = merged;
  } else if (sources !== undefined) {
    names = sources.names;
  }
  const {
    meta,
    headers: headerIndex,
    bytes,
  } = allocate(records.length, headerCount, byteLength);
  let m = 0;
  let h = 0;
  let at = 0;
  // The run of bytes not copied yet: [runStart, runEnd) of runSource.
  let runSource: Uint8Array | undefined;
  let runStart = 0;
  let runEnd = 0;
  for (const record of records) {
    const source = record.packed;
    const row = record.index * META_FIELDS;
    for (let f = 0; f < META_FIELDS; f += 1)
      meta[m + f] = source.meta[row + f] ?? 0;
    m += META_FIELDS;
    const count = source.meta[row + 5] ?? 0;
    const remap = nameIds.get(source);
    for (let n = 0, s = record.header; n < count; n += 1, s += 2, h += 2) {
      const id = source.headers[s] ?? 0;
      headerIndex[h] = remap === undefined ? id : (remap[id] ?? 0);
      headerIndex[h + 1] = source.headers[s + 1] ?? 0;
    }
    if (runSource === source.bytes && runEnd === record.start) {
      runEnd += record.byteLength;
      continue;
    }
    if (runSource !== undefined) {
      bytes.set(runSource.subarray(runStart, runEnd), at);
      at += runEnd - runStart;
    }
    runSource = source.bytes;
    runStart = record.start;
    runEnd = record.start + record.byteLength;
  }
  if (runSource !== undefined)
    bytes.set(runSource.subarray(runStart, runEnd), at);
  return { topic, timestampType, meta, headers: headerIndex, names, bytes };
}

/**
 * The key of a held record: a view of its bytes, or null.
 *
 * @example
 * ```ts
 * const key = heldKey(record);
 * ```
 */
export function heldKey(record: HeldRecord): Uint8Array | null {
  const keyLength = record.packed.meta[record.index * META_FIELDS + 3] ?? -1;
  if (keyLength < 0) return null;
  return record.packed.bytes.subarray(record.start, record.start + keyLength);
}

/**
 * The buffer to transfer with `packed` (its three views share it): after the
 * transfer it is detached here.
 *
 * @example
 * ```ts
 * port.postMessage({ packed }, transferList(packed));
 * ```
 */
export function transferList(packed: PackedRecords): ArrayBuffer[] {
  const { buffer } = packed.bytes;
  return buffer instanceof ArrayBuffer ? [buffer] : [];
}

/**
 * Records in `packed`.
 *
 * @example
 * ```ts
 * recordCount(packed); // 100
 * ```
 */
export function recordCount(packed: PackedRecords): number {
  return packed.meta.length / META_FIELDS;
}

/**
 * The AWS event for the packed records (docs/aws-kafka-esm.md, Event payload):
 * `records` keyed `<topic>-<partition>`, base64 key and value, omitted when null
 * (docs/aws-kafka-esm.md, Gap 11.6), headers as one-entry objects of Java signed
 * bytes, repeated names as separate elements. Each record's fields are in the order of
 * the wire format.
 *
 * @example
 * ```ts
 * const event = kafkaEvent({ eventSourceArn, bootstrapServers: '127.0.0.1:9092' }, packed);
 * ```
 */
export function kafkaEvent(
  envelope: KafkaEnvelope,
  packed: PackedRecords,
): KafkaEvent {
  const { topic, timestampType, meta, headers, names } = packed;
  const bytes = Buffer.from(
    packed.bytes.buffer,
    packed.bytes.byteOffset,
    packed.bytes.byteLength,
  );
  const signed = new Int8Array(
    packed.bytes.buffer,
    packed.bytes.byteOffset,
    packed.bytes.byteLength,
  );
  const records: Record<string, EsmRecord[]> = {};
  let list: EsmRecord[] = [];
  let listPartition = -1;
  let at = 0;
  let h = 0;
  for (let m = 0; m < meta.length; m += META_FIELDS) {
    const partition = meta[m] ?? 0;
    const offset = meta[m + 1] ?? 0;
    const timestamp = meta[m + 2] ?? 0;
    const keyLength = meta[m + 3] ?? -1;
    const valueLength = meta[m + 4] ?? -1;
    const headerCount = meta[m + 5] ?? 0;
    let key: string | undefined;
    if (keyLength >= 0) {
      key = bytes.toString('base64', at, at + keyLength);
      at += keyLength;
    }
    let value: string | undefined;
    if (valueLength >= 0) {
      value = bytes.toString('base64', at, at + valueLength);
      at += valueLength;
    }
    const recordHeaders: Record<string, number[]>[] = [];
    for (let i = 0; i < headerCount; i += 1, h += 2) {
      const name = names[headers[h] ?? 0] ?? '';
      const length = headers[h + 1] ?? 0;
      const values: number[] = new Array(length);
      for (let i = 0; i < length; i += 1) values[i] = signed[at + i] ?? 0;
      // A computed key defines an own property, even for `__proto__`.
      recordHeaders.push({ [name]: values });
      at += length;
    }
    if (partition !== listPartition) {
      listPartition = partition;
      // A partition seen before (records out of the event's order) keeps its list.
      const name = `${topic}-${partition}`;
      list = records[name] ?? [];
      records[name] = list;
    }
    list.push(
      esmRecord(
        topic,
        partition,
        offset,
        timestamp,
        timestampType,
        key,
        value,
        recordHeaders,
      ),
    );
  }
  return {
    eventSource: 'aws:kafka',
    eventSourceArn: envelope.eventSourceArn,
    bootstrapServers: envelope.bootstrapServers,
    records,
  };
}

/** One literal per shape: the field order is the JSON order. */
function esmRecord(
  topic: string,
  partition: number,
  offset: number,
  timestamp: number,
  timestampType: TimestampType,
  key: string | undefined,
  value: string | undefined,
  headers: Record<string, number[]>[],
): EsmRecord {
  if (key !== undefined && value !== undefined) {
    return {
      topic,
      partition,
      offset,
      timestamp,
      timestampType,
      key,
      value,
      headers,
    };
  }
  if (key !== undefined) {
    return { topic, partition, offset, timestamp, timestampType, key, headers };
  }
  if (value !== undefined) {
    return {
      topic,
      partition,
      offset,
      timestamp,
      timestampType,
      value,
      headers,
    };
  }
  return { topic, partition, offset, timestamp, timestampType, headers };
}

/** Digits of a signed byte written in JSON, by unsigned value (0xC3 is -61: 3). */
const SIGNED_BYTE_DIGITS = Uint8Array.from(
  { length: 256 },
  (_, b) => String(b > 127 ? b - 256 : b).length,
);

/** Writes `value` into `bytes` at `at`; returns its length in bytes. */
function put(
  bytes: Uint8Array,
  at: number,
  value: Uint8Array | string,
): number {
  if (typeof value === 'string') {
    return UTF8.encodeInto(value, bytes.subarray(at)).written;
  }
  bytes.set(value, at);
  return value.length;
}

/**
 * The bytes of a record's JSON that do not depend on its offset, timestamp, key,
 * value and headers.
 */
function recordFixedBytes(
  topic: string,
  partition: number,
  timestampType: TimestampType,
): number {
  const empty = esmRecord(
    topic,
    partition,
    0,
    0,
    timestampType,
    undefined,
    undefined,
    [],
  );
  // Minus the two zeros and the empty header list.
  return Buffer.byteLength(JSON.stringify(empty)) - 2 - 2;
}

function base64Length(n: number): number {
  return 4 * Math.ceil(n / 3);
}

function digits(n: number): number {
  if (!Number.isSafeInteger(n) || n < 0) return JSON.stringify(n).length;
  let d = 1;
  for (let p = 10; n >= p && d < 16; p *= 10) d += 1;
  return d;
}

/** Header names repeat on every record: their JSON lengths are kept. */
const nameBytes = new Map<string, number>();

function jsonStringBytes(text: string): number {
  let bytes = nameBytes.get(text);
  if (bytes === undefined) {
    bytes = Buffer.byteLength(JSON.stringify(text));
    if (nameBytes.size < 10_000) nameBytes.set(text, bytes);
  }
  return bytes;
}

function headerLength(value: Uint8Array | string): number {
  return typeof value === 'string' ? Buffer.byteLength(value) : value.length;
}

function isList<T>(value: T | readonly T[]): value is readonly T[] {
  return Array.isArray(value);
}
