/**
 * Test helpers that turn records actually read from the broker into the event AWS
 * delivers to a Kafka-triggered Lambda (docs/aws-kafka-esm.md, Event payload): records
 * keyed `<topic>-<partition>` in offset order, base64 key and value, headers as arrays
 * of signed bytes, `bootstrapServers` as one string.
 */
import { randomUUID } from 'node:crypto';
import { Kafka, type KafkaMessage, logLevel } from 'kafkajs';
import { pollUntil } from '#platform/wait.ts';
import { CONSUMED_MS } from './deadlines.ts';

export interface ReadRecord {
  readonly topic: string;
  readonly partition: number;
  readonly message: KafkaMessage;
}

/**
 * Reads records of a topic from the beginning, in a fresh consumer group, until
 * `until` says there are enough (deadline 30 s). Returns them per partition in order.
 *
 * @example
 * ```ts
 * const records = await readRecords(brokers, 'order.placed.v1', (r) => r.some(isMine));
 * ```
 */
export async function readRecords(
  brokers: readonly string[],
  topic: string,
  until: (records: readonly ReadRecord[]) => boolean,
  timeoutMs = CONSUMED_MS,
): Promise<ReadRecord[]> {
  const kafka = new Kafka({
    clientId: 'test-reader',
    brokers: [...brokers],
    logLevel: logLevel.NOTHING,
  });
  const consumer = kafka.consumer({ groupId: `test-reader-${randomUUID()}` });
  const records: ReadRecord[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ topic: t, partition, message }) => {
        records.push({ topic: t, partition, message });
      },
    });
    await pollUntil(() => (until(records) ? true : undefined), timeoutMs);
    return records;
  } finally {
    await consumer.disconnect();
  }
}

/** Records every record of some topics, from the beginning, in one consumer group. */
export interface TopicRecorder {
  /** Waits (deadline 30 s) until `topic` holds records matching `until`; returns the topic's records. */
  waitFor(
    topic: string,
    until: (records: readonly ReadRecord[]) => boolean,
  ): Promise<ReadRecord[]>;
  /** Every record of `topic` up to its end offsets at the time of the call. */
  all(topic: string): Promise<ReadRecord[]>;
  stop(): Promise<void>;
}

/**
 * Starts one consumer over several topics that keeps every record it reads, so a test
 * file pays for one consumer-group join instead of one per read.
 *
 * @example
 * ```ts
 * const recorder = await recordTopics(brokers, ['order.placed.v1']);
 * const mine = await recorder.waitFor('order.placed.v1', (r) => r.some(isMine));
 * ```
 */
export async function recordTopics(
  brokers: readonly string[],
  topics: readonly string[],
): Promise<TopicRecorder> {
  const kafka = new Kafka({
    clientId: 'test-recorder',
    brokers: [...brokers],
    logLevel: logLevel.NOTHING,
  });
  const consumer = kafka.consumer({
    groupId: `test-recorder-${randomUUID()}`,
    maxWaitTimeInMs: 100,
  });
  const byTopic = new Map<string, ReadRecord[]>(topics.map((t) => [t, []]));
  await consumer.connect();
  await consumer.subscribe({ topics: [...topics], fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ topic, partition, message }) => {
      byTopic.get(topic)?.push({ topic, partition, message });
    },
  });
  const recorded = (topic: string) => byTopic.get(topic) ?? [];
  const waitFor = async (
    topic: string,
    until: (records: readonly ReadRecord[]) => boolean,
  ) => {
    const ok = await pollUntil(
      () => (until(recorded(topic)) ? true : undefined),
      CONSUMED_MS,
    );
    if (!ok) {
      throw new Error(
        `${topic}: the records never matched (${recorded(topic).length} seen)`,
      );
    }
    return [...recorded(topic)];
  };
  return {
    waitFor,
    async all(topic) {
      const admin = kafka.admin();
      await admin.connect();
      const ends = await admin
        .fetchTopicOffsets(topic)
        .finally(() => admin.disconnect());
      return waitFor(topic, (records) =>
        ends.every(
          (end) =>
            Number(end.high) === 0 ||
            records.some(
              (r) =>
                r.partition === end.partition &&
                Number(r.message.offset) >= Number(end.high) - 1,
            ),
        ),
      );
    },
    stop: () => consumer.disconnect(),
  };
}

/** Java's signed bytes, as AWS puts header values in the event. */
function signedBytes(value: Buffer): number[] {
  return [...value].map((byte) => (byte > 127 ? byte - 256 : byte));
}

/**
 * The MSK event AWS would deliver for these records.
 *
 * @example
 * ```ts
 * await handler(mskEvent(brokers, records), context);
 * ```
 */
export function mskEvent(
  brokers: readonly string[],
  records: readonly ReadRecord[],
): Record<string, unknown> {
  const byPartition: Record<string, unknown[]> = {};
  const sorted = [...records].sort(
    (a, b) =>
      a.partition - b.partition ||
      Number(a.message.offset) - Number(b.message.offset),
  );
  for (const { topic, partition, message } of sorted) {
    const key = `${topic}-${partition}`;
    byPartition[key] ??= [];
    byPartition[key].push({
      topic,
      partition,
      offset: Number(message.offset),
      timestamp: Number(message.timestamp),
      timestampType: 'CREATE_TIME',
      ...(message.key ? { key: message.key.toString('base64') } : {}),
      ...(message.value ? { value: message.value.toString('base64') } : {}),
      headers: Object.entries(message.headers ?? {}).flatMap(([name, value]) =>
        (Array.isArray(value) ? value : [value])
          .filter((v) => v !== undefined)
          .map((v) => ({
            [name]: signedBytes(
              Buffer.isBuffer(v) ? v : Buffer.from(String(v)),
            ),
          })),
      ),
    });
  }
  return {
    eventSource: 'aws:kafka',
    eventSourceArn:
      'arn:aws:kafka:us-east-1:111122223333:cluster/local/00000000-0000-0000-0000-000000000000-1',
    bootstrapServers: brokers.join(','),
    records: byPartition,
  };
}

/** A Lambda context good enough for handlers under test. */
export function lambdaContext(functionName: string, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  return {
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:us-east-1:111122223333:function:${functionName}`,
    memoryLimitInMB: '512',
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: 'local',
    callbackWaitsForEmptyEventLoop: false,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => {},
    fail: () => {},
    succeed: () => {},
  };
}
