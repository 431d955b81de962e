/**
 * The Kafka event of a mapping's batches (docs/aws-kafka-esm.md, Event payload): its
 * envelope, the topic's timestamp type, the records in event order, and the sizes
 * that the 6 MB payload limit counts.
 */
import type { Admin } from 'kafkajs';
import { gatherRecords, type HeldRecord } from './records/held-records.ts';
import {
  type KafkaEnvelope,
  type KafkaEvent,
  kafkaEvent,
  type TimestampType,
} from './records/kafka-event.ts';
import type { PackedRecords } from './records/packed-records.ts';

/**
 * docs/aws-kafka-esm.md, Batching: the invocation payload limit, measured on the
 * serialized event.
 *
 * @example
 * ```ts
 * Buffer.byteLength(JSON.stringify(event)) <= MAX_PAYLOAD_BYTES;
 * ```
 */
export const MAX_PAYLOAD_BYTES = 6 * 1024 * 1024;

/** The MSK cluster ARN of a local mapping's events: clearly not a real one. */
export const DEFAULT_EVENT_SOURCE_ARN =
  'arn:aws:kafka:us-east-1:000000000000:cluster/local/00000000-0000-0000-0000-000000000000-1';

/**
 * The events of one mapping: one topic, one envelope, the topic's timestamp type
 * (read at start).
 *
 * @example
 * ```ts
 * const events = new BatchEvents(topic, { eventSourceArn, bootstrapServers });
 * events.event(records); // the aws:kafka event the function gets
 * ```
 */
export class BatchEvents {
  readonly #topic: string;
  readonly envelope: KafkaEnvelope;
  /** Set at start from the topic's configuration ({@link topicTimestampType}). */
  timestampType: TimestampType = 'CREATE_TIME';
  /** Envelope bytes of an event with no records. */
  readonly envelopeBytes: number;

  constructor(topic: string, envelope: KafkaEnvelope) {
    this.#topic = topic;
    this.envelope = envelope;
    this.envelopeBytes = Buffer.byteLength(JSON.stringify(this.event([])));
  }

  /** The records packed for a sandbox, in event order. */
  pack(records: readonly HeldRecord[]): PackedRecords {
    return gatherRecords(
      this.#topic,
      this.timestampType,
      inEventOrder(records),
    );
  }

  /** The event of these records, built here (not in a sandbox). */
  event(records: readonly HeldRecord[]): KafkaEvent {
    return kafkaEvent(this.envelope, this.pack(records));
  }

  /** Bytes of `"<topic>-<p>":[]` in the event. */
  partitionKeyBytes(partition: number): number {
    return Buffer.byteLength(`"${this.#topic}-${partition}":[]`);
  }
}

/**
 * docs/aws-kafka-esm.md, Event payload: the topic's `message.timestamp.type` decides
 * `timestampType` (kafkajs does not expose the batch attribute); the broker default is
 * CreateTime.
 */
export async function topicTimestampType(
  admin: Admin,
  topic: string,
): Promise<TimestampType> {
  const { resources } = await admin.describeConfigs({
    includeSynonyms: false,
    resources: [
      { type: 2, name: topic, configNames: ['message.timestamp.type'] },
    ],
  });
  const value = resources[0]?.configEntries.find(
    (entry) => entry.configName === 'message.timestamp.type',
  )?.configValue;
  return value === 'LogAppendTime' ? 'LOG_APPEND_TIME' : 'CREATE_TIME';
}

/**
 * The event's order: partitions ascending, offsets ascending within each. A batch
 * holds each partition's records in offset order, one partition after the other.
 */
function inEventOrder<T extends HeldRecord>(
  records: readonly T[],
): readonly T[] {
  for (let i = 1; i < records.length; i += 1) {
    if ((records[i]?.partition ?? 0) < (records[i - 1]?.partition ?? 0)) {
      return [...records].sort((a, b) => a.partition - b.partition);
    }
  }
  return records;
}
