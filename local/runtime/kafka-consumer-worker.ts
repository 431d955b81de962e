/**
 * The Kafka consumer of one local event source mapping: the body of a worker thread
 * started by `ConsumerThread` (./kafka-consumer-thread.ts).
 *
 * It runs the kafkajs consumer (group membership, fetches, heartbeats, commits) and
 * nothing else. kafkajs decodes a fetch (up to megabytes) in one go, and while it
 * does, its thread answers nothing: on the mapping's thread, the function's answers
 * would wait, and the function with them. Here, each fetched batch is packed into
 * one buffer and transferred to the mapping, which batches, invokes, retries and
 * decides the commits, sent back here.
 */
import { setTimeout as sleepFor } from 'node:timers/promises';
import { parentPort, workerData } from 'node:worker_threads';
import { type Consumer, Kafka, logLevel } from 'kafkajs';
import {
  type PackedRecords,
  packFetched,
  type TimestampType,
  transferList,
} from './kafka-records.ts';

/** What the consumer thread is started with (`workerData`). */
export interface ConsumerSettings {
  readonly clientId: string;
  readonly brokers: readonly string[];
  readonly groupId: string;
  readonly topic: string;
  /** For a group with no committed offset: the oldest record, or the newest. */
  readonly fromBeginning: boolean;
  readonly timestampType: TimestampType;
  readonly maxWaitTimeInMs: number;
  /** How often to heartbeat while the fetch loop is held. */
  readonly heartbeatMs: number;
}

/** From the mapping to its consumer thread. */
export type ToConsumer =
  | { readonly type: 'pause'; readonly partitions: readonly number[] | 'all' }
  | { readonly type: 'resume'; readonly partitions: readonly number[] }
  | {
      readonly type: 'commit';
      readonly id: number;
      readonly offsets: readonly { partition: number; offset: number }[];
    }
  | { readonly type: 'stop' };

/** From the consumer thread to its mapping, in the order things happened. */
export type FromConsumer =
  | { readonly type: 'assigned'; readonly partitions: readonly number[] }
  | {
      readonly type: 'fetched';
      readonly partition: number;
      readonly records: PackedRecords;
    }
  | {
      readonly type: 'crashed';
      readonly message: string;
      /** kafkajs restarts the consumer itself. */
      readonly restart: boolean;
    }
  | { readonly type: 'committed'; readonly id: number; readonly error?: string }
  | { readonly type: 'stopped'; readonly error?: string };

const port = parentPort;
if (port === null)
  throw new Error('kafka-consumer-worker: not a worker thread');
const settings = workerData as ConsumerSettings;
const post = (message: FromConsumer, transfer: ArrayBuffer[] = []) =>
  port.postMessage(message, transfer);

const consumer: Consumer = new Kafka({
  clientId: settings.clientId,
  brokers: [...settings.brokers],
  logLevel: logLevel.NOTHING,
}).consumer({
  groupId: settings.groupId,
  maxWaitTimeInMs: settings.maxWaitTimeInMs,
});

const assigned = new Set<number>();
const paused = new Set<number>();
let pausedAll = false;
let stopping = false;
/** Settled, and replaced, whenever a partition resumes or the assignment changes. */
let resumed = Promise.withResolvers<void>();
const signalResumed = () => {
  resumed.resolve();
  resumed = Promise.withResolvers<void>();
};

consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
  const partitions = payload.memberAssignment[settings.topic] ?? [];
  assigned.clear();
  for (const partition of partitions) assigned.add(partition);
  // kafkajs keeps a pause across a rejoin, and the mapping forgets a revoked
  // partition: resumed here, it is fetched again should it come back.
  const revoked = [...paused].filter((partition) => !assigned.has(partition));
  if (revoked.length > 0) {
    for (const partition of revoked) paused.delete(partition);
    consumer.resume([{ topic: settings.topic, partitions: revoked }]);
  }
  signalResumed();
  post({ type: 'assigned', partitions });
});
consumer.on(consumer.events.CRASH, ({ payload }) => {
  post({
    type: 'crashed',
    message: payload.error.message,
    restart: payload.restart,
  });
});

port.on('message', (message: ToConsumer) => {
  switch (message.type) {
    case 'pause':
      pause(message.partitions);
      return;
    case 'resume':
      resume(message.partitions);
      return;
    case 'commit':
      void commit(message.id, message.offsets);
      return;
    case 'stop':
      void stop();
      return;
  }
});

function pause(partitions: readonly number[] | 'all'): void {
  if (partitions === 'all') {
    pausedAll = true;
    consumer.pause([{ topic: settings.topic }]);
    return;
  }
  // A pause sent before the mapping heard of a revocation is void.
  const current = partitions.filter((partition) => assigned.has(partition));
  if (current.length === 0) return;
  for (const partition of current) paused.add(partition);
  consumer.pause([{ topic: settings.topic, partitions: current }]);
}

function resume(partitions: readonly number[]): void {
  for (const partition of partitions) paused.delete(partition);
  if (pausedAll) return;
  consumer.resume([{ topic: settings.topic, partitions: [...partitions] }]);
  signalResumed();
}

async function commit(
  id: number,
  offsets: readonly { partition: number; offset: number }[],
): Promise<void> {
  try {
    await consumer.commitOffsets(
      offsets.map(({ partition, offset }) => ({
        topic: settings.topic,
        partition,
        offset: String(offset),
      })),
    );
    post({ type: 'committed', id });
  } catch (error) {
    post({ type: 'committed', id, error: String(error) });
  }
}

async function stop(): Promise<void> {
  stopping = true;
  signalResumed();
  try {
    await consumer.disconnect();
    post({ type: 'stopped' });
  } catch (error) {
    post({ type: 'stopped', error: String(error) });
  }
}

/**
 * With every partition paused, kafkajs sleeps its whole `maxWaitTimeInMs` before it
 * looks again, and a resume does not wake it. So the fetch loop is held here
 * instead, heartbeating, and goes on the moment a partition resumes.
 */
async function holdWhileAllPaused(
  heartbeat: () => Promise<void>,
): Promise<void> {
  while (
    !stopping &&
    (pausedAll ||
      (assigned.size > 0 &&
        [...assigned].every((partition) => paused.has(partition))))
  ) {
    const timer = new AbortController();
    await Promise.race([
      resumed.promise,
      sleepFor(settings.heartbeatMs, undefined, {
        signal: timer.signal,
      }).catch(() => {}),
    ]);
    timer.abort();
    await heartbeat();
  }
}

try {
  await consumer.connect();
  await consumer.subscribe({
    topic: settings.topic,
    fromBeginning: settings.fromBeginning,
  });
  await consumer.run({
    autoCommit: false,
    eachBatchAutoResolve: false,
    eachBatch: async ({ batch, resolveOffset, heartbeat }) => {
      const { partition, messages } = batch;
      if (messages.length > 0) {
        const records = packFetched(
          settings.topic,
          settings.timestampType,
          partition,
          messages,
        );
        post({ type: 'fetched', partition, records }, transferList(records));
      }
      // Resolving is local to kafkajs (auto-commit is off): it only moves the next
      // fetch past what the mapping now holds. The last offset resolves the whole
      // batch, skipped control records included.
      resolveOffset(batch.lastOffset());
      await holdWhileAllPaused(heartbeat);
    },
  });
} catch (error) {
  post({
    type: 'crashed',
    message: error instanceof Error ? error.message : String(error),
    restart: false,
  });
}
