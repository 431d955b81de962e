/**
 * `npm run platform -- produce` and `tail`: records into and out of a topic of the
 * local broker (or of KAFKA_BROKERS), with kafkajs. Every call to the broker has a
 * deadline; a missing topic is an error naming the fix, never an auto-created topic
 * (auto-creation is off, as on MSK). `tail` reads through a consumer group of its own,
 * deleted when it stops. Notes: docs/local-platform-cli.md.
 */
import { randomUUID } from 'node:crypto';
import { createInterface } from 'node:readline';
import { type Admin, Kafka, type KafkaConfig, logLevel } from 'kafkajs';
import { messageOf } from '#commons/guards.ts';
import { PlatformError } from './errors.ts';
import {
  decodeRecord,
  formatRecord,
  type LineFormat,
  type OutgoingRecord,
  parseRecordLine,
} from './topic-records.ts';
import { isRetriable, pollUntil } from './wait.ts';

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
const STEP_MS = 30_000;

/** The fix for a broker that cannot be reached, or fails. */
const CHECK_KAFKA =
  "check the broker with 'npm run platform -- status'; start one with 'npm run dev' " +
  "or 'npm run platform -- start', or set KAFKA_BROKERS to a running broker";

/** What {@link produceRecords} and {@link tailTopic} both need. */
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

/** Options for {@link tailTopic}. */
export interface TailOptions extends TopicCommand {
  /** Every record in the topic first; else only those produced from now on. */
  readonly fromBeginning: boolean;
  /** Stop after this many records; undefined follows until `signal`. */
  readonly max?: number;
  /** One JSON object a line (TailedRecord) instead of text for a person. */
  readonly json: boolean;
  /** Stops the tail (Ctrl-C). */
  readonly signal: AbortSignal;
}

/**
 * Prints a topic's records, decoded, as they arrive, until `max` records or `signal`.
 * It reads through a consumer group of its own (kafkajs needs one), deleted on the
 * way out, so that no group is left behind. Without `fromBeginning` it starts at the
 * partitions' ends as they were when it was called: a record produced after the
 * call is printed, however long the group takes to join.
 *
 * @example
 * ```ts
 * await tailTopic({ brokers, topic: 'orders.v1', fromBeginning: true, max: 1,
 *   json: true, out, note, signal: AbortSignal.timeout(60_000) });
 * ```
 */
export async function tailTopic(options: TailOptions): Promise<number> {
  const { brokers, topic, max, json, out, signal } = options;
  const kafka = new Kafka({
    ...LOCAL_KAFKA_CLIENT,
    clientId: 'local-platform-tail',
    brokers: [...brokers],
  });
  const admin = kafka.admin();
  // Named after the topic, so that a person listing groups sees whose it is.
  const groupId = `platform-tail-${topic}-${randomUUID()}`;
  const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 1_000 });
  const stopped = Promise.withResolvers<void>();
  // A crash before the wait below is seen there, not as an unhandled rejection.
  stopped.promise.catch(() => {});
  const stop = () => stopped.resolve();
  const interrupted = () => {
    options.note(
      'stopping: leaving and deleting the consumer group (Ctrl-C again exits at once)',
    );
    stop();
  };
  signal.addEventListener('abort', interrupted, { once: true });
  if (signal.aborted) interrupted();
  let printed = 0;
  let joining = false;
  const leave = async (): Promise<void> => {
    signal.removeEventListener('abort', interrupted);
    try {
      await step(consumer.disconnect(), 'leaving the consumer group', brokers);
      if (joining) await deleteGroup(admin, groupId);
    } finally {
      await step(admin.disconnect(), 'disconnecting', brokers);
    }
  };
  try {
    await step(admin.connect(), 'connecting', brokers);
    const partitions = await partitionCount(admin, topic, brokers);
    const ends = options.fromBeginning
      ? []
      : await step(
          admin.fetchTopicOffsets(topic),
          `reading the ends of ${topic}`,
          brokers,
        );
    // Seeks made in the first join's listener, which runs before the first fetch,
    // are where fetching starts; a later join resumes from the committed offsets.
    let joined = false;
    consumer.on(consumer.events.GROUP_JOIN, () => {
      if (joined) return;
      joined = true;
      for (const { partition, offset } of ends) {
        consumer.seek({ topic, partition, offset });
      }
    });
    consumer.on(consumer.events.CRASH, ({ payload }) => {
      if (payload.restart) return;
      stopped.reject(
        new PlatformError(
          `the consumer of ${topic} stopped (${payload.error.message})`,
          CHECK_KAFKA,
          { cause: payload.error },
        ),
      );
    });
    await step(consumer.connect(), 'connecting', brokers);
    await step(
      consumer.subscribe({ topic, fromBeginning: options.fromBeginning }),
      `subscribing to ${topic}`,
      brokers,
    );
    if (!signal.aborted) {
      joining = true;
      await step(
        consumer.run({
          eachMessage: async ({ partition, message }) => {
            if (max !== undefined && printed >= max) return;
            const record = decodeRecord(topic, partition, message);
            out(json ? JSON.stringify(record) : formatRecord(record));
            printed += 1;
            if (printed === max) stop();
          },
        }),
        `joining a consumer group for ${topic}`,
        brokers,
      );
      options.note(
        `following ${topic} (${partitions} partition${partitions === 1 ? '' : 's'}) ` +
          `from ${options.fromBeginning ? 'the beginning' : 'now on'}` +
          `${max === undefined ? '' : `, up to ${max} record${max === 1 ? '' : 's'}`}; Ctrl-C stops`,
      );
      await stopped.promise;
    }
  } catch (error) {
    // The first failure is the one to report; the group's, if any, is secondary.
    await leave().catch(() => {});
    throw error;
  }
  await leave();
  return printed;
}

/**
 * An AbortSignal that aborts on the first Ctrl-C (SIGINT), SIGTERM, or a closed stdout
 * (`tail ... | head`); a second signal exits at once.
 *
 * @example
 * ```ts
 * await tailTopic({ ...options, signal: stopSignal() });
 * ```
 */
export function stopSignal(): AbortSignal {
  const controller = new AbortController();
  const onSignal = () => {
    if (controller.signal.aborted) process.exit(130);
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
    controller.abort();
  });
  return controller.signal;
}

/** The number of partitions of a topic, or a one-line error with the fix if it is missing. */
async function partitionCount(
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
 * Deletes the tail's consumer group: it is empty once the consumer has left, which
 * the coordinator may take a moment to see (NON_EMPTY_GROUP), so that answer, like a
 * retriable one, is tried again until the deadline. A group that was never created
 * (GROUP_ID_NOT_FOUND) is as good as deleted.
 */
async function deleteGroup(admin: Admin, groupId: string): Promise<void> {
  let last: unknown;
  const deleted = await pollUntil(async () => {
    try {
      await admin.deleteGroups([groupId]);
      return true;
    } catch (error) {
      const groups = (error as { groups?: { error?: { type?: string } }[] })
        .groups;
      const type = groups?.[0]?.error?.type;
      if (type === 'GROUP_ID_NOT_FOUND') return true;
      if (
        type !== 'NON_EMPTY_GROUP' &&
        !isRetriable(groups?.[0]?.error ?? error)
      ) {
        throw error;
      }
      last = error;
      return undefined;
    }
  }, STEP_MS);
  if (!deleted) {
    throw new PlatformError(
      `the consumer group ${groupId} could not be deleted within ${STEP_MS / 1000} s ` +
        `(${last === undefined ? 'no answer' : messageOf(last)})`,
      'it holds only the offsets tail reached; the broker drops them after offsets.retention.minutes (7 days)',
    );
  }
}

/**
 * `call`, or a PlatformError naming `what` and the brokers when it fails or has no
 * answer within {@link STEP_MS} (kafkajs' own timeouts and retries come first).
 */
async function step<T>(
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
