/**
 * The bytes a record takes in the event's JSON, computed without building it
 * (base64 is plain ASCII, numbers are their decimal digits, headers are lists of
 * small integers): what the 6 MB payload limit counts (docs/aws-kafka-esm.md,
 * Batching).
 */
import { Buffer } from 'node:buffer';
import { esmRecord, type TimestampType } from './kafka-event.ts';

/** Digits of a signed byte written in JSON, by unsigned value (0xC3 is -61: 3). */
export const SIGNED_BYTE_DIGITS = Uint8Array.from(
  { length: 256 },
  (_, b) => String(b > 127 ? b - 256 : b).length,
);

/**
 * The bytes of a record's JSON that do not depend on its offset, timestamp, key,
 * value and headers.
 */
export function recordFixedBytes(
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

export function base64Length(n: number): number {
  return 4 * Math.ceil(n / 3);
}

export function digits(n: number): number {
  if (!Number.isSafeInteger(n) || n < 0) return JSON.stringify(n).length;
  let d = 1;
  for (let p = 10; n >= p && d < 16; p *= 10) d += 1;
  return d;
}

/** Header names repeat on every record: their JSON lengths are kept. */
const nameBytes = new Map<string, number>();

export function jsonStringBytes(text: string): number {
  let bytes = nameBytes.get(text);
  if (bytes === undefined) {
    bytes = Buffer.byteLength(JSON.stringify(text));
    if (nameBytes.size < 10_000) nameBytes.set(text, bytes);
  }
  return bytes;
}
