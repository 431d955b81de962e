/**
 * The Kafka consumers of local event source mappings: the body of the worker thread
 * started by `ConsumerThread` (./kafka-consumer-thread.ts), one kafkajs consumer per
 * mapping, each under the id the thread gave it.
 *
 * It runs the kafkajs consumers (group membership, fetches, heartbeats, commits) and
 * nothing else. kafkajs decodes a fetch (up to megabytes) in one go, and while it
 * does, its thread answers nothing: on the mappings' thread, the function's answers
 * would wait, and the function with them. Here, each fetched batch is packed into
 * one buffer and transferred to its mapping, which batches, invokes, retries and
 * decides the commits, sent back here. kafkajs decodes records here with the lean
 * record decoder (./kafkajs-record-decoder.ts): about half its CPU per record.
 */
import { setTimeout as sleepFor } from 'node:timers/promises';
import { type MessagePort, parentPort } from 'node:worker_threads';
import { type Consumer, Kafka, logLevel } from 'kafkajs';
import { messageOf } from '#commons/guards.ts';
import type { TimestampType } from './esm/records/kafka-event.ts';
import {
  type PackedRecords,
  packFetched,
  transferList,
} from './esm/records/packed-records.ts';
import { installLeanRecordDecoder } from './kafkajs-record-decoder.ts';

/** What one mapping's consumer is started with. */
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

/** From a mapping to its consumer. */
export type ToConsumer =
  | { readonly type: 'pause'; readonly partitions: readonly number[] | 'all' }
  | { readonly type: 'resume'; readonly partitions: readonly number[] }
  | {
      readonly type: 'commit';
      readonly commit: number;
      readonly offsets: readonly { partition: number; offset: number }[];
    }
  | { readonly type: 'stop' };

/** From a consumer to its mapping, in the order things happened. */
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
  | {
      readonly type: 'committed';
      readonly commit: number;
      readonly error?: string;
    }
  | { readonly type: 'stopped'; readonly error?: string };

/** To the thread: start a consumer under a new id, or tell one what to do. */
export type ToThread =
  | {
      readonly type: 'start';
      readonly consumer: number;
      readonly settings: ConsumerSettings;
    }
  | (ToConsumer & { readonly consumer: number });

/** From the thread: what a consumer says, under its id. */
export type FromThread = FromConsumer & { readonly consumer: number };

if (parentPort === null) {
  throw new Error('kafka-consumer-worker: not a worker thread');
}
const port: MessagePort = parentPort;

// Before the first fetch, which loads kafkajs' record batch decoder. Where it cannot
// be installed (another kafkajs version), kafkajs decodes as it always did.
installLeanRecordDecoder();

/** The running consumers, by id: each one's commands go to its handler. */
const consumers = new Map<number, (message: ToConsumer) => void>();

port.on('message', (message: ToThread) => {
  if (message.type === 'start') {
    consumers.set(
      message.consumer,
      startConsumer(message.consumer, message.settings),
    );
    return;
  }
  // A consumer that has stopped is forgotten here. Its 'stopped' went out before
  // any answer to a later command could, so its side of the thread has already
  // failed what it still waited for (ConsumerThread).
  consumers.get(message.consumer)?.(message);
});

/** Runs one mapping's consumer; returns what handles the mapping's commands. */
function startConsumer(
  id: number,
  settings: ConsumerSettings,
): (message: ToConsumer) => void {
  const mapping = new MappingConsumer(id, settings);
  mapping.run().catch((error: unknown) => {
    mapping.post({
      type: 'crashed',
      message: messageOf(error),
      restart: false,
    });
  });
  return (message) => mapping.handle(message);
}

/**
 * One mapping's kafkajs consumer: its assignment, what the mapping paused, and the
 * mapping's commands.
 */
class MappingConsumer {
  private readonly id: number;
  private readonly settings: ConsumerSettings;
  private readonly consumer: Consumer;
  private readonly assigned = new Set<number>();
  private readonly paused = new Set<number>();
  private pausedAll = false;
  private stopping = false;
  /** Settled, and replaced, whenever a partition resumes or the assignment changes. */
  private resumed = Promise.withResolvers<void>();

  constructor(id: number, settings: ConsumerSettings) {
    this.id = id;
    this.settings = settings;
    const consumer: Consumer = new Kafka({
      clientId: settings.clientId,
      brokers: [...settings.brokers],
      logLevel: logLevel.NOTHING,
    }).consumer({
      groupId: settings.groupId,
      maxWaitTimeInMs: settings.maxWaitTimeInMs,
    });
    this.consumer = consumer;

    consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
      const partitions = payload.memberAssignment[settings.topic] ?? [];
      this.assigned.clear();
      for (const partition of partitions) this.assigned.add(partition);
      // kafkajs keeps a pause across a rejoin, and the mapping forgets a revoked
      // partition: resumed here, it is fetched again should it come back.
      const revoked = [...this.paused].filter(
        (partition) => !this.assigned.has(partition),
      );
      if (revoked.length > 0) {
        for (const partition of revoked) this.paused.delete(partition);
        consumer.resume([{ topic: settings.topic, partitions: revoked }]);
      }
      this.signalResumed();
      this.post({ type: 'assigned', partitions });
    });
    consumer.on(consumer.events.CRASH, ({ payload }) => {
      this.post({
        type: 'crashed',
        message: payload.error.message,
        restart: payload.restart,
      });
    });
  }

  post(message: FromConsumer, transfer: ArrayBuffer[] = []): void {
    port.postMessage({ ...message, consumer: this.id }, transfer);
  }

  /** Carries out one of the mapping's commands. */
  handle(message: ToConsumer): void {
    switch (message.type) {
      case 'pause':
        this.pause(message.partitions);
        return;
      case 'resume':
        this.resume(message.partitions);
        return;
      case 'commit':
        void this.commit(message.commit, message.offsets);
        return;
      case 'stop':
        void this.stop();
        return;
    }
  }

  private signalResumed(): void {
    this.resumed.resolve();
    this.resumed = Promise.withResolvers<void>();
  }

  private pause(partitions: readonly number[] | 'all'): void {
    const { consumer, settings } = this;
    if (partitions === 'all') {
      this.pausedAll = true;
      consumer.pause([{ topic: settings.topic }]);
      return;
    }
    // A pause sent before the mapping heard of a revocation is void.
    const current = partitions.filter((partition) =>
      this.assigned.has(partition),
    );
    if (current.length === 0) return;
    for (const partition of current) this.paused.add(partition);
    consumer.pause([{ topic: settings.topic, partitions: current }]);
  }

  private resume(partitions: readonly number[]): void {
    for (const partition of partitions) this.paused.delete(partition);
    if (this.pausedAll) return;
    this.consumer.resume([
      { topic: this.settings.topic, partitions: [...partitions] },
    ]);
    this.signalResumed();
  }

  private async commit(
    commitId: number,
    offsets: readonly { partition: number; offset: number }[],
  ): Promise<void> {
    try {
      await this.consumer.commitOffsets(
        offsets.map(({ partition, offset }) => ({
          topic: this.settings.topic,
          partition,
          offset: String(offset),
        })),
      );
      this.post({ type: 'committed', commit: commitId });
    } catch (error) {
      this.post({ type: 'committed', commit: commitId, error: String(error) });
    }
  }

  private async stop(): Promise<void> {
    this.stopping = true;
    this.signalResumed();
    try {
      await this.consumer.disconnect();
      this.post({ type: 'stopped' });
    } catch (error) {
      this.post({ type: 'stopped', error: String(error) });
    } finally {
      consumers.delete(this.id);
    }
  }

  /**
   * With every partition paused, kafkajs sleeps its whole `maxWaitTimeInMs` before it
   * looks again, and a resume does not wake it. So the fetch loop is held here
   * instead, heartbeating, and goes on the moment a partition resumes.
   */
  private async holdWhileAllPaused(
    heartbeat: () => Promise<void>,
  ): Promise<void> {
    while (
      !this.stopping &&
      (this.pausedAll ||
        (this.assigned.size > 0 &&
          [...this.assigned].every((partition) => this.paused.has(partition))))
    ) {
      const timer = new AbortController();
      await Promise.race([
        this.resumed.promise,
        sleepFor(this.settings.heartbeatMs, undefined, {
          signal: timer.signal,
        }).catch(() => {}),
      ]);
      timer.abort();
      await heartbeat();
    }
  }

  /** Joins the group and hands every fetched batch to the mapping, packed. */
  async run(): Promise<void> {
    const { consumer, settings } = this;
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
          this.post(
            { type: 'fetched', partition, records },
            transferList(records),
          );
        }
        // Resolving is local to kafkajs (auto-commit is off): it only moves the next
        // fetch past what the mapping now holds. The last offset resolves the whole
        // batch, skipped control records included.
        resolveOffset(batch.lastOffset());
        await this.holdWhileAllPaused(heartbeat);
      },
    });
  }
}
