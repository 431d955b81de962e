/**
 * A kafkajs consumer on a worker thread of its own (./kafka-consumer-worker.ts), for
 * one local event source mapping. The mapping's thread stays free to answer the
 * function while kafkajs decodes the next fetch: records arrive packed, commits and
 * pauses go back as messages, in order.
 */
import { Worker } from 'node:worker_threads';
import type {
  ConsumerSettings,
  FromConsumer,
  ToConsumer,
} from './kafka-consumer-worker.ts';
import type { PackedRecords } from './kafka-records.ts';
import { workerExecArgv } from './lambda.ts';

const WORKER = new URL('./kafka-consumer-worker.ts', import.meta.url);

/** What the consumer tells its mapping. */
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
 * const consumer = new ConsumerThread(settings, { assigned, fetched, crashed });
 * consumer.pause([0]);
 * await consumer.commit([{ partition: 0, offset: 42 }]);
 * await consumer.stop();
 * ```
 */
export class ConsumerThread {
  readonly #worker: Worker;
  readonly #commits = new Map<number, PromiseWithResolvers<void>>();
  readonly #stopped = Promise.withResolvers<void>();
  #nextId = 0;
  #exited = false;

  constructor(settings: ConsumerSettings, events: ConsumerEvents) {
    this.#worker = new Worker(WORKER, {
      name: `kafka-consumer:${settings.groupId}`,
      workerData: settings,
      execArgv: workerExecArgv(),
    });
    this.#worker.on('message', (message: FromConsumer) => {
      switch (message.type) {
        case 'assigned':
          events.assigned(message.partitions);
          return;
        case 'fetched':
          events.fetched(message.partition, message.records);
          return;
        case 'crashed':
          events.crashed(message.message, message.restart);
          return;
        case 'committed': {
          const pending = this.#commits.get(message.id);
          this.#commits.delete(message.id);
          if (message.error === undefined) pending?.resolve();
          else pending?.reject(new Error(message.error));
          return;
        }
        case 'stopped':
          if (message.error === undefined) this.#stopped.resolve();
          else this.#stopped.reject(new Error(message.error));
          return;
      }
    });
    this.#worker.on('error', (error) => {
      events.crashed(`consumer thread failed: ${error.message}`, false);
    });
    this.#worker.on('exit', (code) => {
      this.#exited = true;
      const gone = new Error(`consumer thread exited (code ${code})`);
      for (const pending of this.#commits.values()) pending.reject(gone);
      this.#commits.clear();
      this.#stopped.resolve();
    });
  }

  /** Stops fetching the partitions (`'all'`: the whole topic, for good). */
  pause(partitions: readonly number[] | 'all'): void {
    this.#send({ type: 'pause', partitions });
  }

  resume(partitions: readonly number[]): void {
    this.#send({ type: 'resume', partitions });
  }

  /**
   * Commits the offsets (the next record to read, per partition).
   *
   * @throws the broker's refusal, or the thread's exit.
   */
  commit(
    offsets: readonly { partition: number; offset: number }[],
  ): Promise<void> {
    if (this.#exited) {
      return Promise.reject(new Error('consumer thread has exited'));
    }
    const id = this.#nextId++;
    const pending = Promise.withResolvers<void>();
    this.#commits.set(id, pending);
    this.#send({ type: 'commit', id, offsets });
    return pending.promise;
  }

  /**
   * Leaves the group, disconnects and ends the thread.
   *
   * @throws kafkajs' disconnect error (the thread ends all the same).
   */
  async stop(): Promise<void> {
    this.#send({ type: 'stop' });
    try {
      await this.#stopped.promise;
    } finally {
      await this.#worker.terminate();
    }
  }

  #send(message: ToConsumer): void {
    if (!this.#exited) this.#worker.postMessage(message);
  }
}
