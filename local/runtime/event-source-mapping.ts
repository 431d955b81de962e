/**
 * The local Kafka event source mapping (ESM): a faithful emulation of what AWS Lambda
 * does between an MSK topic and a function, against a real broker. How it matches AWS,
 * rule by rule: docs/aws-kafka-esm.md, sections "Event payload", "Batching",
 * "Ordering and concurrency", "Offsets and consumer groups", "Errors and retries",
 * "Partial batch response", "On-failure destinations", "Filtering" and "Documentation
 * gaps and decisions" (each decision is marked `Gap 11.x` below).
 *
 * Model: one kafkajs consumer in the mapping's consumer group, auto-commit off, on a
 * consumer thread (./kafka-consumer-thread.ts) so that decoding a fetch never delays
 * the function's answers. Fetched records arrive packed and go into a buffer per
 * partition (kafkajs is told they are resolved, so it keeps fetching; only our
 * explicit commits reach the broker). A dispatcher cuts batches from partitions with
 * no batch in flight, bounded by the batch size, the batching window and 6 MB, and
 * runs up to `maxInFlight` of them at once. Each batch is settled by the loop of
 * docs/aws-kafka-esm.md, "Errors and retries"; its partitions are committed
 * (`last processed + 1`) as records settle. A buffered record is never re-read from
 * Kafka while the process lives; after a restart the committed offsets decide.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleepFor } from 'node:timers/promises';
import { type Admin, Kafka, logLevel, type Producer } from 'kafkajs';
import { ConsumerThread, type KafkaConsumer } from './kafka-consumer-thread.ts';
import {
  type EsmRecord,
  gatherRecords,
  type HeldRecord,
  heldKey,
  holdRecords,
  type KafkaEnvelope,
  type KafkaEvent,
  kafkaEvent,
  type PackedRecords,
  type TimestampType,
} from './kafka-records.ts';
import type { InvokeResult, Invoker } from './lambda.ts';
import type { LocalMapping } from './template.ts';

export type { InvokeResult, Invoker, LocalMapping };

/**
 * Time as the mapping sees it, injectable so that tests never wait on real time.
 * `sleep` is used for the batching window and for the backoff between retries.
 *
 * @example
 * ```ts
 * const clock: EsmClock = { now: () => Date.now(), sleep: async () => {} };
 * ```
 */
export interface EsmClock {
  now(): number;
  sleep(ms: number, reason: 'window' | 'backoff'): Promise<void>;
}

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
 * A run of consecutive offsets of one partition that one invocation carried.
 *
 * @example
 * ```ts
 * const run: OffsetRun = { partition: 0, from: 10, to: 14 }; // offsets 10-14
 * ```
 */
export interface OffsetRun {
  readonly partition: number;
  /** First offset of the run. */
  readonly from: number;
  /** Last offset of the run (inclusive). */
  readonly to: number;
}

/**
 * One invocation of the mapping's function, as {@link EventSourceMappingOptions}'s
 * `observe` is told of it.
 *
 * @example
 * ```ts
 * const observe = (i: EsmInvocation) => console.log(i.attempt, i.outcome);
 * ```
 */
export interface EsmInvocation {
  /** 1 for a batch's first try, 2.. for the retries of the same records. */
  readonly attempt: number;
  /** Epoch milliseconds when the invocation was started. */
  readonly startedAt: number;
  /** The records invoked, as runs of offsets, partitions ascending. */
  readonly records: readonly OffsetRun[];
  /** What the function returned or how it failed. */
  readonly result: InvokeResult;
  /** A partial batch response that named failures is `partial`. */
  readonly outcome: 'success' | 'partial' | 'failure';
}

/**
 * The records as runs of consecutive offsets per partition (records of a partition
 * come in offset order in a batch): what an observer keeps instead of one entry per
 * record.
 *
 * @example
 * ```ts
 * offsetRuns([{ partition: 0, offset: 4 }, { partition: 0, offset: 5 }]);
 * // [{ partition: 0, from: 4, to: 5 }]
 * ```
 */
export function offsetRuns(
  records: readonly { readonly partition: number; readonly offset: number }[],
): OffsetRun[] {
  const runs: OffsetRun[] = [];
  let partition = -1;
  let from = -1;
  let to = -1;
  for (const record of records) {
    if (record.partition === partition && record.offset === to + 1) {
      to = record.offset;
      continue;
    }
    if (partition >= 0) runs.push({ partition, from, to });
    partition = record.partition;
    from = record.offset;
    to = record.offset;
  }
  if (partition >= 0) runs.push({ partition, from, to });
  return runs.sort((a, b) => a.partition - b.partition || a.from - b.from);
}

/**
 * Counters named like the ESM's CloudWatch metrics (docs/aws-kafka-esm.md, CDK
 * properties).
 *
 * @example
 * ```ts
 * esm.metrics().CommittedEventCount; // 12
 * ```
 */
export interface EsmMetrics {
  PolledEventCount: number;
  FilteredOutEventCount: number;
  InvokedEventCount: number;
  FailedInvokeEventCount: number;
  InvokeErrorCount: number;
  DroppedEventCount: number;
  OnFailureDestinationDeliveredEventCount: number;
  OnFailureDestinationDeliveryErrorCount: number;
  CommittedEventCount: number;
  CommitErrorCount: number;
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
 * The mapping names its own source topic as `kafka://` destination: AWS refuses it as
 * a recursion guard (docs/aws-kafka-esm.md, On-failure destinations).
 *
 * @example
 * ```ts
 * err instanceof DestinationIsSourceTopicError;
 * ```
 */
export class DestinationIsSourceTopicError extends Error {
  constructor(topic: string) {
    super(`on-failure destination kafka://${topic} is the source topic`);
    this.name = 'DestinationIsSourceTopicError';
  }
}

/**
 * A destination the local runtime cannot write to (only `kafka://<topic>` exists
 * without AWS).
 *
 * @example
 * ```ts
 * err instanceof UnsupportedDestinationError;
 * ```
 */
export class UnsupportedDestinationError extends Error {
  constructor(destination: string) {
    super(
      `on-failure destination ${destination} is not supported locally (kafka://<topic> only)`,
    );
    this.name = 'UnsupportedDestinationError';
  }
}

/**
 * A filter pattern this emulator does not understand; refused at start rather than
 * silently matching wrong.
 *
 * @example
 * ```ts
 * err instanceof UnsupportedFilterPatternError;
 * ```
 */
export class UnsupportedFilterPatternError extends Error {
  constructor(pattern: string, reason: string) {
    super(`filter pattern ${pattern}: ${reason}`);
    this.name = 'UnsupportedFilterPatternError';
  }
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

/**
 * docs/aws-kafka-esm.md, Batching: the invocation payload limit, measured on the
 * serialized event.
 *
 * @example
 * ```ts
 * Buffer.byteLength(JSON.stringify(event)) <= MAX_PAYLOAD_BYTES;
 * ```
 */
export const MAX_PAYLOAD_BYTES = 6 * 1024 * 1024;

/**
 * docs/aws-kafka-esm.md, Errors and retries: infinite retries with a destination are
 * silently capped at 10.
 */
const CAPPED_RETRIES_WITH_DESTINATION = 10;

/**
 * docs/aws-kafka-esm.md, Gap 11.1: the `kafka://` destination page shows
 * `RetriesExhausted`, the SQS/SNS page `RetryAttemptsExhausted`. We write to a Kafka
 * destination, so we follow its page; the reprocessor's codec accepts both.
 *
 * @example
 * ```ts
 * record.requestContext.condition === RETRIES_EXHAUSTED;
 * ```
 */
export const RETRIES_EXHAUSTED = 'RetriesExhausted';
/**
 * docs/aws-kafka-esm.md, Gap 11.1: undocumented for Kafka; named as for Kinesis.
 *
 * @example
 * ```ts
 * record.requestContext.condition === RECORD_AGE_EXCEEDED;
 * ```
 */
export const RECORD_AGE_EXCEEDED = 'RecordAgeExceeded';
/**
 * docs/aws-kafka-esm.md, Batching and On-failure destinations: a record too large for
 * any invocation; `responseContext` is null.
 *
 * @example
 * ```ts
 * record.requestContext.condition === MAXIMUM_PAYLOAD_SIZE_EXCEEDED;
 * ```
 */
export const MAXIMUM_PAYLOAD_SIZE_EXCEEDED = 'MaximumPayloadSizeExceeded';

/**
 * Serialized bytes a partition's buffer may hold beyond one batch before its fetch is
 * paused: a few kafkajs fetches (1 MiB per partition each). A buffer of a single
 * batch runs dry before the next fetch comes back (kafkajs sleeps `maxWaitTimeInMs`
 * when every partition is paused), and then the fetch loop, not the function, sets
 * the pace. Buffering is invisible to the function: offsets are committed only as
 * records settle, and a revoked partition's buffer is dropped.
 */
const PREFETCH_BYTES = 4 * 1024 * 1024;

/** How often the consumer heartbeats while its fetch loop is held (kafkajs: 3 s). */
const HEARTBEAT_MS = 1000;

/** The MSK cluster ARN of a local mapping's events: clearly not a real one. */
export const DEFAULT_EVENT_SOURCE_ARN =
  'arn:aws:kafka:us-east-1:000000000000:cluster/local/00000000-0000-0000-0000-000000000000-1';

/**
 * A polled record: held in the buffer it was fetched in, plus what the mapping
 * tracks. One object per record, made once at fetch time; the event itself is built
 * only when the record is invoked, and by the function's sandbox.
 */
interface Polled extends HeldRecord {
  /**
   * Filtered out (docs/aws-kafka-esm.md, Filtering): never invoked, committed past.
   */
  filteredOut: boolean;
  invokeCount: number;
  /** Done with: succeeded, filtered out or given up on. */
  settled: boolean;
}

/** Bytes a record adds to an event: its entry and the comma after it. */
function eventBytes(record: HeldRecord): number {
  return record.size + 1;
}

/** A partition's records from their fetch to their batch, in offset order. */
interface PartitionBuffer {
  readonly records: Polled[];
  /** Event bytes of all the records (what the prefetch bound counts). */
  bytes: number;
  /** The records the function will see (not filtered out), and their bytes. */
  waiting: number;
  waitingBytes: number;
}

/** Counts a record into (`1`) or out of (`-1`) its partition buffer's totals. */
function tally(buffer: PartitionBuffer, record: Polled, sign: 1 | -1): void {
  const bytes = sign * eventBytes(record);
  buffer.bytes += bytes;
  if (record.filteredOut) return;
  buffer.waiting += sign;
  buffer.waitingBytes += bytes;
}

/** A batch's records of one partition, in offset order, for its commits. */
interface PartitionProgress {
  readonly records: Polled[];
  /** Records before it are settled. */
  cursor: number;
}

interface ResponseContext {
  statusCode: number;
  executedVersion: string;
  functionError?: string;
}

type Outcome =
  | { kind: 'success' }
  | { kind: 'partial'; failedFrom: Map<number, number> }
  | { kind: 'failure'; reason: string };

/** Stop was requested while a batch still had work: leave it uncommitted. */
class Abandoned extends Error {
  constructor() {
    super('stopping: batch abandoned, left uncommitted');
    this.name = 'Abandoned';
  }
}

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

function destinationTopic(mapping: LocalMapping): string | undefined {
  const destination = mapping.onFailureDestination;
  if (destination === undefined || destination === '') return undefined;
  if (!destination.startsWith('kafka://')) {
    throw new UnsupportedDestinationError(destination);
  }
  const topic = destination.slice('kafka://'.length);
  if (topic === mapping.topic) throw new DestinationIsSourceTopicError(topic);
  return topic;
}

class EventSourceMapping implements LocalEventSourceMapping {
  readonly mapping: LocalMapping;
  readonly #target: Invoker;
  readonly #destination: string | undefined;
  readonly #filters: readonly Filter[];
  readonly #log: (line: string) => void;
  readonly #clock: EsmClock;
  readonly #backoffMs: (attempt: number) => number;
  readonly #observe: ((invocation: EsmInvocation) => void) | undefined;
  readonly #maxInFlight: number;
  readonly #windowMs: number;
  readonly #envelope: KafkaEnvelope;
  readonly #functionArn: string;
  readonly #kafka: Kafka;
  readonly #brokers: readonly string[];
  /** The thread given in the options; otherwise the mapping starts and ends its own. */
  readonly #sharedThread: ConsumerThread | undefined;
  #ownThread: ConsumerThread | undefined;
  #consumer: KafkaConsumer | undefined;
  #producer: Producer | undefined;
  #timestampType: TimestampType = 'CREATE_TIME';
  /** Envelope bytes of an event with no records. */
  readonly #envelopeBytes: number;

  readonly #buffers = new Map<number, PartitionBuffer>();
  /** Next offset expected per partition: a re-fetch after a rejoin is dropped. */
  readonly #nextOffset = new Map<number, number>();
  readonly #paused = new Set<number>();
  readonly #inFlight = new Set<number>();
  readonly #running = new Set<Promise<void>>();
  /** The highest commit asked for per partition (the broker may not have it yet). */
  readonly #requested = new Map<number, number>();
  /** Commits waiting for the one on the wire, per partition. */
  readonly #queuedCommits = new Map<number, { offset: number; from: number }>();
  #commits: Promise<void> | undefined;
  #rotation = 0;
  /** The partitions of the last assignment; logged once polling has been announced. */
  #assignment: readonly number[] = [];
  #polling = false;
  #windowToken = 0;
  #windowOpen = false;
  #windowElapsed = false;
  #stopping = false;
  #stopped: Promise<void> | undefined;
  readonly #stopSignal = Promise.withResolvers<void>();
  readonly #metrics: EsmMetrics = {
    PolledEventCount: 0,
    FilteredOutEventCount: 0,
    InvokedEventCount: 0,
    FailedInvokeEventCount: 0,
    InvokeErrorCount: 0,
    DroppedEventCount: 0,
    OnFailureDestinationDeliveredEventCount: 0,
    OnFailureDestinationDeliveryErrorCount: 0,
    CommittedEventCount: 0,
    CommitErrorCount: 0,
  };

  constructor(
    mapping: LocalMapping,
    target: Invoker,
    options: EventSourceMappingOptions,
    destination: string | undefined,
    filters: readonly Filter[],
  ) {
    this.mapping = mapping;
    this.#target = target;
    this.#destination = destination;
    this.#filters = filters;
    const log = options.log ?? (() => {});
    // Named as people read the mapping; its logical id stays in the kafkajs client
    // id (esm-<logical id>) and in `mapping`.
    const prefix = `[${mapping.topic} -> ${target.name}]`;
    this.#log = (line) => log(`${prefix} ${line}`);
    this.#clock = {
      now: options.clock?.now ?? (() => Date.now()),
      sleep: options.clock?.sleep ?? ((ms) => sleepFor(ms)),
    };
    // AWS does not document its retry pacing (docs/aws-kafka-esm.md, Gap 11.7):
    // 100 ms doubling, capped at 1 s, keeps a failing function from spinning the
    // CPU locally. Fast on purpose: outages are ridden out inside the function
    // (docs/broker-outages.md), never on this pacing.
    this.#backoffMs =
      options.retryBackoffMs ??
      ((attempt) => Math.min(1000, 100 * 2 ** (attempt - 1)));
    this.#observe = options.observe;
    this.#maxInFlight = Math.max(1, options.maxInFlight ?? 1);
    this.#windowMs = Math.max(0, mapping.maximumBatchingWindowSeconds * 1000);
    this.#envelope = {
      eventSourceArn: options.eventSourceArn ?? DEFAULT_EVENT_SOURCE_ARN,
      bootstrapServers: options.brokers.join(','),
    };
    this.#functionArn =
      options.functionArn ??
      `arn:aws:lambda:us-east-1:000000000000:function:${target.name}`;
    this.#envelopeBytes = Buffer.byteLength(JSON.stringify(this.#event([])));
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
      this.#timestampType = await topicTimestampType(admin, this.mapping.topic);
      await this.#pinStartingPosition(admin);
    } finally {
      await admin.disconnect();
    }
    if (this.#destination !== undefined) {
      this.#producer = this.#kafka.producer({
        idempotent: true,
        maxInFlightRequests: 1,
      });
      await this.#producer.connect();
    }
    const joined = Promise.withResolvers<void>();
    const thread = this.#sharedThread ?? new ConsumerThread();
    if (thread !== this.#sharedThread) this.#ownThread = thread;
    try {
      this.#consumer = thread.start(
        {
          clientId: `esm-${this.mapping.logicalId}`,
          brokers: this.#brokers,
          groupId: this.mapping.consumerGroupId,
          topic: this.mapping.topic,
          // docs/aws-kafka-esm.md, Offsets and consumer groups: TRIM_HORIZON reads
          // from the oldest record. LATEST and AT_TIMESTAMP are pinned by
          // #pinStartingPosition before the group first commits.
          fromBeginning: this.mapping.startingPosition !== 'LATEST',
          timestampType: this.#timestampType,
          maxWaitTimeInMs: 100,
          heartbeatMs: HEARTBEAT_MS,
        },
        {
          assigned: (partitions) => {
            this.#onAssignment(partitions);
            joined.resolve();
          },
          fetched: (partition, records) => this.#onFetched(partition, records),
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
    } catch (error) {
      // Nothing polls (or the thread has exited): end the consumer, its thread if
      // the mapping's own, and the producer, then say why.
      await this.#consumer?.stop().catch(() => {});
      await this.#ownThread?.stop();
      await this.#producer?.disconnect();
      throw error;
    }
    // One line for the first assignment; later ones (a rebalance) get their own.
    this.#log(
      `polling as group ${this.mapping.consumerGroupId}, partitions ${this.#assignment.join(', ')}`,
    );
    this.#polling = true;
  }

  /**
   * docs/aws-kafka-esm.md, Offsets and consumer groups: the starting position applies
   * only to a group with no committed offsets. For LATEST and AT_TIMESTAMP the
   * position is resolved now and committed as the group's start, so that records
   * produced once `start` has returned are never missed (AWS may miss some while an
   * ESM is being created: we choose the deterministic side). Per partition: a
   * partition with no committed offset gets it.
   */
  async #pinStartingPosition(admin: Admin): Promise<void> {
    const position = this.mapping.startingPosition;
    if (position === 'TRIM_HORIZON') return;
    const [committed] = await admin.fetchOffsets({
      groupId: this.mapping.consumerGroupId,
      topics: [this.mapping.topic],
    });
    const fresh = new Set(
      (committed?.partitions ?? [])
        .filter((p) => Number(p.offset) < 0)
        .map((p) => p.partition),
    );
    if (fresh.size === 0) return;
    const offsets =
      position === 'LATEST'
        ? (await admin.fetchTopicOffsets(this.mapping.topic)).map((p) => ({
            partition: p.partition,
            offset: p.high,
          }))
        : await admin.fetchTopicOffsetsByTimestamp(
            this.mapping.topic,
            // CloudFormation gives Unix seconds (docs/aws-kafka-esm.md, Offsets and
            // consumer groups).
            (this.mapping.startingPositionTimestamp ?? 0) * 1000,
          );
    const partitions = offsets.filter((p) => fresh.has(p.partition));
    if (partitions.length === 0) return;
    await admin.setOffsets({
      groupId: this.mapping.consumerGroupId,
      topic: this.mapping.topic,
      partitions,
    });
  }

  #onAssignment(partitions: readonly number[]): void {
    const assigned = new Set(partitions);
    for (const partition of [...this.#buffers.keys()]) {
      if (assigned.has(partition)) continue;
      // Revoked: whoever owns it now reads it from the committed offset.
      this.#buffers.delete(partition);
      this.#nextOffset.delete(partition);
      this.#paused.delete(partition);
      this.#requested.delete(partition);
    }
    this.#assignment = [...assigned];
    if (this.#polling) {
      this.#log(`assigned partitions ${this.#assignment.join(', ') || 'none'}`);
    }
  }

  #onFetched(partition: number, packed: PackedRecords): void {
    const buffer = this.#buffer(partition);
    // The hot loop of the mapping (every record passes here): the records stay in
    // the buffer they arrived in, one object each. No event is built here.
    const filtering = this.#filters.length > 0;
    let expected = this.#nextOffset.get(partition);
    let polled = 0;
    let filtered = 0;
    const records = holdRecords(
      packed,
      (held): Polled => ({
        ...held,
        filteredOut: false,
        invokeCount: 0,
        settled: false,
      }),
    );
    for (const record of records) {
      const offset = record.offset;
      if (expected !== undefined && offset < expected) continue;
      expected = offset + 1;
      if (filtering && !this.#passesFilters(record)) {
        record.filteredOut = true;
        filtered += 1;
      }
      polled += 1;
      buffer.records.push(record);
      tally(buffer, record, 1);
    }
    if (expected !== undefined) this.#nextOffset.set(partition, expected);
    this.#metrics.PolledEventCount += polled;
    this.#metrics.FilteredOutEventCount += filtered;
    this.#applyBackpressure(partition);
    this.#dispatch();
  }

  /**
   * docs/aws-kafka-esm.md, Filtering: filters see the record as the function would.
   */
  #passesFilters(held: HeldRecord): boolean {
    const [record] = Object.values(this.#event([held]).records).flat();
    return record !== undefined && this.#filters.some((f) => f(record));
  }

  /**
   * Keeps the buffer near one batch plus {@link PREFETCH_BYTES} per partition: pause
   * the fetch beyond it.
   */
  #applyBackpressure(partition: number): void {
    const buffer = this.#buffer(partition);
    const full =
      buffer.records.length >= this.mapping.batchSize &&
      buffer.bytes >= PREFETCH_BYTES;
    if (full && !this.#paused.has(partition)) {
      this.#paused.add(partition);
      this.#consumer?.pause([partition]);
    } else if (!full && this.#paused.has(partition) && !this.#stopping) {
      this.#paused.delete(partition);
      this.#consumer?.resume([partition]);
    }
  }

  /**
   * docs/aws-kafka-esm.md, Batching: invoke when the batch size or 6 MB is reached, or
   * when the window that opened with the first waiting record has elapsed (0: at
   * once).
   */
  #dispatch(): void {
    while (!this.#stopping && this.#running.size < this.#maxInFlight) {
      // The partitions that hold records and have none in flight, and what they
      // hold for the function.
      const eligible: number[] = [];
      let waiting = 0;
      let bytes = this.#envelopeBytes;
      for (const [partition, buffer] of this.#buffers) {
        if (buffer.records.length === 0 || this.#inFlight.has(partition)) {
          continue;
        }
        eligible.push(partition);
        waiting += buffer.waiting;
        bytes += buffer.waitingBytes;
      }
      if (eligible.length === 0) return;
      eligible.sort((a, b) => a - b);
      const full =
        waiting >= this.mapping.batchSize ||
        bytes >= MAX_PAYLOAD_BYTES ||
        // Only filtered-out records: nothing to wait for, just commit past them.
        waiting === 0;
      if (!full && !this.#windowElapsed && this.#windowMs > 0) {
        this.#openWindow();
        return;
      }
      this.#windowElapsed = false;
      this.#windowOpen = false;
      this.#windowToken += 1;
      const { batch, partitions } = this.#take(eligible);
      const running = this.#settleBatch(batch).finally(() => {
        this.#running.delete(running);
        for (const partition of partitions) this.#inFlight.delete(partition);
        this.#dispatch();
      });
      this.#running.add(running);
    }
  }

  #openWindow(): void {
    if (this.#windowOpen) return;
    this.#windowOpen = true;
    const token = this.#windowToken;
    void Promise.race([
      this.#clock.sleep(this.#windowMs, 'window'),
      this.#stopSignal.promise,
    ]).then(() => {
      if (token !== this.#windowToken || this.#stopping) return;
      this.#windowOpen = false;
      this.#windowElapsed = true;
      this.#dispatch();
    });
  }

  /**
   * Cuts one batch: whole prefixes of each partition's buffer, in offset order, up to
   * the batch size and 6 MB (at least one record, so an oversized one surfaces). The
   * starting partition rotates so that no partition starves.
   */
  #take(partitions: readonly number[]): {
    batch: Polled[];
    /** The partitions it took from: in flight until the batch settles. */
    partitions: number[];
  } {
    const taken: Polled[] = [];
    const from: number[] = [];
    let count = 0;
    let bytes = this.#envelopeBytes;
    const start = this.#rotation++ % partitions.length;
    const order = [...partitions.slice(start), ...partitions.slice(0, start)];
    for (const partition of order) {
      const buffer = this.#buffer(partition);
      let n = 0;
      // Each new partition key adds `"<topic>-<p>":[],` to the event.
      const keyBytes = this.#partitionKeyBytes(partition) + 1;
      for (const polled of buffer.records) {
        if (!polled.filteredOut) {
          const extra = eventBytes(polled) + (n === 0 ? keyBytes : 0);
          if (count >= this.mapping.batchSize) break;
          if (count > 0 && bytes + extra > MAX_PAYLOAD_BYTES) break;
          count += 1;
          bytes += extra;
        }
        n += 1;
      }
      if (n === 0) continue;
      const cut = buffer.records.splice(0, n);
      for (const polled of cut) tally(buffer, polled, -1);
      taken.push(...cut);
      this.#inFlight.add(partition);
      from.push(partition);
      this.#applyBackpressure(partition);
      if (count >= this.mapping.batchSize) break;
    }
    return { batch: taken, partitions: from };
  }

  /** The partition's buffer, made empty the first time it is asked for. */
  #buffer(partition: number): PartitionBuffer {
    let buffer = this.#buffers.get(partition);
    if (buffer === undefined) {
      buffer = { records: [], bytes: 0, waiting: 0, waitingBytes: 0 };
      this.#buffers.set(partition, buffer);
    }
    return buffer;
  }

  /** Bytes of `"<topic>-<p>":[]` in the event. */
  #partitionKeyBytes(partition: number): number {
    return Buffer.byteLength(`"${this.mapping.topic}-${partition}":[]`);
  }

  /**
   * The loop of docs/aws-kafka-esm.md, Errors and retries, for one batch; commits as
   * records settle.
   */
  async #settleBatch(batch: readonly Polled[]): Promise<void> {
    const progress = new Map<number, PartitionProgress>();
    let filtered = false;
    for (const record of batch) {
      let tracked = progress.get(record.partition);
      if (tracked === undefined) {
        tracked = { records: [], cursor: 0 };
        progress.set(record.partition, tracked);
      }
      tracked.records.push(record);
      filtered ||= record.filteredOut;
    }
    const done = (records: readonly Polled[]) => {
      for (const record of records) record.settled = true;
      this.#commit(progress);
    };
    try {
      if (filtered) done(batch.filter((r) => r.filteredOut));
      await this.#settle(
        filtered ? batch.filter((r) => !r.filteredOut) : batch,
        0,
        done,
      );
    } catch (error) {
      if (!(error instanceof Abandoned)) {
        this.#log(`batch failed unexpectedly: ${String(error)}`);
      } else {
        this.#log(error.message);
      }
    }
  }

  async #settle(
    records: readonly Polled[],
    attemptsSoFar: number,
    done: (records: readonly Polled[]) => void,
  ): Promise<void> {
    let pending = [...records];
    let attempts = attemptsSoFar;
    let lastResponse: ResponseContext | null = null;
    let lastRequestId: string | undefined;
    while (pending.length > 0) {
      if (this.#stopping && attempts > attemptsSoFar) throw new Abandoned();
      // docs/aws-kafka-esm.md, Errors and retries: records older than the maximum age
      // are not sent to the function.
      if (this.mapping.maximumRecordAgeSeconds >= 0) {
        const limit = this.mapping.maximumRecordAgeSeconds * 1000;
        const now = this.#clock.now();
        const expired = pending.filter((r) => now - r.timestamp > limit);
        if (expired.length > 0) {
          await this.#giveUp(
            expired,
            RECORD_AGE_EXCEEDED,
            lastResponse,
            lastRequestId,
          );
          done(expired);
          pending = pending.filter((r) => !expired.includes(r));
          continue;
        }
      }
      // docs/aws-kafka-esm.md, Batching: a record that cannot fit in 6 MB alone is
      // never invoked.
      const [single] = pending;
      if (
        pending.length === 1 &&
        single !== undefined &&
        this.#envelopeBytes +
          this.#partitionKeyBytes(single.partition) +
          single.size >
          MAX_PAYLOAD_BYTES
      ) {
        await this.#giveUp(
          pending,
          MAXIMUM_PAYLOAD_SIZE_EXCEEDED,
          null,
          undefined,
        );
        done(pending);
        return;
      }
      const requestId = randomUUID();
      const outcome = await this.#invoke(pending, attempts + 1);
      lastRequestId = requestId;
      lastResponse = {
        statusCode: 200,
        executedVersion: '$LATEST',
        ...(outcome.kind === 'failure' ? { functionError: 'Unhandled' } : {}),
      };
      if (outcome.kind === 'success') {
        done(pending);
        return;
      }
      if (outcome.kind === 'partial') {
        // docs/aws-kafka-esm.md, Partial batch response and Gap 11.3: per partition,
        // everything below the lowest failed offset succeeded; redeliver from it.
        const failed = (r: Polled) => {
          const from = outcome.failedFrom.get(r.partition);
          return from !== undefined && r.offset >= from;
        };
        done(pending.filter((r) => !failed(r)));
        // docs/aws-kafka-esm.md, Errors and retries: what succeeded is committed
        // before the failed tail is retried (commits are otherwise pipelined: see
        // #drainCommits).
        await this.#commits;
        pending = pending.filter(failed);
      } else {
        this.#log(`invocation failed: ${outcome.reason}`);
        // docs/aws-kafka-esm.md, Errors and retries: bisecting does not use up the
        // retry quota.
        if (this.mapping.bisectBatchOnFunctionError && pending.length > 1) {
          const half = Math.ceil(pending.length / 2);
          await this.#settle(pending.slice(0, half), attempts, done);
          await this.#settle(pending.slice(half), attempts, done);
          return;
        }
      }
      attempts += 1;
      if (this.#retriesExhausted(attempts)) {
        await this.#giveUp(
          pending,
          RETRIES_EXHAUSTED,
          lastResponse,
          lastRequestId,
        );
        done(pending);
        return;
      }
      if (this.#stopping) throw new Abandoned();
      await Promise.race([
        this.#clock.sleep(this.#backoffMs(attempts), 'backoff'),
        this.#stopSignal.promise,
      ]);
    }
  }

  #retriesExhausted(attempts: number): boolean {
    const configured = this.mapping.maximumRetryAttempts;
    const max =
      configured < 0 && this.#destination !== undefined
        ? CAPPED_RETRIES_WITH_DESTINATION
        : configured;
    return max >= 0 && attempts > max;
  }

  async #invoke(records: readonly Polled[], attempt: number): Promise<Outcome> {
    const startedAt = this.#clock.now();
    // Taken before the invocation: the records' buffers are transferred to it.
    const runs = this.#observe ? offsetRuns(records) : [];
    let result: InvokeResult | undefined;
    let outcome: Outcome | undefined;
    try {
      outcome = await this.#invokeOnce(records, (given) => {
        result = given;
      });
      return outcome;
    } finally {
      if (this.#observe && result && outcome) {
        try {
          this.#observe({
            attempt,
            startedAt,
            records: runs,
            result,
            outcome: outcome.kind,
          });
        } catch {
          // An observer never disturbs the mapping.
        }
      }
    }
  }

  async #invokeOnce(
    records: readonly Polled[],
    report: (result: InvokeResult) => void,
  ): Promise<Outcome> {
    for (const r of records) r.invokeCount += 1;
    this.#metrics.InvokedEventCount += records.length;
    let result: InvokeResult;
    try {
      const packed = this.#pack(records);
      // A sandbox builds the event in its own thread; anything else gets it built.
      result = this.#target.invokeKafka
        ? await this.#target.invokeKafka(this.#envelope, packed)
        : await this.#target.invoke(kafkaEvent(this.#envelope, packed));
    } catch (error) {
      result = {
        ok: false,
        errorType: 'InvokerError',
        errorMessage: String(error),
        timedOut: false,
        durationMs: 0,
      };
    }
    report(result);
    if (!result.ok) {
      this.#metrics.InvokeErrorCount += 1;
      this.#metrics.FailedInvokeEventCount += records.length;
      return {
        kind: 'failure',
        reason: result.timedOut
          ? 'timed out'
          : `${result.errorType}: ${result.errorMessage}`,
      };
    }
    // docs/aws-kafka-esm.md, Partial batch response: without ReportBatchItemFailures
    // the response is ignored.
    if (!this.mapping.reportBatchItemFailures) return { kind: 'success' };
    const outcome = readPartialResponse(
      result.result,
      this.mapping.topic,
      records,
    );
    if (outcome.kind !== 'success') {
      this.#metrics.FailedInvokeEventCount += records.length;
    }
    return outcome;
  }

  #pack(records: readonly HeldRecord[]): PackedRecords {
    return gatherRecords(
      this.mapping.topic,
      this.#timestampType,
      inEventOrder(records),
    );
  }

  #event(records: readonly HeldRecord[]): KafkaEvent {
    return kafkaEvent(this.#envelope, this.#pack(records));
  }

  /**
   * docs/aws-kafka-esm.md, On-failure destinations: one destination message per
   * record, key = the original key, value = failure metadata plus a one-record event.
   * docs/aws-kafka-esm.md, Gap 11.4: the original headers are NOT copied onto the
   * message and no header is added: only the value is documented, and the payload
   * already carries the original headers. docs/aws-kafka-esm.md, Gap 11.2:
   * `recordInfo.offset` is the Kafka offset as a string. Without a destination the
   * records are dropped.
   */
  async #giveUp(
    records: readonly Polled[],
    condition: string,
    response: ResponseContext | null,
    requestId: string | undefined,
  ): Promise<void> {
    const where = records.map((r) => `${r.partition}@${r.offset}`).join(', ');
    if (this.#destination === undefined || this.#producer === undefined) {
      this.#metrics.DroppedEventCount += records.length;
      this.#log(`${condition}: dropped ${where} (no on-failure destination)`);
      return;
    }
    const now = new Date(this.#clock.now()).toISOString();
    const messages = records.map((r) => {
      const payload = this.#event([r]);
      const value = {
        requestContext: {
          requestId: requestId ?? randomUUID(),
          functionArn: this.#functionArn,
          condition,
          approximateInvokeCount: r.invokeCount,
        },
        responseContext: response,
        version: '1.0',
        timestamp: now,
        KafkaBatchInfo: {
          batchSize: 1,
          eventSourceArn: this.#envelope.eventSourceArn,
          bootstrapServers: this.#envelope.bootstrapServers,
          payloadSize: Buffer.byteLength(JSON.stringify(payload)),
          recordInfo: {
            offset: String(r.offset),
            timestamp: new Date(r.timestamp).toISOString(),
          },
        },
        payload,
      };
      const original = heldKey(r);
      const key =
        original === null
          ? null
          : Buffer.from(
              original.buffer,
              original.byteOffset,
              original.byteLength,
            );
      return { key, value: JSON.stringify(value) };
    });
    // A failed write is retried until it succeeds or the mapping stops (then the
    // records stay uncommitted and are redelivered): never lose a record silently.
    for (let attempt = 1; ; attempt += 1) {
      try {
        await this.#producer.send({
          topic: this.#destination,
          acks: -1,
          messages,
        });
        this.#metrics.OnFailureDestinationDeliveredEventCount += records.length;
        this.#log(
          `${condition}: sent ${where} to kafka://${this.#destination}`,
        );
        return;
      } catch (error) {
        this.#metrics.OnFailureDestinationDeliveryErrorCount += 1;
        this.#log(`on-failure destination write failed: ${String(error)}`);
        if (this.#stopping) throw new Abandoned();
        await Promise.race([
          this.#clock.sleep(this.#backoffMs(attempt), 'backoff'),
          this.#stopSignal.promise,
        ]);
      }
    }
  }

  /**
   * docs/aws-kafka-esm.md, Offsets and consumer groups: commit `last processed + 1`
   * per partition, i.e. the lowest offset of the batch still outstanding (records
   * settle in offset order, except age-expired ones, which never let the commit pass
   * an unsettled record).
   */
  #commit(progress: ReadonlyMap<number, PartitionProgress>): void {
    const commits: { partition: number; offset: number; from: number }[] = [];
    for (const [partition, tracked] of progress) {
      const { records } = tracked;
      while (records[tracked.cursor]?.settled) tracked.cursor += 1;
      const [first] = records;
      const last = records.at(-1);
      if (tracked.cursor === 0 || first === undefined || last === undefined) {
        continue;
      }
      const next = records[tracked.cursor]?.offset ?? last.offset + 1;
      const from = this.#requested.get(partition) ?? first.offset;
      if (next <= from) continue;
      commits.push({ partition, offset: next, from });
      this.#requested.set(partition, next);
    }
    if (commits.length === 0 || this.#consumer === undefined) return;
    for (const commit of commits) {
      const queued = this.#queuedCommits.get(commit.partition);
      this.#queuedCommits.set(commit.partition, {
        offset: commit.offset,
        from: queued?.from ?? commit.from,
      });
    }
    this.#commits ??= this.#drainCommits(this.#consumer).finally(() => {
      this.#commits = undefined;
    });
  }

  /**
   * Commits are pipelined and coalesced: a partition's next batch need not wait for
   * the broker to acknowledge this one (the batch has succeeded; the commit only
   * records it), and what settles while a commit is on the wire goes out as one
   * request with the newest offset per partition. One request at a time, so offsets
   * only move forward; stop() waits for the last one before it disconnects.
   */
  async #drainCommits(consumer: KafkaConsumer): Promise<void> {
    while (this.#queuedCommits.size > 0) {
      const commits = [...this.#queuedCommits];
      this.#queuedCommits.clear();
      try {
        await consumer.commit(
          commits.map(([partition, { offset }]) => ({ partition, offset })),
        );
        for (const [, { offset, from }] of commits) {
          this.#metrics.CommittedEventCount += offset - from;
        }
      } catch (error) {
        // At least once (docs/aws-kafka-esm.md, Offsets and consumer groups): a lost
        // commit means a redelivery, never a loss.
        this.#metrics.CommitErrorCount += 1;
        this.#log(`commit failed: ${String(error)}`);
      }
    }
  }

  metrics(): EsmMetrics {
    return { ...this.#metrics };
  }

  inFlight(): number {
    return this.#running.size;
  }

  buffered(): number {
    let total = 0;
    for (const buffer of this.#buffers.values()) total += buffer.records.length;
    return total;
  }

  stop(): Promise<void> {
    this.#stopped ??= this.#stop();
    return this.#stopped;
  }

  async #stop(): Promise<void> {
    this.#stopping = true;
    this.#windowToken += 1;
    this.#stopSignal.resolve();
    const consumer = this.#consumer;
    if (consumer !== undefined) {
      // No new fetches; commits still go through while the consumer runs (kafkajs
      // drops commits once it has stopped), so in-flight batches finish first.
      consumer.pause('all');
      while (this.#running.size > 0) await Promise.all([...this.#running]);
      await this.#commits;
      try {
        await consumer.stop();
      } finally {
        await this.#ownThread?.stop();
      }
    }
    await this.#producer?.disconnect();
    this.#log('stopped');
  }
}

/**
 * docs/aws-kafka-esm.md, Event payload: the topic's `message.timestamp.type` decides
 * `timestampType` (kafkajs does not expose the batch attribute); the broker default is
 * CreateTime.
 */
async function topicTimestampType(
  admin: Admin,
  topic: string,
): Promise<TimestampType> {
  const { resources } = await admin.describeConfigs({
    includeSynonyms: false,
    resources: [
      { type: 2, name: topic, configNames: ['message.timestamp.type'] },
    ],
  });
  const value = resources[0]?.configEntries.find(
    (entry) => entry.configName === 'message.timestamp.type',
  )?.configValue;
  return value === 'LogAppendTime' ? 'LOG_APPEND_TIME' : 'CREATE_TIME';
}

/**
 * The event's order: partitions ascending, offsets ascending within each. A batch
 * holds each partition's records in offset order, one partition after the other.
 */
function inEventOrder<T extends HeldRecord>(
  records: readonly T[],
): readonly T[] {
  for (let i = 1; i < records.length; i += 1) {
    if ((records[i]?.partition ?? 0) < (records[i - 1]?.partition ?? 0)) {
      return [...records].sort((a, b) => a.partition - b.partition);
    }
  }
  return records;
}

/**
 * docs/aws-kafka-esm.md, Partial batch response: reads a Kafka partial batch
 * response. No response, no `batchItemFailures`, or an empty list: success.
 * Otherwise every item must be
 * `{ itemIdentifier: { partition: '<topic>-<p>', offset: <number> } }` naming a record
 * of this invocation; any other shape (string identifiers included) fails the whole
 * batch.
 */
function readPartialResponse(
  response: unknown,
  topic: string,
  records: readonly Polled[],
): Outcome {
  if (!isObject(response)) return { kind: 'success' };
  const failures = response.batchItemFailures;
  if (failures === undefined || failures === null) return { kind: 'success' };
  if (!Array.isArray(failures)) {
    return { kind: 'failure', reason: 'batchItemFailures is not a list' };
  }
  if (failures.length === 0) return { kind: 'success' };
  const inBatch = new Set(
    records.map((r) => `${topic}-${r.partition}@${r.offset}`),
  );
  const partitionOf = new Map(
    records.map((r) => [`${topic}-${r.partition}`, r.partition]),
  );
  const failedFrom = new Map<number, number>();
  for (const failure of failures) {
    const identifier = isObject(failure) ? failure.itemIdentifier : undefined;
    const partitionKey = isObject(identifier)
      ? identifier.partition
      : undefined;
    const offset = isObject(identifier) ? identifier.offset : undefined;
    const partition =
      typeof partitionKey === 'string'
        ? partitionOf.get(partitionKey)
        : undefined;
    if (
      partition === undefined ||
      typeof offset !== 'number' ||
      !inBatch.has(`${partitionKey}@${offset}`)
    ) {
      return {
        kind: 'failure',
        reason: `invalid batch item failure ${safeJson(failure)}: the whole batch fails`,
      };
    }
    failedFrom.set(
      partition,
      Math.min(failedFrom.get(partition) ?? offset, offset),
    );
  }
  return { kind: 'partial', failedFrom };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

/** A compiled filter: does the record pass? */
type Filter = (record: EsmRecord) => boolean;

type Rule = (value: unknown) => boolean;

const NUMERIC: Readonly<Record<string, (a: number, b: number) => boolean>> = {
  '=': (a, b) => a === b,
  '<': (a, b) => a < b,
  '<=': (a, b) => a <= b,
  '>': (a, b) => a > b,
  '>=': (a, b) => a >= b,
};

/**
 * docs/aws-kafka-esm.md, Filtering: the Lambda/EventBridge pattern language on the
 * record, `value` being the UTF-8 value, JSON-parsed when it is a JSON object or
 * array. When the value part of the pattern does not fit the value (JSON pattern on a
 * plain string, string pattern on JSON, non-UTF-8 bytes), only the other (metadata)
 * fields are matched, as AWS's table says. Operators: exact values, prefix,
 * suffix, equals-ignore-case, anything-but, exists, numeric, wildcard; anything else
 * is refused at start.
 */
function compileFilter(text: string): Filter {
  const { value: valuePattern, ...metadata } = parsePattern(text);
  const matchMetadata = compileObject(metadata, text);
  const valueRules =
    valuePattern === undefined
      ? undefined
      : isObject(valuePattern)
        ? { json: true, match: compileObject(valuePattern, text) }
        : { json: false, match: compileRules(valuePattern, text) };
  return (record) => {
    if (!matchMetadata(record)) return false;
    if (valueRules === undefined) return true;
    const decoded = decodeValueForFilter(record.value);
    if (decoded.kind === 'binary') return true;
    if (decoded.kind === 'absent') return valueRules.match(undefined);
    if (valueRules.json !== (decoded.kind === 'json')) return true;
    return valueRules.match(decoded.value);
  };
}

function decodeValueForFilter(
  base64: string | undefined,
):
  | { kind: 'absent' }
  | { kind: 'binary' }
  | { kind: 'json' | 'string'; value: unknown } {
  if (base64 === undefined) return { kind: 'absent' };
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(
      Buffer.from(base64, 'base64'),
    );
  } catch {
    return { kind: 'binary' };
  }
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed === 'object' && parsed !== null) {
      return { kind: 'json', value: parsed };
    }
  } catch {
    // A plain string value.
  }
  return { kind: 'string', value: text };
}

/**
 * A filter pattern over a whole record, as a stream (DynamoDB) mapping applies it:
 * the same pattern language, no special casing of a value (docs/outbox.md).
 *
 * @throws {UnsupportedFilterPatternError} a filter uses an unsupported operator.
 */
export function compileRecordPattern(
  text: string,
): (record: unknown) => boolean {
  return compileObject(parsePattern(text), text);
}

/** A filter pattern's JSON object, or {@link UnsupportedFilterPatternError}. */
function parsePattern(text: string): Record<string, unknown> {
  let pattern: unknown;
  try {
    pattern = JSON.parse(text);
  } catch {
    throw new UnsupportedFilterPatternError(text, 'not JSON');
  }
  if (!isObject(pattern)) {
    throw new UnsupportedFilterPatternError(text, 'not a JSON object');
  }
  return pattern;
}

function compileObject(
  pattern: Record<string, unknown>,
  text: string,
): (value: unknown) => boolean {
  const fields = Object.entries(pattern).map(([name, sub]) => {
    const match = isObject(sub)
      ? compileObject(sub, text)
      : compileRules(sub, text);
    return (value: unknown) => match(isObject(value) ? value[name] : undefined);
  });
  return (value) => fields.every((field) => field(value));
}

function compileRules(rules: unknown, text: string): Rule {
  if (!Array.isArray(rules)) {
    throw new UnsupportedFilterPatternError(text, 'a leaf must be a list');
  }
  const compiled = rules.map((rule) => compileRule(rule, text));
  return (value) => {
    // EventBridge: an array value matches when any element does.
    const candidates = Array.isArray(value) ? value : [value];
    return compiled.some((rule) =>
      rule.exists !== undefined
        ? rule.exists === (value !== undefined)
        : candidates.some((c) => c !== undefined && rule.test(c)),
    );
  };
}

function compileRule(
  rule: unknown,
  text: string,
): { exists?: boolean; test: Rule } {
  if (!isObject(rule)) return { test: (v) => v === rule };
  const entries = Object.entries(rule);
  const [entry] = entries;
  if (entries.length !== 1 || entry === undefined) {
    throw new UnsupportedFilterPatternError(text, 'one operator per rule');
  }
  const [operator, operand] = entry;
  const str =
    (f: (v: string) => boolean): Rule =>
    (v) =>
      typeof v === 'string' && f(v);
  switch (operator) {
    case 'exists':
      return { exists: operand === true, test: () => true };
    case 'prefix':
      if (typeof operand !== 'string') break;
      return { test: str((v) => v.startsWith(operand)) };
    case 'suffix':
      if (typeof operand !== 'string') break;
      return { test: str((v) => v.endsWith(operand)) };
    case 'equals-ignore-case':
      if (typeof operand !== 'string') break;
      return {
        test: str((v) => v.toLowerCase() === operand.toLowerCase()),
      };
    case 'wildcard': {
      if (typeof operand !== 'string') break;
      const source = operand
        .split('*')
        .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
        .join('.*');
      const regex = new RegExp(`^${source}$`, 's');
      return { test: str((v) => regex.test(v)) };
    }
    case 'anything-but': {
      if (isObject(operand)) {
        const inner = compileRule(operand, text);
        return { test: (v) => !inner.test(v) };
      }
      const excluded = Array.isArray(operand) ? operand : [operand];
      return { test: (v) => !excluded.includes(v) };
    }
    case 'numeric': {
      if (!Array.isArray(operand) || operand.length % 2 !== 0) break;
      const checks: ((v: number) => boolean)[] = [];
      for (let i = 0; i < operand.length; i += 2) {
        const compare = NUMERIC[String(operand[i])];
        const bound = operand[i + 1];
        if (compare === undefined || typeof bound !== 'number') {
          throw new UnsupportedFilterPatternError(text, 'bad numeric rule');
        }
        checks.push((v) => compare(v, bound));
      }
      return {
        test: (v) => typeof v === 'number' && checks.every((c) => c(v)),
      };
    }
  }
  throw new UnsupportedFilterPatternError(
    text,
    `unsupported operator ${operator}`,
  );
}
