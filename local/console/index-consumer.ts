/**
 * The consumer of the console's order index (docs/console.md): reads every topic
 * of the model from the beginning through a consumer group of its own, deleted when
 * it stops, and hands each record to the index. A broker that cannot be reached is
 * one log line and a new attempt every 5 s.
 */
import { randomUUID } from 'node:crypto';
import { type Batch, Kafka } from 'kafkajs';
import { messageOf } from '#commons/guards.ts';
import { LOCAL_KAFKA_CLIENT } from '#platform/topic-io.ts';
import { pollUntil } from '#platform/wait.ts';
import { withDeadline } from './deadline.ts';
import type { RawRecord } from './order-index.ts';

/** How long deleting the group at stop may take before it is left behind. */
const DELETE_GROUP_MS = 10_000;
/** Pause before the consumer is built again after it gave up. */
const RESTART_MS = 5_000;

/** Options of {@link startIndexConsumer}. */
export interface IndexConsumerOptions {
  readonly brokers: readonly string[];
  readonly topics: readonly string[];
  /** Each record as it is read. */
  readonly onRecord: (record: RawRecord) => void;
  readonly log: (line: string) => void;
}

/** A running index consumer. */
export interface IndexConsumer {
  /** Leaves and deletes the consumer group; never throws. */
  stop(): Promise<void>;
}

/**
 * Reads `topics` from the beginning and goes on following them, through a consumer
 * group of its own. A broker that cannot be reached is one log line, and a new
 * attempt every 5 s; nothing is thrown at the caller.
 *
 * @example
 * ```ts
 * const consumer = startIndexConsumer({ brokers, topics, log, onRecord: (r) => index.add(...) });
 * await consumer.stop();
 * ```
 */
export function startIndexConsumer(
  options: IndexConsumerOptions,
): IndexConsumer {
  const { brokers, topics, log } = options;
  const kafka = consoleKafka(brokers);
  const groupId = `local-console-${randomUUID()}`;
  const stopSignal = Promise.withResolvers<void>();
  let stopping = false;
  let joined = false;
  let failing = false;
  const fail = (what: string, error: unknown) => {
    if (failing || stopping) return;
    failing = true;
    log(
      `[console] Kafka ${what} failed (${messageOf(error)}): the order timelines wait; retrying every ${RESTART_MS / 1000} s`,
    );
  };

  const runOnce = async (): Promise<void> => {
    const current = kafka.consumer({ groupId, maxWaitTimeInMs: 500 });
    const crashed = Promise.withResolvers<void>();
    current.on(current.events.CRASH, ({ payload }) => {
      if (payload.restart) {
        fail('read', payload.error);
        return;
      }
      crashed.reject(payload.error);
    });
    current.on(current.events.FETCH, () => {
      if (failing && !stopping) {
        failing = false;
        log('[console] Kafka is back: following the topics again');
      }
    });
    try {
      await withDeadline(current.connect(), 'connecting');
      await withDeadline(
        current.subscribe({ topics: [...topics], fromBeginning: true }),
        'subscribing',
      );
      if (stopping) return;
      joined = true;
      await withDeadline(
        current.run({
          eachBatchAutoResolve: true,
          eachBatch: async ({ batch }) => {
            for (const record of rawRecords(batch)) options.onRecord(record);
          },
        }),
        'joining',
      );
      await Promise.race([crashed.promise, stopSignal.promise]);
    } finally {
      await withDeadline(current.disconnect(), 'leaving').catch(() => {});
    }
  };

  const loop = (async () => {
    while (!stopping) {
      try {
        await runOnce();
      } catch (error) {
        fail('read', error);
      }
      if (stopping) break;
      await restartPause(stopSignal.promise);
    }
  })();

  return {
    async stop() {
      if (stopping) return loop;
      stopping = true;
      stopSignal.resolve();
      await loop;
      if (joined) await deleteGroup(kafka, groupId, log);
    },
  };
}

/** The pause before the consumer is built again, cut short by a stop. */
async function restartPause(stopped: Promise<void>): Promise<void> {
  await Promise.race([
    new Promise((resolve) => setTimeout(resolve, RESTART_MS).unref()),
    stopped,
  ]);
}

/** The console's Kafka client. */
function consoleKafka(brokers: readonly string[]): Kafka {
  return new Kafka({
    // A connection that does not open in 3 s, or a request with no answer in 10 s,
    // fails (kafkajs then retries), as in `npm run platform -- tail`.
    ...LOCAL_KAFKA_CLIENT,
    clientId: 'local-console',
    brokers: [...brokers],
  });
}

/** The records of a fetched batch, as the index reads them. */
function rawRecords(batch: Batch): RawRecord[] {
  return batch.messages.map((message) => ({
    topic: batch.topic,
    partition: batch.partition,
    offset: message.offset,
    timestamp: message.timestamp,
    key: message.key ?? null,
    value: message.value ?? null,
    headers: message.headers ?? {},
  }));
}

/**
 * Deletes the console's consumer group: the coordinator may still see it as
 * non-empty for a moment after the consumer left, so that answer is tried again
 * until the deadline. A broker that does not answer leaves it behind (one line):
 * it holds only offsets, which the broker drops after its offsets retention.
 */
async function deleteGroup(
  kafka: Kafka,
  groupId: string,
  log: (line: string) => void,
): Promise<void> {
  const admin = kafka.admin();
  try {
    await withDeadline(admin.connect(), 'connecting', DELETE_GROUP_MS);
    const deleted = await pollUntil(async () => {
      try {
        await withDeadline(
          admin.deleteGroups([groupId]),
          'deleting',
          DELETE_GROUP_MS,
        );
        return true;
      } catch (error) {
        const type = (error as { groups?: { error?: { type?: string } }[] })
          .groups?.[0]?.error?.type;
        if (type === 'GROUP_ID_NOT_FOUND') return true;
        return undefined;
      }
    }, DELETE_GROUP_MS);
    if (!deleted)
      throw new Error(`no deletion within ${DELETE_GROUP_MS / 1000} s`);
  } catch (error) {
    log(
      `[console] consumer group ${groupId} left behind (${messageOf(error)})`,
    );
  } finally {
    await withDeadline(
      admin.disconnect(),
      'disconnecting',
      DELETE_GROUP_MS,
    ).catch(() => {});
  }
}
