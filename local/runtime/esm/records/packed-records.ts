/**
 * The records of one Kafka ESM invocation, packed into three typed arrays so that
 * they cross to a function's sandbox (a worker thread) by transfer, not by copy or
 * structured clone: the consumer thread packs each fetch, a mapping gathers a batch
 * from them (./held-records.ts), a sandbox builds the event from it
 * (./kafka-event.ts).
 */
import { Buffer } from 'node:buffer';
import type { TimestampType } from './kafka-event.ts';

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

/** Numbers per record in `PackedRecords.meta`. */
export const META_FIELDS = 6;
const UTF8 = new TextEncoder();

/**
 * Packs `records` (grouped by partition, partitions ascending, offsets ascending
 * within each: the order of the event) for `kafkaEvent` (./kafka-event.ts).
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
export function allocate(
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

function headerLength(value: Uint8Array | string): number {
  return typeof value === 'string' ? Buffer.byteLength(value) : value.length;
}

function isList<T>(value: T | readonly T[]): value is readonly T[] {
  return Array.isArray(value);
}
