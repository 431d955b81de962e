/**
 * `npm run platform -- tail`: a topic's records, decoded, as they arrive, from the
 * local broker (or KAFKA_BROKERS), with kafkajs. It reads through a consumer group
 * of its own, deleted when it stops; every call to the broker has a deadline
 * (./topic-io.ts). Notes: docs/local-platform-cli.md.
 */
import { randomUUID } from 'node:crypto';
import { type Admin, type Consumer, Kafka, type SeekEntry } from 'kafkajs';
import { messageOf } from '#commons/guards.ts';
import { PlatformError } from './errors.ts';
import {
  CHECK_KAFKA,
  LOCAL_KAFKA_CLIENT,
  partitionCount,
  STEP_MS,
  step,
  type TopicCommand,
} from './topic-io.ts';
import { decodeRecord, formatRecord } from './topic-records.ts';
import { isRetriable, pollUntil } from './wait.ts';

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
    watchConsumer(consumer, topic, ends, stopped);
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
      options.note(followingNote(options, partitions));
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
 * Starts the first join at `ends`, and rejects `stopped` when the consumer stops
 * for good. Seeks made in the first join's listener, which runs before the first
 * fetch, are where fetching starts; a later join resumes from the committed
 * offsets.
 */
function watchConsumer(
  consumer: Consumer,
  topic: string,
  ends: readonly SeekEntry[],
  stopped: PromiseWithResolvers<void>,
): void {
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
}

/** The note saying what the tail follows, once it has joined. */
function followingNote(options: TailOptions, partitions: number): string {
  const { topic, max } = options;
  return (
    `following ${topic} (${partitions} partition${partitions === 1 ? '' : 's'}) ` +
    `from ${options.fromBeginning ? 'the beginning' : 'now on'}` +
    `${max === undefined ? '' : `, up to ${max} record${max === 1 ? '' : 's'}`}; Ctrl-C stops`
  );
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
