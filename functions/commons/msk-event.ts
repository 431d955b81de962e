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
import * as z from 'zod';

/**
 * One header element: a one-entry object `{ "<name>": [byte, ...] }`. The bytes are
 * Java's signed bytes (-128..127), e.g. `é` arrives as `[-61, -87]`; 128..255 is also
 * accepted so that emulators emitting unsigned bytes decode the same.
 *
 * @example
 * ```ts
 * MskHeader.parse({ city: [99, 97, 102, -61, -87] });
 * ```
 */
export const MskHeader = z.record(
  z.string(),
  z.array(z.number().int().min(-128).max(255)),
);
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
  const byName = new Map<string, string>();
  for (const { key, value } of decodeHeaders(headers)) {
    byName.set(key, value.toString('utf8'));
  }
  return Object.fromEntries(byName);
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
    if (bytes !== undefined) return Buffer.from(bytes).toString('utf8');
  }
  return undefined;
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
