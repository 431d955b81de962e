import { createInterface } from 'node:readline';
import { type Admin, Kafka, type KafkaConfig, logLevel } from 'kafkajs';
import { messageOf } from '#commons/guards.ts';
import { PlatformError } from './errors.ts';
import {
  type LineFormat,
  type OutgoingRecord,
  parseRecordLine,
} from './topic-records.ts';

/**
 * The clients' settings: a connection that does not open in 3 s, or a request that
 * gets no answer in 10 s, fails (kafkajs then retries, 3 times), so that a stopped or
 * frozen broker is an error within {@link STEP_MS}, not a hang.
 */
export const LOCAL_KAFKA_CLIENT: Omit<KafkaConfig, 'brokers' | 'clientId'> = {
  logLevel: logLevel.NOTHING,
  connectionTimeout: 3_000,
  requestTimeout: 10_000,
  retry: { retries: 3 },
};

/** The deadline of each step: connecting, reading metadata, one send, a group's deletion. */
export const STEP_MS = 30_000;

/** The fix for a broker that cannot be reached, or fails. */
export const CHECK_KAFKA =
  "check the broker with 'npm run platform -- status'; start one with 'npm run dev' " +
  "or 'npm run platform -- start', or set KAFKA_BROKERS to a running broker";

/** What {@link produceRecords} and `tailTopic` (./topic-tail.ts) both need. */
export interface TopicCommand {
  /** Bootstrap servers, `host:port`. */
  readonly brokers: readonly string[];
  readonly topic: string;
  /** Prints one result to stdout. */
  readonly out: (line: string) => void;
  /** Prints a note for the person at the terminal to stderr. */
  readonly note: (line: string) => void;
}

/** Options for {@link produceRecords}. */
export interface ProduceOptions extends TopicCommand {
  /** The records, sent one after the other, in order. */
  readonly records: Iterable<OutgoingRecord> | AsyncIterable<OutgoingRecord>;
  /** The partition of every record; undefined lets the key choose (murmur2, as Java). */
  readonly partition?: number;
}

/**
 * Produces records one at a time (acks from all replicas, idempotent) and prints each
 * one's topic, partition and offset once the broker has it. Resolves with the count.
 * A record that fails stops the command: those printed were produced, that one is
 * unconfirmed (it may have been written), the rest were not sent.
 *
 * @example
 * ```ts
 * await produceRecords({ brokers, topic: 'orders.v1', out, note,
 *   records: [{ key: 'o-1', value: '{"total":5}', headers: {} }] });
 * // prints 'orders.v1  partition 0  offset 7'
 * ```
 */
export async function produceRecords(options: ProduceOptions): Promise<number> {
  const { brokers, topic, partition, out } = options;
  const kafka = new Kafka({
    ...LOCAL_KAFKA_CLIENT,
    clientId: 'local-platform-produce',
    brokers: [...brokers],
  });
  const admin = kafka.admin();
  const producer = kafka.producer({
    allowAutoTopicCreation: false,
    idempotent: true,
  });
  let produced = 0;
  try {
    await step(admin.connect(), 'connecting', brokers);
    const partitions = await partitionCount(admin, topic, brokers);
    if (partition !== undefined && partition >= partitions) {
      throw new PlatformError(
        `topic ${topic} has no partition ${partition} (it has ${partitions}: 0-${partitions - 1})`,
        'pick one of those, or leave out --partition to let the key choose',
      );
    }
    await step(producer.connect(), 'connecting', brokers);
    for await (const record of options.records) {
      const [sent] = await step(
        producer.send({
          topic,
          acks: -1,
          timeout: 10_000,
          messages: [{ ...record, partition }],
        }),
        `sending record ${produced + 1}`,
        brokers,
      ).catch((error: PlatformError) => {
        // A send without an answer may still have been written: say so.
        throw new PlatformError(
          `${error.message}: it is unconfirmed, the ${produced} before it were produced`,
          `${error.fix}; then see with 'npm run platform -- tail ${topic} --from-beginning' ` +
            'whether it arrived, and send the rest again',
          { cause: error },
        );
      });
      produced += 1;
      out(`${topic}  partition ${sent?.partition}  offset ${sent?.baseOffset}`);
    }
  } finally {
    await Promise.allSettled([
      step(producer.disconnect(), 'disconnecting', brokers),
      step(admin.disconnect(), 'disconnecting', brokers),
    ]);
  }
  if (produced === 0) options.note('no records were given: nothing produced');
  return produced;
}

/**
 * The records of a stream of lines (stdin), read as they come: blank lines are
 * skipped; a line that is not a record throws, naming its number.
 *
 * @example
 * ```ts
 * const records = readRecords(process.stdin, 'json-lines', { key: null, value: null, headers: {} });
 * ```
 */
export async function* readRecords(
  input: NodeJS.ReadableStream,
  format: LineFormat,
  defaults: OutgoingRecord,
): AsyncGenerator<OutgoingRecord> {
  let lineNumber = 0;
  for await (const line of createInterface({ input, crlfDelay: Infinity })) {
    lineNumber += 1;
    const record = parseRecordLine(line, format, lineNumber, defaults);
    if (record) yield record;
  }
}

/** The number of partitions of a topic, or a one-line error with the fix if it is missing. */
export async function partitionCount(
  admin: Admin,
  topic: string,
  brokers: readonly string[],
): Promise<number> {
  const topics = await step(admin.listTopics(), 'listing the topics', brokers);
  if (!topics.includes(topic)) {
    throw new PlatformError(
      `topic ${topic} does not exist (topic auto-creation is off, as on MSK)`,
      `create it with 'npm run platform -- create-topic ${topic} [--partitions N]', ` +
        "or run 'npm run dev', which creates the stack's topics",
    );
  }
  const metadata = await step(
    admin.fetchTopicMetadata({ topics: [topic] }),
    `reading the metadata of ${topic}`,
    brokers,
  );
  return metadata.topics[0]?.partitions.length ?? 0;
}

/**
 * `call`, or a PlatformError naming `what` and the brokers when it fails or has no
 * answer within {@link STEP_MS} (kafkajs' own timeouts and retries come first).
 */
export async function step<T>(
  call: Promise<T>,
  what: string,
  brokers: readonly string[],
): Promise<T> {
  const kafka = `Kafka at ${brokers.join(',')}`;
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new PlatformError(
            `${kafka} gave no answer while ${what} within ${STEP_MS / 1000} s`,
            CHECK_KAFKA,
          ),
        ),
      STEP_MS,
    );
  });
  try {
    return await Promise.race([call, deadline]);
  } catch (error) {
    if (error instanceof PlatformError) throw error;
    throw new PlatformError(
      `${kafka} failed while ${what} (${messageOf(error)})`,
      CHECK_KAFKA,
      { cause: error },
    );
  } finally {
    clearTimeout(timer);
  }
}
