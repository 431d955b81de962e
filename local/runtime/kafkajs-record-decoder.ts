/**
 * A leaner record decoder for kafkajs 2.2.4, installed on the consumer thread of the
 * local event source mappings (./kafka-consumer-worker.ts) only.
 *
 * kafkajs decodes every record's offset and timestamp through its BigInt-backed
 * `Long`: the varlong timestamp delta byte by byte (an object per step), then parse,
 * add and print for both the offset and the timestamp. That is most of the ~2.4 KB
 * it allocates per record, and the reason its consumer thread spends as much time
 * in GC as it does (README, Measured). This decoder does the same arithmetic on
 * plain numbers, which is exact below 2^53, and hands back the same object: the
 * same fields, in the same order, with the same strings and the same `Buffer` views
 * (one exception, a kafkajs bug: a header named after an `Object.prototype` member,
 * such as `toString`, gets that member mixed into its values there). Anything it cannot do exactly (an offset or timestamp beyond 2^53, a timestamp
 * delta of more than 7 bytes) it leaves to kafkajs' own decoder, record by record.
 *
 * kafkajs has had no release since 2023. The replacement is tied to the one version
 * it was written against: with any other, or if kafkajs already loaded its record
 * batch decoder (which keeps a reference to the record decoder), it is not
 * installed and kafkajs decodes as it always did.
 */
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/** The kafkajs version whose internals this was written against and tested with. */
export const KAFKAJS_VERSION = '2.2.4';

const RECORD_DECODER = 'kafkajs/src/protocol/recordBatch/record/v0/decoder.js';
const BATCH_DECODER = 'kafkajs/src/protocol/recordBatch/v0/decoder.js';
const HEADER_DECODER = 'kafkajs/src/protocol/recordBatch/header/v0/decoder.js';
const TIMESTAMP_TYPES = 'kafkajs/src/protocol/timestampTypes.js';

/** What the record decoder uses of kafkajs' `Decoder` (src/protocol/decoder.js). */
export interface KafkajsDecoder {
  buffer: Buffer;
  offset: number;
  readInt8(): number;
  readVarInt(): number;
  readVarIntBytes(): Buffer | null;
}

/** What kafkajs' record batch decoder passes for each record of a batch. */
export interface RecordBatchContext {
  readonly firstOffset: string;
  readonly firstTimestamp: string;
  readonly maxTimestamp: string;
  readonly magicByte: number;
  readonly isControlBatch?: boolean;
  readonly timestampType: number;
}

/** A decoded record, as kafkajs' consumer hands it out (a `KafkaMessage`). */
export interface DecodedRecord {
  readonly magicByte: number;
  readonly attributes: number;
  readonly timestamp: string;
  readonly offset: string;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly headers: Record<string, Buffer | null | (Buffer | null)[]>;
  readonly isControlRecord: boolean;
  readonly batchContext: RecordBatchContext;
}

export type RecordDecoder = (
  decoder: KafkajsDecoder,
  batchContext?: RecordBatchContext,
) => DecodedRecord;

type HeaderDecoder = (decoder: KafkajsDecoder) => {
  key: string;
  value: Buffer | null;
};

/** Varlong bytes decoded with numbers: 7 × 7 bits stay below 2^53. */
const MAX_VARLONG_BYTES = 7;

/**
 * A record decoder that returns what `original` (kafkajs' own) returns for the same
 * bytes, and defers to it where numbers would not be exact.
 *
 * @example
 * ```ts
 * const lean = leanRecordDecoder(require(RECORD_DECODER));
 * const record = lean(new Decoder(recordBytes), batchContext);
 * ```
 */
export function leanRecordDecoder(original: RecordDecoder): RecordDecoder {
  const decodeHeader = require(HEADER_DECODER) as HeaderDecoder;
  const { LOG_APPEND_TIME } = require(TIMESTAMP_TYPES) as {
    LOG_APPEND_TIME: number;
  };
  // The batch's first offset and timestamp as numbers: parsed once per batch, as
  // every record of a batch comes with the same context object. Exact only below
  // 2^53: from there on, Number() rounds.
  let context: RecordBatchContext | undefined;
  let firstOffset = Number.NaN;
  let firstTimestamp = Number.NaN;
  let exact = false;

  return (decoder, batchContext = {} as RecordBatchContext) => {
    if (batchContext !== context) {
      context = batchContext;
      firstOffset = Number(batchContext.firstOffset);
      firstTimestamp = Number(batchContext.firstTimestamp);
      exact =
        Number.isSafeInteger(firstOffset) &&
        Number.isSafeInteger(firstTimestamp);
    }
    if (!exact) return original(decoder, batchContext);
    const start = decoder.offset;
    const attributes = decoder.readInt8();
    const timestampDelta = readTimestampDelta(decoder);
    const offset = firstOffset + decoder.readVarInt();
    const time = firstTimestamp + timestampDelta;
    // A delta over MAX_VARLONG_BYTES is NaN, so `time` is not a safe integer.
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(time)) {
      decoder.offset = start;
      return original(decoder, batchContext);
    }
    const {
      magicByte,
      isControlBatch = false,
      timestampType,
      maxTimestamp,
    } = batchContext;
    const timestamp =
      timestampType === LOG_APPEND_TIME && maxTimestamp
        ? maxTimestamp
        : String(time);
    const key = decoder.readVarIntBytes();
    const value = decoder.readVarIntBytes();
    const headers = readHeaders(decoder, decodeHeader);
    return {
      magicByte,
      attributes,
      timestamp,
      offset: String(offset),
      key,
      value,
      headers,
      isControlRecord: isControlBatch,
      batchContext,
    };
  };
}

/**
 * The record's TimestampDelta, a zigzag varlong, read with numbers; NaN (the
 * decoder past its bytes all the same) when it is longer than
 * {@link MAX_VARLONG_BYTES}, where numbers would not be exact.
 */
function readTimestampDelta(decoder: KafkajsDecoder): number {
  const { buffer } = decoder;
  let at = decoder.offset;
  let raw = 0;
  let scale = 1;
  let byte = 0;
  let count = 0;
  do {
    byte = buffer[at] ?? 0;
    at += 1;
    raw += (byte & 0x7f) * scale;
    scale *= 128;
    count += 1;
  } while (byte >= 0x80 && count < MAX_VARLONG_BYTES);
  decoder.offset = at;
  if (byte >= 0x80) return Number.NaN;
  return raw % 2 === 1 ? -(raw + 1) / 2 : raw / 2;
}

/**
 * The record's headers. A repeated name collects its values in a list, as kafkajs
 * does. Read as own properties: kafkajs reads `obj[name]`, so a header named
 * `toString` or `__proto__` gets the Object.prototype member mixed into its values
 * there.
 */
function readHeaders(
  decoder: KafkajsDecoder,
  decodeHeader: HeaderDecoder,
): DecodedRecord['headers'] {
  const headers: DecodedRecord['headers'] = {};
  const headerCount = decoder.readVarInt();
  for (let i = 0; i < headerCount; i += 1) {
    const { key: name, value: headerValue } = decodeHeader(decoder);
    const before = Object.hasOwn(headers, name) ? headers[name] : undefined;
    const after =
      before === undefined
        ? headerValue
        : Array.isArray(before)
          ? [...before, headerValue]
          : [before, headerValue];
    if (name === '__proto__') {
      // Defined, not assigned: a field, not the object's prototype.
      Object.defineProperty(headers, name, {
        value: after,
        enumerable: true,
        writable: true,
        configurable: true,
      });
    } else {
      headers[name] = after;
    }
  }
  return headers;
}

/** The decoders {@link installLeanRecordDecoder} put in place: installed once. */
const installed = new WeakSet<RecordDecoder>();

/**
 * Puts {@link leanRecordDecoder} in place of kafkajs' record decoder for this
 * thread's kafkajs. Call it before the first fetch: kafkajs loads its record batch
 * decoder, which takes the record decoder, with its first Fetch response.
 *
 * @returns whether kafkajs decodes with it: false with another kafkajs version, or
 *   when kafkajs loaded its record batch decoder before the first call.
 *
 * @example
 * ```ts
 * installLeanRecordDecoder();
 * const consumer = new Kafka({ brokers }).consumer({ groupId });
 * ```
 */
export function installLeanRecordDecoder(): boolean {
  const { version } = require('kafkajs/package.json') as { version: string };
  if (version !== KAFKAJS_VERSION) return false;
  const path = require.resolve(RECORD_DECODER);
  const current = require(path) as RecordDecoder;
  if (installed.has(current)) return true;
  // Too late: the batch decoder holds kafkajs' own.
  if (require.cache[require.resolve(BATCH_DECODER)] !== undefined) return false;
  const cached = require.cache[path];
  if (cached === undefined) return false;
  const lean = leanRecordDecoder(current);
  installed.add(lean);
  cached.exports = lean;
  return true;
}
