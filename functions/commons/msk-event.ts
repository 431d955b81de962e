/**
 * The event a Kafka event source mapping (ESM) delivers to a function, Amazon MSK or
 * self-managed, as it arrives on the wire, and the partial batch response it reads back.
 * Docs: docs/aws-kafka-esm.md, "Event payload" and "Partial batch response"; AWS:
 * https://docs.aws.amazon.com/lambda/latest/dg/with-msk-process.html and
 * https://docs.aws.amazon.com/lambda/latest/dg/kafka-retry-configurations.html
 *
 * The schemas are written here rather than taken from `@aws-lambda-powertools/parser`,
 * whose Kafka record schema rejects tombstones and throws on signed header bytes
 * (docs/aws-kafka-esm.md, Event payload).
 */
import { isUtf8 } from 'node:buffer';
import * as z from 'zod';

/** True for a header element: an object whose every value is an array of bytes. */
function isMskHeader(value: unknown): value is Record<string, number[]> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return false;
  }
  for (const bytes of Object.values(value)) {
    if (!Array.isArray(bytes)) return false;
    for (const byte of bytes) {
      if (!Number.isInteger(byte) || byte < -128 || byte > 255) return false;
    }
  }
  return true;
}

/**
 * One header element: a one-entry object `{ "<name>": [byte, ...] }`. The bytes are
 * Java's signed bytes (-128..127), e.g. `é` arrives as `[-61, -87]`; 128..255 is also
 * accepted so that emulators emitting unsigned bytes decode the same.
 *
 * One check over the whole element rather than a zod schema per byte: as
 * `z.record(z.string(), z.array(z.int()...))` the headers were most of what validating
 * an event cost (about 2.5 µs per header; docs/performance.md, Per-record cost).
 *
 * @example
 * ```ts
 * MskHeader.parse({ city: [99, 97, 102, -61, -87] });
 * ```
 */
export const MskHeader = z.custom<Record<string, number[]>>(isMskHeader, {
  error: 'must be a header { "<name>": [byte, ...] } of bytes -128..255',
});
export type MskHeader = z.infer<typeof MskHeader>;

/**
 * Present only when the ESM has a schema registry configured.
 *
 * @example
 * ```ts
 * MskSchemaMetadata.parse({ dataFormat: 'AVRO', schemaId: '1234' });
 * ```
 */
export const MskSchemaMetadata = z.object({
  dataFormat: z.string(),
  schemaId: z.string(),
});
export type MskSchemaMetadata = z.infer<typeof MskSchemaMetadata>;

/**
 * One record. `key` and `value` are base64 of the raw bytes; either may be `null` or
 * missing altogether (a tombstone has no value; docs examples omit an absent key).
 *
 * @example
 * ```ts
 * const record = MskRecord.parse(event.records['orders-0']?.[0]);
 * ```
 */
export const MskRecord = z.object({
  topic: z.string().min(1),
  partition: z.number().int().min(0),
  offset: z.number().int().min(0),
  /** Epoch milliseconds. */
  timestamp: z.number().int(),
  timestampType: z.string(),
  key: z.string().nullish(),
  value: z.string().nullish(),
  headers: z.array(MskHeader),
  keySchemaMetadata: MskSchemaMetadata.optional(),
  valueSchemaMetadata: MskSchemaMetadata.optional(),
});
export type MskRecord = z.infer<typeof MskRecord>;

/**
 * Records keyed by `"<topic>-<partition>"`, each list in offset order.
 *
 * @example
 * ```ts
 * MskRecords.parse({ 'orders-0': [] });
 * ```
 */
export const MskRecords = z.record(z.string(), z.array(MskRecord));

/**
 * The envelope: MSK carries the cluster ARN, self-managed Kafka has none.
 *
 * @example
 * ```ts
 * const result = MskEvent.safeParse(event);
 * if (result.success) Object.values(result.data.records).flat();
 * ```
 */
export const MskEvent = z.discriminatedUnion('eventSource', [
  z.object({
    eventSource: z.literal('aws:kafka'),
    eventSourceArn: z.string().min(1),
    /** One comma-separated string of `host:port`, not an array. */
    bootstrapServers: z.string(),
    records: MskRecords,
  }),
  z.object({
    eventSource: z.literal('SelfManagedKafka'),
    bootstrapServers: z.string(),
    records: MskRecords,
  }),
]);
export type MskEvent = z.infer<typeof MskEvent>;

/**
 * A decoded header: its name and raw bytes. Names may repeat.
 *
 * @example
 * ```ts
 * const header: DecodedHeader = { key: 'city', value: Buffer.from('café') };
 * ```
 */
export interface DecodedHeader {
  key: string;
  value: Buffer;
}

/**
 * Decodes the headers to bytes, in order, repeated names kept. `Buffer.from` masks each
 * number to 0..255, which turns signed bytes back into the original octets.
 *
 * @example
 * ```ts
 * decodeHeaders([{ city: [99, 97, 102, -61, -87] }])[0]?.value.toString('utf8'); // 'café'
 * ```
 */
export function decodeHeaders(headers: readonly MskHeader[]): DecodedHeader[] {
  return headers.flatMap((header) =>
    Object.entries(header).map(([key, bytes]) => ({
      key,
      value: Buffer.from(bytes),
    })),
  );
}

/**
 * The headers as UTF-8 strings by name; when a name repeats, the last value wins, as in
 * Kafka clients' `lastHeader()`.
 *
 * @example
 * ```ts
 * headerMap([{ a: [49] }, { a: [50] }]); // { a: '2' }
 * ```
 */
export function headerMap(
  headers: readonly MskHeader[],
): Readonly<Record<string, string>> {
  const byName: Record<string, string> = {};
  for (const header of headers) {
    for (const key of Object.keys(header)) {
      const text = utf8OfBytes(header[key] ?? []);
      if (key === '__proto__') {
        // Defined, not assigned: assigning __proto__ would set the prototype.
        Object.defineProperty(byName, key, {
          value: text,
          enumerable: true,
          writable: true,
          configurable: true,
        });
      } else {
        byName[key] = text;
      }
    }
  }
  return byName;
}

/**
 * One header as UTF-8, the last one when the name repeats; `undefined` when absent.
 *
 * @example
 * ```ts
 * findHeader(record.headers, 'correlation-id'); // 'c-1' or undefined
 * ```
 */
export function findHeader(
  headers: readonly MskHeader[],
  name: string,
): string | undefined {
  for (let index = headers.length - 1; index >= 0; index -= 1) {
    const bytes = headers[index]?.[name];
    if (bytes !== undefined) return utf8OfBytes(bytes);
  }
  return undefined;
}

/** Headers are short: above this, a string is built through a Buffer. */
const SHORT_HEADER = 256;

/**
 * Header bytes as UTF-8. Most header values are ASCII (ids, event types, content
 * types), which `String.fromCharCode` reads without the Buffer that costs about
 * 0.6 µs per header; anything else goes through `Buffer`, which masks signed bytes
 * back to octets and reads invalid UTF-8 as U+FFFD.
 */
function utf8OfBytes(bytes: readonly number[]): string {
  if (bytes.length <= SHORT_HEADER) {
    let ascii = true;
    for (const byte of bytes) {
      if (!(byte >= 0 && byte < 128)) {
        ascii = false;
        break;
      }
    }
    if (ascii) return String.fromCharCode(...bytes);
  }
  return Buffer.from(bytes).toString('utf8');
}

/**
 * The record key's bytes, or `null` when the key is null or missing.
 *
 * @example
 * ```ts
 * decodeKey({ ...record, key: 'b3JkZXItNDI=' })?.toString('utf8'); // 'order-42'
 * ```
 */
export function decodeKey(record: Pick<MskRecord, 'key'>): Buffer | null {
  return record.key == null ? null : Buffer.from(record.key, 'base64');
}

/**
 * The record value's bytes, or `null` for a tombstone (value null or missing).
 *
 * @example
 * ```ts
 * decodeValue({ ...record, value: null }); // null
 * ```
 */
export function decodeValue(record: Pick<MskRecord, 'value'>): Buffer | null {
  return record.value == null ? null : Buffer.from(record.value, 'base64');
}

/**
 * The value is not UTF-8 text.
 *
 * @example
 * ```ts
 * new NotUtf8Error('record value is not UTF-8');
 * ```
 */
export class NotUtf8Error extends TypeError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'NotUtf8Error';
  }
}

/**
 * The record value as UTF-8 text, or `null` for a tombstone; throws
 * {@link NotUtf8Error} when the bytes are not UTF-8 (no replacement characters, so a
 * value that is not text is not mistaken for some). `isUtf8` then `toString` costs
 * half of a `TextDecoder`'s fatal decode and creates no decoder per record.
 *
 * @example
 * ```ts
 * const text = decodeValueText(record); // '{"eventId":...}' or null
 * ```
 */
export function decodeValueText(
  record: Pick<MskRecord, 'value'>,
): string | null {
  const bytes = decodeValue(record);
  if (bytes === null) return null;
  if (!isUtf8(bytes)) {
    throw new NotUtf8Error('the bytes are not valid UTF-8');
  }
  return bytes.toString('utf8');
}

/**
 * The topic-partition identifier `"<topic>-<partition>"`, as in the `records` keys and
 * the partial batch response. Built from the record, never parsed from a key: topic
 * names contain `-` and `.`.
 *
 * @example
 * ```ts
 * topicPartition({ topic: 'order.placed.v1', partition: 3 }); // 'order.placed.v1-3'
 * ```
 */
export function topicPartition(
  record: Pick<MskRecord, 'topic' | 'partition'>,
): string {
  return `${record.topic}-${record.partition}`;
}

/**
 * One failed item of a Kafka partial batch response. Unlike SQS and Kinesis the
 * identifier is an object: `partition` is the topic-partition string, `offset` a
 * number. An identifier absent from the batch fails the whole batch.
 * https://docs.aws.amazon.com/lambda/latest/dg/kafka-retry-configurations.html
 */
export interface KafkaBatchItemFailure {
  itemIdentifier: { partition: string; offset: number };
}

/**
 * What a Kafka-triggered handler returns (needs `ReportBatchItemFailures` on the ESM).
 * The ESM re-delivers each reported partition from the reported offset on.
 *
 * @example
 * ```ts
 * const response: KafkaBatchResponse = {
 *   batchItemFailures: [{ itemIdentifier: { partition: 'orders-0', offset: 1201 } }],
 * };
 * ```
 */
export interface KafkaBatchResponse {
  batchItemFailures: KafkaBatchItemFailure[];
}
