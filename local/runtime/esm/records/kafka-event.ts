/**
 * The AWS event of a Kafka ESM invocation (docs/aws-kafka-esm.md, Event payload),
 * built from packed records. `kafkaEvent` is the one place the event is built, for
 * every path: a sandbox (on its own thread, so base64 and the signed header bytes
 * cost the mapping's thread nothing), a fake invoker in the tests, the one-record
 * payload of an on-failure destination. It depends on nothing but Node's Buffer, so
 * a sandbox loads it in no time.
 */
import { Buffer } from 'node:buffer';
import { META_FIELDS, type PackedRecords } from './packed-records.ts';

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
export function esmRecord(
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
