/**
 * The local Kafka event source mapping (ESM): a faithful emulation of what AWS Lambda
 * does between an MSK topic and a function, against a real broker. How it matches AWS,
 * rule by rule: docs/aws-kafka-esm.md, sections "Event payload", "Batching",
 * "Ordering and concurrency", "Offsets and consumer groups", "Errors and retries",
 * "Partial batch response", "On-failure destinations", "Filtering" and "Documentation
 * gaps and decisions" (each decision is marked `Gap 11.x` in this folder's modules).
 *
 * Model: one kafkajs consumer in the mapping's consumer group, auto-commit off, on a
 * consumer thread (../kafka-consumer-thread.ts) so that decoding a fetch never delays
 * the function's answers. Fetched records arrive packed and go into a buffer per
 * partition (kafkajs is told they are resolved, so it keeps fetching; only our
 * explicit commits reach the broker). A dispatcher cuts batches from partitions with
 * no batch in flight, bounded by the batch size, the batching window and 6 MB, and
 * runs up to `maxInFlight` of them at once (./batching.ts). Each batch is settled by
 * the loop of docs/aws-kafka-esm.md, "Errors and retries" (./settlement.ts); its
 * partitions are committed (`last processed + 1`) as records settle (./commits.ts).
 * A buffered record is never re-read from Kafka while the process lives; after a
 * restart the committed offsets decide.
 *
 * This module is the mapping's lifecycle: start (settings checked, starting position
 * pinned, consumer joined), partition assignment, stop.
 */
import { setTimeout as sleepFor } from 'node:timers/promises';
import { Kafka, logLevel } from 'kafkajs';
import {
  ConsumerThread,
  type KafkaConsumer,
} from '../kafka-consumer-thread.ts';
import type { InvokeResult, Invoker } from '../lambda.ts';
import type { LocalMapping } from '../template.ts';
import {
  BatchEvents,
  DEFAULT_EVENT_SOURCE_ARN,
  topicTimestampType,
} from './batch-event.ts';
import { Batcher } from './batching.ts';
import { type EsmClock, StopSignal } from './clock.ts';
import { CommitQueue } from './commits.ts';
import { compileFilter, type Filter } from './filters.ts';
import {
  type EsmInvocation,
  type EsmMetrics,
  noMetrics,
} from './observability.ts';
import {
  destinationTopic,
  OnFailureDestination,
} from './on-failure-destination.ts';
import { BatchSettlement } from './settlement.ts';
import { pinStartingPosition } from './starting-position.ts';

export type { InvokeResult, Invoker, LocalMapping };

/**
 * Options of {@link startEventSourceMapping}.
 *
 * @example
 * ```ts
 * const options: EventSourceMappingOptions = { brokers: ['127.0.0.1:9092'], maxInFlight: 5 };
 * ```
 */
export interface EventSourceMappingOptions {
  brokers: readonly string[];
  /** Default: a synthetic MSK cluster ARN. */
  eventSourceArn?: string;
  log?: (line: string) => void;
  /**
   * Concurrent batches over disjoint partitions (docs/aws-kafka-esm.md, Ordering and
   * concurrency: ≤ 5 per poller). Default 1.
   */
  maxInFlight?: number;
  /** Default: `arn:aws:lambda:us-east-1:000000000000:function:<invoker name>`. */
  functionArn?: string;
  /**
   * The thread the mapping's kafkajs consumer runs on, shared with other mappings
   * (`npm run dev` runs one for all) and stopped by its owner. Default: a thread of
   * the mapping's own, ended with it.
   */
  consumerThread?: ConsumerThread;
  clock?: Partial<EsmClock>;
  /** Backoff before retry `attempt` (1-based). Default 100 ms doubling, capped at 1 s. */
  retryBackoffMs?: (attempt: number) => number;
  /**
   * Told of each invocation once it has ended (the local console,
   * docs/console.md). Called synchronously; it must be cheap and must not throw
   * (what it throws is caught and ignored).
   */
  observe?: (invocation: EsmInvocation) => void;
}

/**
 * A running mapping.
 *
 * @example
 * ```ts
 * const esm = await startEventSourceMapping(mapping, invoker, { brokers });
 * await esm.stop();
 * ```
 */
export interface LocalEventSourceMapping {
  readonly mapping: LocalMapping;
  /** A snapshot of the counters. */
  metrics(): EsmMetrics;
  /** Records fetched and not yet handed to a batch (for tests and diagnostics). */
  buffered(): number;
  /** Batches being invoked (or retried) right now. */
  inFlight(): number;
  /** Stops polling, lets in-flight invocations finish and commit, disconnects. */
  stop(): Promise<void>;
}

/**
 * Settings AWS would reject at create time (docs/aws-kafka-esm.md, Batching).
 *
 * @example
 * ```ts
 * err instanceof InvalidMappingError;
 * ```
 */
export class InvalidMappingError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidMappingError';
  }
}

/** How often the consumer heartbeats while its fetch loop is held (kafkajs: 3 s). */
const HEARTBEAT_MS = 1000;

/**
 * Starts polling `mapping.topic` for `target`, as AWS would. Resolves once the consumer
 * has joined its group, with the start position pinned (new group only).
 *
 * @throws {DestinationIsSourceTopicError} the destination is the source topic.
 * @throws {UnsupportedDestinationError} the destination is not `kafka://`.
 * @throws {UnsupportedFilterPatternError} a filter uses an unsupported operator.
 * @throws {InvalidMappingError} a setting AWS would refuse.
 * @example
 * ```ts
 * const esm = await startEventSourceMapping(mapping, invoker, { brokers: ['127.0.0.1:9092'] });
 * // ... records flow to invoker.invoke ...
 * await esm.stop();
 * ```
 */
export async function startEventSourceMapping(
  mapping: LocalMapping,
  target: Invoker,
  options: EventSourceMappingOptions,
): Promise<LocalEventSourceMapping> {
  const destination = destinationTopic(mapping);
  if (!Number.isInteger(mapping.batchSize) || mapping.batchSize < 1) {
    throw new InvalidMappingError(`batchSize ${mapping.batchSize} must be ≥ 1`);
  }
  const filters = mapping.filters.map(compileFilter);
  const esm = new EventSourceMapping(
    mapping,
    target,
    options,
    destination,
    filters,
  );
  await esm.start();
  return esm;
}

class EventSourceMapping implements LocalEventSourceMapping {
  readonly mapping: LocalMapping;
  readonly #log: (line: string) => void;
  readonly #kafka: Kafka;
  readonly #brokers: readonly string[];
  /** The thread given in the options; otherwise the mapping starts and ends its own. */
  readonly #sharedThread: ConsumerThread | undefined;
  #ownThread: ConsumerThread | undefined;
  #consumer: KafkaConsumer | undefined;
  readonly #events: BatchEvents;
  readonly #destination: OnFailureDestination;
  readonly #commits: CommitQueue;
  readonly #batcher: Batcher;
  /** The partitions of the last assignment; logged once polling has been announced. */
  #assignment: readonly number[] = [];
  #polling = false;
  readonly #stop = new StopSignal();
  #stopped: Promise<void> | undefined;
  readonly #metrics: EsmMetrics = noMetrics();

  constructor(
    mapping: LocalMapping,
    target: Invoker,
    options: EventSourceMappingOptions,
    destination: string | undefined,
    filters: readonly Filter[],
  ) {
    this.mapping = mapping;
    const log = options.log ?? (() => {});
    // Named as people read the mapping; its logical id stays in the kafkajs client
    // id (esm-<logical id>) and in `mapping`.
    const prefix = `[${mapping.topic} -> ${target.name}]`;
    this.#log = (line) => log(`${prefix} ${line}`);
    const clock: EsmClock = {
      now: options.clock?.now ?? (() => Date.now()),
      sleep: options.clock?.sleep ?? ((ms) => sleepFor(ms)),
    };
    // AWS does not document its retry pacing (docs/aws-kafka-esm.md, Gap 11.7):
    // 100 ms doubling, capped at 1 s, keeps a failing function from spinning the
    // CPU locally. Fast on purpose: outages are ridden out inside the function
    // (docs/broker-outages.md), never on this pacing.
    const backoffMs =
      options.retryBackoffMs ??
      ((attempt) => Math.min(1000, 100 * 2 ** (attempt - 1)));
    this.#events = new BatchEvents(mapping.topic, {
      eventSourceArn: options.eventSourceArn ?? DEFAULT_EVENT_SOURCE_ARN,
      bootstrapServers: options.brokers.join(','),
    });
    const common = {
      mapping,
      events: this.#events,
      metrics: this.#metrics,
      log: this.#log,
      clock,
      backoffMs,
      stop: this.#stop,
      consumer: () => this.#consumer,
    };
    this.#destination = new OnFailureDestination(destination, {
      ...common,
      functionArn:
        options.functionArn ??
        `arn:aws:lambda:us-east-1:000000000000:function:${target.name}`,
    });
    this.#commits = new CommitQueue(common);
    const settlement = new BatchSettlement({
      ...common,
      target,
      destination: this.#destination,
      commits: this.#commits,
      observe: options.observe,
    });
    this.#batcher = new Batcher({
      ...common,
      filters,
      maxInFlight: Math.max(1, options.maxInFlight ?? 1),
      settle: (batch) => settlement.settleBatch(batch),
    });
    this.#brokers = [...options.brokers];
    this.#sharedThread = options.consumerThread;
    this.#kafka = new Kafka({
      clientId: `esm-${mapping.logicalId}`,
      brokers: [...this.#brokers],
      logLevel: logLevel.NOTHING,
    });
  }

  async start(): Promise<void> {
    if (!this.mapping.enabled) {
      this.#log('disabled: not polling');
      return;
    }
    const admin = this.#kafka.admin();
    await admin.connect();
    try {
      this.#events.timestampType = await topicTimestampType(
        admin,
        this.mapping.topic,
      );
      await pinStartingPosition(admin, this.mapping);
    } finally {
      await admin.disconnect();
    }
    await this.#destination.connect(this.#kafka);
    const thread = this.#sharedThread ?? new ConsumerThread();
    if (thread !== this.#sharedThread) this.#ownThread = thread;
    try {
      await this.#join(thread);
    } catch (error) {
      // Nothing polls (or the thread has exited): end the consumer, its thread if
      // the mapping's own, and the producer, then say why.
      await this.#consumer?.stop().catch(() => {});
      await this.#ownThread?.stop();
      await this.#destination.disconnect();
      throw error;
    }
    // One line for the first assignment; later ones (a rebalance) get their own.
    this.#log(
      `polling as group ${this.mapping.consumerGroupId}, partitions ${this.#assignment.join(', ')}`,
    );
    this.#polling = true;
  }

  /** Starts the consumer on `thread`; resolves once it has joined its group. */
  async #join(thread: ConsumerThread): Promise<void> {
    const joined = Promise.withResolvers<void>();
    this.#consumer = thread.start(
      {
        clientId: `esm-${this.mapping.logicalId}`,
        brokers: this.#brokers,
        groupId: this.mapping.consumerGroupId,
        topic: this.mapping.topic,
        // docs/aws-kafka-esm.md, Offsets and consumer groups: TRIM_HORIZON reads
        // from the oldest record. LATEST and AT_TIMESTAMP are pinned by
        // pinStartingPosition (./starting-position.ts) before the group first
        // commits.
        fromBeginning: this.mapping.startingPosition !== 'LATEST',
        timestampType: this.#events.timestampType,
        maxWaitTimeInMs: 100,
        heartbeatMs: HEARTBEAT_MS,
      },
      {
        assigned: (partitions) => {
          this.#onAssignment(partitions);
          joined.resolve();
        },
        fetched: (partition, records) =>
          this.#batcher.fetched(partition, records),
        crashed: (message, restart) => {
          // A retriable error (a group coordinator still loading after the broker
          // started, say) restarts the consumer, and it joins later: only a crash
          // kafkajs gives up on fails the start.
          this.#log(
            `consumer crashed: ${message}${restart ? ' (restarting)' : ''}`,
          );
          if (!restart) joined.reject(new Error(message));
        },
      },
    );
    await joined.promise;
  }

  #onAssignment(partitions: readonly number[]): void {
    const assigned = new Set(partitions);
    // Revoked: whoever owns it now reads it from the committed offset.
    for (const partition of this.#batcher.keepOnly(assigned)) {
      this.#commits.forget(partition);
    }
    this.#assignment = [...assigned];
    if (this.#polling) {
      this.#log(`assigned partitions ${this.#assignment.join(', ') || 'none'}`);
    }
  }

  metrics(): EsmMetrics {
    return { ...this.#metrics };
  }

  inFlight(): number {
    return this.#batcher.inFlight();
  }

  buffered(): number {
    return this.#batcher.buffered();
  }

  stop(): Promise<void> {
    this.#stopped ??= this.#stopNow();
    return this.#stopped;
  }

  async #stopNow(): Promise<void> {
    this.#batcher.closeWindow();
    this.#stop.request();
    const consumer = this.#consumer;
    if (consumer !== undefined) {
      // No new fetches; commits still go through while the consumer runs (kafkajs
      // drops commits once it has stopped), so in-flight batches finish first.
      consumer.pause('all');
      await this.#batcher.drain();
      await this.#commits.inFlight;
      try {
        await consumer.stop();
      } finally {
        await this.#ownThread?.stop();
      }
    }
    await this.#destination.disconnect();
    this.#log('stopped');
  }
}
