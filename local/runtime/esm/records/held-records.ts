/**
 * Records held packed, as a mapping holds them between their fetch and their
 * invocation: no byte copied until an invocation's records are gathered into a
 * buffer of their own.
 */
import {
  base64Length,
  digits,
  jsonStringBytes,
  recordFixedBytes,
  SIGNED_BYTE_DIGITS,
} from './event-sizes.ts';
import type { TimestampType } from './kafka-event.ts';
import { allocate, META_FIELDS, type PackedRecords } from './packed-records.ts';

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
  const { names, nameIds } = headerNames(sources);
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
 * Header names of the gathered records: the one source's list, or a merged one with
 * each source's ids mapped into it.
 */
function headerNames(sources: PackedRecords | Set<PackedRecords> | undefined): {
  names: readonly string[];
  nameIds: Map<PackedRecords, Int32Array>;
} {
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
  return { names, nameIds };
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
