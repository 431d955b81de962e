/**
 * The worker thread (./kafka-consumer-worker.ts) that runs the kafkajs consumers of
 * local event source mappings, one consumer per mapping. The mappings' thread stays
 * free to answer the function while kafkajs decodes the next fetch: records arrive
 * packed, commits and pauses go back as messages, in order.
 *
 * One thread can serve several mappings: `npm run dev` runs one for all of its
 * mappings, for the whole session, so kafkajs is loaded, compiled and given a grown
 * heap once, in one isolate, rather than once per mapping.
 */
import { Worker } from 'node:worker_threads';
import type { PackedRecords } from './esm/records/packed-records.ts';
import type {
  ConsumerSettings,
  FromThread,
  ToConsumer,
  ToThread,
} from './kafka-consumer-worker.ts';
import { workerExecArgv } from './lambda-sandbox.ts';

const WORKER = new URL('./kafka-consumer-worker.ts', import.meta.url);

/** The thread's name, as the OS shows it (Linux keeps 15 characters). */
export const CONSUMER_THREAD_NAME = 'kafka-consumers';

/** What a consumer tells its mapping. */
export interface ConsumerEvents {
  /** The group (re)assigned this member's partitions of the topic. */
  assigned(partitions: readonly number[]): void;
  /** A fetched batch of one partition, in offset order. */
  fetched(partition: number, records: PackedRecords): void;
  /**
   * kafkajs' consumer crashed; with `restart` it rejoins by itself. Also said, without
   * `restart`, when the thread itself dies.
   */
  crashed(message: string, restart: boolean): void;
}

export type { ConsumerSettings };

/**
 * @example
 * ```ts
 * const thread = new ConsumerThread();
 * const consumer = thread.start(settings, { assigned, fetched, crashed });
 * consumer.pause([0]);
 * await consumer.commit([{ partition: 0, offset: 42 }]);
 * await consumer.stop();
 * await thread.stop();
 * ```
 */
export class ConsumerThread {
  readonly #worker: Worker;
  readonly #consumers = new Map<number, ThreadConsumer>();
  #nextId = 0;
  #exited = false;

  constructor() {
    this.#worker = new Worker(WORKER, {
      name: CONSUMER_THREAD_NAME,
      execArgv: workerExecArgv(),
    });
    this.#worker.on('message', (message: FromThread) => {
      this.#consumers.get(message.consumer)?.receive(message);
    });
    this.#worker.on('error', (error) => {
      for (const consumer of this.#consumers.values()) {
        consumer.events.crashed(
          `consumer thread failed: ${error.message}`,
          false,
        );
      }
    });
    this.#worker.on('exit', (code) => {
      this.#exited = true;
      for (const consumer of this.#consumers.values()) {
        consumer.exited(new Error(`consumer thread exited (code ${code})`));
      }
      this.#consumers.clear();
    });
  }

  /**
   * Starts a mapping's consumer on this thread; it joins its group and fetches.
   *
   * @throws the thread has exited (or was stopped).
   */
  start(settings: ConsumerSettings, events: ConsumerEvents): KafkaConsumer {
    if (this.#exited) throw new Error('consumer thread has exited');
    const id = this.#nextId++;
    const consumer = new ThreadConsumer(events, (message) =>
      this.#send({ ...message, consumer: id }),
    );
    this.#consumers.set(id, consumer);
    void consumer.stopped.then(() => this.#consumers.delete(id));
    this.#send({ type: 'start', consumer: id, settings });
    return consumer;
  }

  /** Ends the thread. Its consumers should be stopped first: the rest are cut off. */
  async stop(): Promise<void> {
    await this.#worker.terminate();
  }

  #send(message: ToThread): void {
    if (!this.#exited) this.#worker.postMessage(message);
  }
}

/** One mapping's consumer, on a {@link ConsumerThread}. */
export interface KafkaConsumer {
  /** Stops fetching the partitions (`'all'`: the whole topic, for good). */
  pause(partitions: readonly number[] | 'all'): void;
  resume(partitions: readonly number[]): void;
  /**
   * Commits the offsets (the next record to read, per partition).
   *
   * @throws the broker's refusal, or the thread's exit.
   */
  commit(
    offsets: readonly { partition: number; offset: number }[],
  ): Promise<void>;
  /**
   * Leaves the group and disconnects; the thread goes on.
   *
   * @throws kafkajs' disconnect error.
   */
  stop(): Promise<void>;
}

class ThreadConsumer implements KafkaConsumer {
  readonly events: ConsumerEvents;
  readonly #send: (message: ToConsumer) => void;
  readonly #commits = new Map<number, PromiseWithResolvers<void>>();
  readonly #stopped = Promise.withResolvers<void>();
  /** Settles (never rejects) once the consumer is gone: stopped, or its thread. */
  readonly stopped: Promise<void> = this.#stopped.promise.catch(() => {});
  #nextCommit = 0;
  #gone: Error | undefined;

  constructor(events: ConsumerEvents, send: (message: ToConsumer) => void) {
    this.events = events;
    this.#send = send;
  }

  receive(message: FromThread): void {
    switch (message.type) {
      case 'assigned':
        this.events.assigned(message.partitions);
        return;
      case 'fetched':
        this.events.fetched(message.partition, message.records);
        return;
      case 'crashed':
        this.events.crashed(message.message, message.restart);
        return;
      case 'committed': {
        const pending = this.#commits.get(message.commit);
        this.#commits.delete(message.commit);
        if (message.error === undefined) pending?.resolve();
        else pending?.reject(new Error(message.error));
        return;
      }
      case 'stopped':
        this.#end(new Error('consumer has stopped'));
        if (message.error === undefined) this.#stopped.resolve();
        else this.#stopped.reject(new Error(message.error));
        return;
    }
  }

  /** The thread is gone: nothing pending will be answered. */
  exited(error: Error): void {
    this.#end(error);
    this.#stopped.resolve();
  }

  pause(partitions: readonly number[] | 'all'): void {
    this.#sendIfRunning({ type: 'pause', partitions });
  }

  resume(partitions: readonly number[]): void {
    this.#sendIfRunning({ type: 'resume', partitions });
  }

  commit(
    offsets: readonly { partition: number; offset: number }[],
  ): Promise<void> {
    if (this.#gone !== undefined) return Promise.reject(this.#gone);
    const commit = this.#nextCommit++;
    const pending = Promise.withResolvers<void>();
    this.#commits.set(commit, pending);
    this.#send({ type: 'commit', commit, offsets });
    return pending.promise;
  }

  async stop(): Promise<void> {
    this.#sendIfRunning({ type: 'stop' });
    await this.#stopped.promise;
  }

  #sendIfRunning(message: ToConsumer): void {
    if (this.#gone === undefined) this.#send(message);
  }

  /** Stopped, or its thread gone: a pending commit fails, and so does any new one. */
  #end(error: Error): void {
    this.#gone ??= error;
    for (const pending of this.#commits.values()) pending.reject(this.#gone);
    this.#commits.clear();
  }
}
