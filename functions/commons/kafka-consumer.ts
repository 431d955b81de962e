/**
 * The one Kafka consumer module: every Kafka-triggered handler is a
 * `createKafkaConsumer(...)`. It owns what all of them must get right the same way:
 * - decoding the ESM event (base64 key and value, signed-byte headers, tombstones);
 * - validating each value (JSON, then the handler's zod schema, then its topic);
 * - the failure classes of docs/domain.md section 7: a poison record goes to
 *   `<topic>.dead-letter` and the partition goes on; a transient failure stops its
 *   partition at that record and reports it in the partial batch response, so the ESM
 *   retries from there (and, once its limits are reached, writes the record to its
 *   on-failure destination);
 * - ordering and concurrency: records of one key one after the other in offset order;
 *   within a partition, records of different keys side by side up to `concurrency`;
 *   partitions concurrently, as the ESM itself does across pollers (see
 *   {@link createKafkaConsumer} for the exact contract, docs/performance.md section
 *   "Concurrency within a batch");
 * - outcome events: a handler hands them over with `record.publishWithBatch`, and
 *   the consumer publishes those of the whole batch in one call before it answers;
 * - outages: a record that fails because Kafka or the store is down is tried again
 *   inside the invocation while it has time (docs/broker-outages.md), so a broker
 *   outage does not use up the ESM's retries in seconds.
 *
 * Needs `FunctionResponseTypes: ['ReportBatchItemFailures']` on the ESM, without which
 * Lambda ignores the response and a transient failure would be lost for later records.
 * https://docs.aws.amazon.com/lambda/latest/dg/kafka-retry-configurations.html
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleepFor } from 'node:timers/promises';
import type { Logger } from '@aws-lambda-powertools/logger';
import { type Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import * as z from 'zod';
import type { ReceivedDeadLetter } from '#domain/dead-letter.ts';
import { type DomainEvent, deadLetterTopic, HEADERS } from '#domain/events.ts';
import {
  classifyFailure,
  PoisonRecordError,
  TransientError,
} from '#domain/failures.ts';
import type { SafeParser } from '#domain/fast-accept.ts';
import {
  DEFAULT_OUTAGE_POLICY,
  nextOutageDelay,
  type OutagePolicy,
} from '#domain/outage-policy.ts';
import {
  encodeConsumerDeadLetter,
  poisonDeadLetter,
  redriveAttempt,
} from './dead-letter-codec.ts';
import { StoreUnavailableError } from './dynamodb.ts';
import {
  type EventPublisher,
  KafkaUnavailableError,
} from './kafka-publisher.ts';
import {
  decodeKey,
  decodeValueText,
  findHeader,
  headerMap,
  type KafkaBatchItemFailure,
  type KafkaBatchResponse,
  MskEvent,
  type MskRecord,
  topicPartition,
} from './msk-event.ts';

export type { KafkaBatchItemFailure, KafkaBatchResponse } from './msk-event.ts';

/** The suffix of every dead-letter topic, taken from the one naming rule. */
const DEAD_LETTER_SUFFIX = deadLetterTopic('');

/**
 * The event is not a Kafka ESM event: the whole invocation fails.
 *
 * @example
 * ```ts
 * await expect(consume({ Records: [] })).rejects.toThrow(InvalidKafkaEventError);
 * ```
 */
export class InvalidKafkaEventError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'InvalidKafkaEventError';
  }
}

/**
 * The record has no value (null or missing): a tombstone, which no handler expects.
 *
 * @example
 * ```ts
 * new TombstoneRecordError('record has no value (tombstone)');
 * ```
 */
export class TombstoneRecordError extends PoisonRecordError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'TombstoneRecordError';
  }
}

/**
 * The record's value is not UTF-8 JSON.
 *
 * @example
 * ```ts
 * new NotJsonRecordError('record value is not UTF-8 JSON');
 * ```
 */
export class NotJsonRecordError extends PoisonRecordError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'NotJsonRecordError';
  }
}

/**
 * The record's value is JSON but fails the consumer's schema.
 *
 * @example
 * ```ts
 * new SchemaMismatchRecordError('record value fails the schema: ...');
 * ```
 */
export class SchemaMismatchRecordError extends PoisonRecordError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'SchemaMismatchRecordError';
  }
}

/**
 * The record's value passes the schema but belongs on another topic (an
 * `OrderCancelled` on `order.placed.v1`): handling it as if it had come on its own
 * topic would do the wrong thing, so it is poison.
 *
 * @example
 * ```ts
 * new WrongTopicRecordError('record value belongs on order.cancelled.v1');
 * ```
 */
export class WrongTopicRecordError extends PoisonRecordError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'WrongTopicRecordError';
  }
}

/**
 * A poison record could not be put aside (the dead-letter write or the park failed).
 * Transient: the partition stops at that record, so nothing is lost.
 *
 * @example
 * ```ts
 * new DeadLetterWriteError('dead letter not written', { cause });
 * ```
 */
export class DeadLetterWriteError extends TransientError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'DeadLetterWriteError';
  }
}

/**
 * A poison record of a dead-letter topic, with no `park` option: dead-lettering it
 * would recurse into `x.dead-letter.dead-letter`, so its partition stops instead.
 *
 * @example
 * ```ts
 * new DeadLetterRecursionError('will not dead-letter x.dead-letter');
 * ```
 */
export class DeadLetterRecursionError extends TransientError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'DeadLetterRecursionError';
  }
}

/**
 * A decoded, validated record, as a handler receives it. `key`, `headers`,
 * `correlationId`, `redriveAttempt` and `logger` are worked out on first use: most
 * handlers read few of them, and a child logger per record cost more than all the
 * rest of the consumer's work on it.
 *
 * @example
 * ```ts
 * handle: async (record: ConsumedRecord<PaymentInput>) => {
 *   record.logger.debug('charging', { orderId: record.value.data.orderId });
 * },
 * ```
 */
export interface ConsumedRecord<T> {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  /** Epoch milliseconds. */
  readonly timestamp: number;
  /** The key as UTF-8; `null` when the record has none. */
  readonly key: string | null;
  /** Header values as UTF-8; when a name repeats, the last value wins. */
  readonly headers: Readonly<Record<string, string>>;
  readonly value: T;
  /** The `correlation-id` header, else the value's `correlationId`, else a new one. */
  readonly correlationId: string;
  /** The `redrive-attempt` header (0 when absent). */
  readonly redriveAttempt: number;
  /** A child logger with correlationId, consumer, topic, partition and offset. */
  readonly logger: Logger;
  /**
   * A debug line on {@link ConsumedRecord.logger}, made only when the logger writes
   * debug lines: a handler's per-record lines go here, so that at the usual INFO
   * level a record costs no child logger.
   */
  debug(message: string, attributes?: Record<string, unknown>): void;
  /**
   * Hands events over to be published with the batch: once every record of the
   * batch is handled, the consumer publishes the events of all of them in one
   * `publish` call (in offset order per partition; an event id once), then runs every record's
   * `afterPublished` side by side, and only then answers. If that publish, or this
   * record's `afterPublished`, fails, the record is reported failed and delivered
   * again, so its handler must hand over the same events again (deterministic event
   * ids) and `afterPublished` must be safe to repeat. Needs the consumer's
   * `publisher` option. Events handed over by a try that then throws are dropped.
   */
  publishWithBatch(
    events: readonly DomainEvent[],
    afterPublished?: () => Promise<void>,
  ): void;
}

/**
 * Where poison records go: produces one message to a topic.
 *
 * @example
 * ```ts
 * const deadLetters: DeadLetterSink = {
 *   send: (topic, message) => publisher.send(topic, [message]),
 * };
 * ```
 */
export interface DeadLetterSink {
  send(
    topic: string,
    message: {
      key: Buffer | null;
      value: Buffer;
      headers: Record<string, string>;
    },
  ): Promise<void>;
}

/**
 * Where the events of `publishWithBatch` go: one call per batch (the
 * {@link EventPublisher}'s `publish`, whose idempotent producer keeps each output
 * partition's order).
 *
 * @example
 * ```ts
 * const publisher: BatchPublisher = createKafkaPublisher(config.kafka, { logger });
 * ```
 */
export type BatchPublisher = Pick<EventPublisher, 'publish'>;

/**
 * How many records of different keys of one partition a consumer handles at once,
 * unless told otherwise (docs/performance.md section "Concurrency within a batch").
 */
export const DEFAULT_CONSUMER_CONCURRENCY = 16;

/**
 * How a consumer is made.
 *
 * @example
 * ```ts
 * const options: KafkaConsumerOptions<PaymentInput> = {
 *   name: 'payment', schema: PaymentInput, deadLetters, logger, handle,
 * };
 * ```
 */
export interface KafkaConsumerOptions<T> {
  /** The consumer's name, e.g. `payment`: in every dead letter and log line. */
  name: string;
  /**
   * The value's schema (a zod schema, or one with a fast accept path in front of it,
   * `withFastAccept` of functions/domain/fast-accept.ts); a value that fails it is
   * poison.
   */
  schema: SafeParser<T>;
  /**
   * The topic a valid value belongs on (e.g. `TOPIC_OF[event.eventType]`), for a
   * consumer of several topics whose schema takes the events of all of them; a value
   * read from another topic is poison ({@link WrongTopicRecordError}). Unchecked when
   * absent.
   */
  topicOf?(value: T): string;
  deadLetters: DeadLetterSink;
  logger: Logger;
  /** Handles one record. Throw `PoisonRecordError` (or a subclass) for poison. */
  handle(record: ConsumedRecord<T>): Promise<void>;
  /**
   * For consumers of dead-letter topics (the reprocessor): keeps a poison record
   * itself (e.g. stores it PARKED) instead of writing `<topic>.dead-letter`, which for
   * a dead-letter topic would recurse into `x.dead-letter.dead-letter`. Without it,
   * a poison record of a dead-letter topic stops its partition (logged as an error).
   */
  park?(letter: ReceivedDeadLetter): Promise<void>;
  /**
   * Powertools metrics: per batch, `RecordsConsumed`, `RecordsDeadLettered` and
   * `RecordsFailed` with the `topic` dimension (an event source mapping reads one
   * topic, so a batch has one). Flushed by the handler's `logMetrics` middleware.
   */
  metrics?: Metrics;
  /** Where the events handed to `record.publishWithBatch` are published. */
  publisher?: BatchPublisher;
  /**
   * At most this many records of one partition are handled at once, each of another
   * key (default {@link DEFAULT_CONSUMER_CONCURRENCY}); 1 handles a partition one
   * record at a time.
   */
  concurrency?: number;
  now?: () => Date;
  /**
   * How a record that failed because a dependency is down ({@link isDependencyOutage})
   * is tried again inside the invocation. Needs the invocation's context (for its
   * remaining time); without one, such a record fails at once. Default: the policy of
   * docs/broker-outages.md, real timers.
   */
  outageWait?: OutageWaitOptions;
}

/**
 * How the consumer waits out an outage inside an invocation; time and randomness are
 * injectable for tests.
 *
 * @example
 * ```ts
 * const outageWait: OutageWaitOptions = { sleep: async () => {}, random: () => 1 };
 * ```
 */
export interface OutageWaitOptions {
  readonly policy?: OutagePolicy;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly random?: () => number;
  /** Which failures mean a dependency is down. Default {@link isDependencyOutage}. */
  readonly isOutage?: (error: unknown) => boolean;
}

/** The part of the Lambda context the consumer reads: the time left. */
export interface InvocationClock {
  getRemainingTimeInMillis(): number;
}

/**
 * True when the error, or an error it was caused by, says that Kafka or the store
 * could not be reached: a failure that time cures, unlike a bug or a conflict.
 *
 * @example
 * ```ts
 * isDependencyOutage(new DeadLetterWriteError('x', { cause: kafkaDown })); // true
 * ```
 */
export function isDependencyOutage(error: unknown): boolean {
  const seen = new Set<unknown>();
  for (let e = error; e instanceof Error && !seen.has(e); e = e.cause) {
    seen.add(e);
    if (
      e instanceof KafkaUnavailableError ||
      e instanceof StoreUnavailableError
    ) {
      return true;
    }
  }
  return false;
}

/** How a record ended, for the metrics. */
type Outcome = 'consumed' | 'dead-lettered' | 'failed';

/** One try at a record (or at the batch's publish): how it ended, and the error. */
type Tried =
  | { outcome: 'consumed' | 'dead-lettered' }
  | { outcome: 'failed'; error: unknown; poison: unknown };

type Parsed =
  | { kind: 'tombstone' }
  | { kind: 'json'; value: unknown }
  | { kind: 'not-json'; error: unknown };

/** What a record handed over with `publishWithBatch`. */
interface Emission {
  readonly events: DomainEvent[];
  readonly afterPublished: (() => Promise<void>)[];
}

/** One fatal decoder for every record: `decode` keeps no state between calls. */

/**
 * One record as the consumer works on it: what it derives from the record is
 * derived once and only when read (see {@link ConsumedRecord}).
 */
class RecordInProgress {
  #headers: Readonly<Record<string, string>> | undefined;
  #correlationId: string | undefined;
  #attempt: number | undefined;
  #key: string | null | undefined;
  #logger: Logger | undefined;
  /** The events of the current try; dropped when the try fails. */
  emission: Emission | undefined;

  readonly record: MskRecord;
  readonly parsed: Parsed;
  readonly #consumer: string;
  readonly #parentLogger: Logger;

  constructor(
    record: MskRecord,
    parsed: Parsed,
    consumer: string,
    parentLogger: Logger,
  ) {
    this.record = record;
    this.parsed = parsed;
    this.#consumer = consumer;
    this.#parentLogger = parentLogger;
  }

  get key(): string | null {
    if (this.#key === undefined) {
      this.#key = decodeKey(this.record)?.toString('utf8') ?? null;
    }
    return this.#key;
  }

  get headers(): Readonly<Record<string, string>> {
    this.#headers ??= headerMap(this.record.headers);
    return this.#headers;
  }

  get correlationId(): string {
    this.#correlationId ??=
      findHeader(this.record.headers, HEADERS.correlationId) ||
      (this.parsed.kind === 'json'
        ? valueCorrelationId(this.parsed.value)
        : undefined) ||
      randomUUID();
    return this.#correlationId;
  }

  get redriveAttempt(): number {
    this.#attempt ??= redriveAttempt(this.record.headers);
    return this.#attempt;
  }

  /**
   * A child logger of its own: appendKeys on the shared logger would mix keys of
   * records handled at the same time.
   */
  get logger(): Logger {
    this.#logger ??= this.#parentLogger.createChild({
      persistentKeys: {
        correlationId: this.correlationId,
        consumer: this.#consumer,
        topic: this.record.topic,
        partition: this.record.partition,
        offset: this.record.offset,
      },
    });
    return this.#logger;
  }
}

/** The record handed to a handler: its value, the rest read through. */
class Received<T> implements ConsumedRecord<T> {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  readonly timestamp: number;

  readonly value: T;
  readonly #progress: RecordInProgress;
  readonly #canPublish: boolean;
  readonly #debug: boolean;

  constructor(
    progress: RecordInProgress,
    value: T,
    consumer: { canPublish: boolean; debug: boolean },
  ) {
    this.#progress = progress;
    this.value = value;
    this.#canPublish = consumer.canPublish;
    this.#debug = consumer.debug;
    this.topic = progress.record.topic;
    this.partition = progress.record.partition;
    this.offset = progress.record.offset;
    this.timestamp = progress.record.timestamp;
  }

  get key(): string | null {
    return this.#progress.key;
  }
  get headers(): Readonly<Record<string, string>> {
    return this.#progress.headers;
  }
  get correlationId(): string {
    return this.#progress.correlationId;
  }
  get redriveAttempt(): number {
    return this.#progress.redriveAttempt;
  }
  get logger(): Logger {
    return this.#progress.logger;
  }

  debug(message: string, attributes?: Record<string, unknown>): void {
    if (this.#debug) this.#progress.logger.debug(message, attributes ?? {});
  }

  publishWithBatch(
    events: readonly DomainEvent[],
    afterPublished?: () => Promise<void>,
  ): void {
    if (!this.#canPublish) {
      throw new Error(
        'publishWithBatch needs the consumer to be made with a publisher',
      );
    }
    this.#progress.emission ??= { events: [], afterPublished: [] };
    this.#progress.emission.events.push(...events);
    if (afterPublished)
      this.#progress.emission.afterPublished.push(afterPublished);
  }
}

/**
 * Makes a Kafka-triggered Lambda handler (Amazon MSK or self-managed). It resolves
 * with the partial batch response, `{ batchItemFailures: [] }` on full success; it
 * rejects only when the event is not a Kafka event (the whole batch is retried).
 *
 * Ordering and concurrency (docs/performance.md section "Concurrency within a
 * batch"): partitions are handled side by side. Within a partition, the records of
 * one key are handled one after the other in offset order, and records of other
 * keys side by side with them, at most `concurrency` at once. Records without a key
 * count as one key of their own: they keep their partition order among themselves.
 * Once a record of a key fails (transient), the later records of that key in the
 * batch are not handled; the other keys go on.
 *
 * The partial batch response names, per partition, only the lowest offset that did
 * not finish: the ESM retries a partition from the record it is told about, and
 * AWS does not say what it does with several of one partition
 * (docs/aws-kafka-esm.md, "Partial batch response"). The records after that offset
 * that did finish are delivered again: every handler must be idempotent.
 * https://docs.aws.amazon.com/lambda/latest/dg/kafka-retry-configurations.html
 *
 * Events handed over with `record.publishWithBatch` are published in one call
 * once every record is handled; then each record's `afterPublished` runs, side by
 * side. A publish that fails fails every record that handed events over (so its
 * partition is reported from the lowest of them); a follow-up that fails fails its
 * record. Both wait out an outage inside the invocation, as a record does.
 *
 * @example
 * ```ts
 * export const handler = createKafkaConsumer({
 *   name: 'payment',
 *   schema: PaymentInput,
 *   deadLetters: producer,
 *   publisher: producer,
 *   logger,
 *   handle: async (record) => pay(record),
 * });
 * ```
 */
export function createKafkaConsumer<T>(
  options: KafkaConsumerOptions<T>,
): (event: unknown, context?: InvocationClock) => Promise<KafkaBatchResponse> {
  const now = options.now ?? (() => new Date());
  const concurrency = options.concurrency ?? DEFAULT_CONSUMER_CONCURRENCY;
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    throw new RangeError(
      `concurrency must be a whole number of at least 1, not ${concurrency}`,
    );
  }
  const canPublish = options.publisher !== undefined;
  const wait = {
    policy: options.outageWait?.policy ?? DEFAULT_OUTAGE_POLICY,
    sleep: options.outageWait?.sleep ?? ((ms: number) => sleepFor(ms)),
    random: options.outageWait?.random ?? Math.random,
    isOutage: options.outageWait?.isOutage ?? isDependencyOutage,
  };
  /** Whether per-record debug lines are written; read once per batch. */
  let debugEnabled = false;

  /**
   * Tries `once` until it does not fail, or fails for another reason than an outage,
   * or the invocation has no time left for another wait and try
   * (docs/broker-outages.md). The last try, and how many there were.
   */
  async function withOutageWaits(
    once: () => Promise<Tried>,
    context: InvocationClock | undefined,
    logger: () => Logger,
    again: string,
  ): Promise<{ tried: Tried; tries: number }> {
    let longestTryMs = 0;
    for (let failures = 1; ; failures += 1) {
      const started = now().getTime();
      const tried = await once();
      if (tried.outcome !== 'failed') return { tried, tries: failures };
      longestTryMs = Math.max(longestTryMs, now().getTime() - started);
      const delayMs =
        context && wait.isOutage(tried.error)
          ? nextOutageDelay(
              wait.policy,
              {
                failures,
                longestTryMs,
                remainingMs: context.getRemainingTimeInMillis(),
              },
              wait.random,
            )
          : undefined;
      if (delayMs === undefined) return { tried, tries: failures };
      logger().warn(again, { error: tried.error, tries: failures, delayMs });
      await wait.sleep(delayMs);
    }
  }

  /** Consumes one record; 'failed' when its key must stop at it. */
  async function consumeRecord(
    progress: RecordInProgress,
    context: InvocationClock | undefined,
  ): Promise<Outcome> {
    const { tried, tries } = await withOutageWaits(
      () => tryRecord(progress),
      context,
      () => progress.logger,
      'dependency unavailable: trying the record again',
    );
    if (tried.outcome !== 'failed') return tried.outcome;
    progress.logger.error(
      tried.poison === undefined
        ? 'record failed: its partition is retried from it'
        : 'poison record could not be put aside: its partition is retried from it',
      {
        error: tried.error,
        ...(tried.poison === undefined ? {} : { poison: tried.poison }),
        tries,
      },
    );
    return 'failed';
  }

  /** One try: validate and handle, or put a poison record aside. */
  async function tryRecord(progress: RecordInProgress): Promise<Tried> {
    progress.emission = undefined;
    const { record } = progress;
    try {
      const value = validate(progress.parsed, options.schema);
      const belongsOn = options.topicOf?.(value);
      if (belongsOn !== undefined && belongsOn !== record.topic) {
        throw new WrongTopicRecordError(
          `record value belongs on ${belongsOn}, not on ${record.topic}`,
        );
      }
      await options.handle(
        new Received(progress, value, { canPublish, debug: debugEnabled }),
      );
      if (debugEnabled) progress.logger.debug('record consumed');
      return { outcome: 'consumed' };
    } catch (error) {
      progress.emission = undefined;
      if (classifyFailure(error) === 'transient') {
        return { outcome: 'failed', error, poison: undefined };
      }
      const failure = await putAside(progress, error);
      return failure === undefined
        ? { outcome: 'dead-lettered' }
        : { outcome: 'failed', error: failure, poison: error };
    }
  }

  /** Dead-letters (or parks) a poison record; the error when that failed. */
  async function putAside(
    progress: RecordInProgress,
    error: unknown,
  ): Promise<DeadLetterWriteError | undefined> {
    const { record, logger } = progress;
    const input = {
      record,
      error,
      consumer: options.name,
      correlationId: progress.correlationId,
      attempt: progress.redriveAttempt,
      now: now(),
    };
    try {
      if (options.park) {
        await options.park(poisonDeadLetter(input));
        logger.error('poison record parked', { error });
        return undefined;
      }
      if (record.topic.endsWith(DEAD_LETTER_SUFFIX)) {
        throw new DeadLetterRecursionError(
          `will not dead-letter a record of the dead-letter topic ${record.topic}; give the consumer a park option`,
        );
      }
      const topic = deadLetterTopic(record.topic);
      await options.deadLetters.send(topic, encodeConsumerDeadLetter(input));
      logger.error('poison record dead-lettered', {
        deadLetterTopic: topic,
        error,
      });
      return undefined;
    } catch (writeError) {
      return new DeadLetterWriteError('dead letter not written', {
        cause: writeError,
      });
    }
  }

  /**
   * One partition: one lane per key, each in offset order, at most `concurrency`
   * lanes at once. The lowest offset that did not finish, if any; the records that
   * handed events over go to `emitters`.
   */
  async function consumePartition(
    records: readonly MskRecord[],
    tally: Record<Outcome, number>,
    context: InvocationClock | undefined,
    emitters: RecordInProgress[],
  ): Promise<number | undefined> {
    // The key's base64 text names its lane; keyless records share the null lane.
    const lanes = new Map<string | null, MskRecord[]>();
    for (const record of records) {
      const id = record.key ?? null;
      const lane = lanes.get(id);
      if (lane) lane.push(record);
      else lanes.set(id, [record]);
    }
    const queue = [...lanes.values()];
    let next = 0;
    let lowestFailed: number | undefined;
    const work = async () => {
      for (let lane = queue[next++]; lane; lane = queue[next++]) {
        for (const record of lane) {
          let progress: RecordInProgress | undefined;
          let outcome: Outcome;
          try {
            progress = new RecordInProgress(
              record,
              parse(record),
              options.name,
              options.logger,
            );
            outcome = await consumeRecord(progress, context);
          } catch (error) {
            // Only a logger or a clock could throw here; stop rather than skip.
            options.logger.error('record consumption crashed', {
              error,
              topic: record.topic,
              partition: record.partition,
              offset: record.offset,
            });
            outcome = 'failed';
          }
          tally[outcome] += 1;
          if (outcome === 'failed') {
            lowestFailed = Math.min(
              lowestFailed ?? record.offset,
              record.offset,
            );
            break;
          }
          if (progress?.emission) emitters.push(progress);
        }
      }
    };
    const workers = Math.min(concurrency, queue.length);
    if (workers === 1) await work();
    else await Promise.all(Array.from({ length: workers }, work));
    return lowestFailed;
  }

  /**
   * Publishes the events of every record that handed some over, in one call, then
   * runs their follow-ups side by side. The records that must be retried.
   */
  async function publishBatch(
    emitters: readonly RecordInProgress[],
    context: InvocationClock | undefined,
  ): Promise<Set<RecordInProgress>> {
    const publisher = options.publisher;
    if (emitters.length === 0 || !publisher) return new Set();
    // An event handed over twice in one batch (a duplicate delivery of the same
    // record, whose redelivery re-derives the same event) goes out once.
    const seen = new Set<string>();
    const events: DomainEvent[] = [];
    for (const progress of emitters) {
      for (const event of progress.emission?.events ?? []) {
        if (seen.has(event.eventId)) continue;
        seen.add(event.eventId);
        events.push(event);
      }
    }
    const published = await withOutageWaits(
      () => attempt(() => publisher.publish(events)),
      context,
      () => options.logger,
      "dependency unavailable: trying the batch's publish again",
    );
    if (published.tried.outcome === 'failed') {
      options.logger.error(
        "the batch's events were not published: every record that handed events over is retried",
        {
          consumer: options.name,
          error: published.tried.error,
          tries: published.tries,
          records: emitters.length,
          events: events.length,
        },
      );
      return new Set(emitters);
    }
    const failed = new Set<RecordInProgress>();
    await Promise.all(
      emitters.map(async (progress) => {
        for (const followUp of progress.emission?.afterPublished ?? []) {
          const { tried, tries } = await withOutageWaits(
            () => attempt(followUp),
            context,
            () => progress.logger,
            'dependency unavailable: trying the follow-up of a publish again',
          );
          if (tried.outcome === 'failed') {
            progress.logger.error(
              'events published but their follow-up failed: the record is retried',
              { error: tried.error, tries },
            );
            failed.add(progress);
            return;
          }
        }
      }),
    );
    return failed;
  }

  return async (event, context) => {
    const result = MskEvent.safeParse(event);
    if (!result.success) {
      throw new InvalidKafkaEventError(
        `not a Kafka event source mapping event: ${z.prettifyError(result.error)}`,
      );
    }
    const level = options.logger.getLevelName();
    debugEnabled = level === 'DEBUG' || level === 'TRACE';
    const partitions = byPartition(result.data.records);
    const tally: Record<Outcome, number> = {
      consumed: 0,
      'dead-lettered': 0,
      failed: 0,
    };
    const emitters = partitions.map((): RecordInProgress[] => []);
    const lowest = await Promise.all(
      partitions.map((records, index) =>
        consumePartition(records, tally, context, emitters[index] ?? []),
      ),
    );
    // Offset order within each partition, so each key's events go out in order.
    for (const list of emitters) {
      list.sort((a, b) => a.record.offset - b.record.offset);
    }
    const unpublished = await publishBatch(emitters.flat(), context);
    const batchItemFailures: KafkaBatchItemFailure[] = [];
    partitions.forEach((records, index) => {
      let offset = lowest[index];
      for (const progress of emitters[index] ?? []) {
        if (!unpublished.has(progress)) continue;
        tally.consumed -= 1;
        tally.failed += 1;
        offset = Math.min(
          offset ?? progress.record.offset,
          progress.record.offset,
        );
      }
      const first = records[0];
      if (offset !== undefined && first) {
        batchItemFailures.push({
          itemIdentifier: { partition: topicPartition(first), offset },
        });
      }
    });
    const topic = partitions[0]?.[0]?.topic;
    if (options.metrics && topic) {
      options.metrics.addDimensions({ topic });
      options.metrics.addMetric(
        'RecordsConsumed',
        MetricUnit.Count,
        tally.consumed,
      );
      options.metrics.addMetric(
        'RecordsDeadLettered',
        MetricUnit.Count,
        tally['dead-lettered'],
      );
      options.metrics.addMetric(
        'RecordsFailed',
        MetricUnit.Count,
        tally.failed,
      );
    }
    options.logger.info('batch consumed', {
      consumer: options.name,
      partitions: partitions.length,
      records: partitions.reduce((count, records) => count + records.length, 0),
      ...tally,
      failedPartitions: batchItemFailures.map(
        (failure) => failure.itemIdentifier,
      ),
    });
    return { batchItemFailures };
  };
}

/** Runs `work` as one try: failed with its error when it throws. */
async function attempt(work: () => Promise<unknown>): Promise<Tried> {
  try {
    await work();
    return { outcome: 'consumed' };
  } catch (error) {
    return { outcome: 'failed', error, poison: undefined };
  }
}

/**
 * Groups records by their own topic and partition (never by parsing the `records`
 * keys), each group in offset order.
 */
function byPartition(
  records: Readonly<Record<string, readonly MskRecord[]>>,
): MskRecord[][] {
  const topics = new Map<string, Map<number, MskRecord[]>>();
  for (const list of Object.values(records)) {
    for (const record of list) {
      let partitions = topics.get(record.topic);
      if (!partitions) {
        partitions = new Map();
        topics.set(record.topic, partitions);
      }
      const group = partitions.get(record.partition);
      if (group) group.push(record);
      else partitions.set(record.partition, [record]);
    }
  }
  const groups: MskRecord[][] = [];
  for (const partitions of topics.values()) {
    for (const group of partitions.values()) {
      groups.push(group.sort((a, b) => a.offset - b.offset));
    }
  }
  return groups;
}

function parse(record: MskRecord): Parsed {
  try {
    const text = decodeValueText(record);
    if (text === null) return { kind: 'tombstone' };
    return { kind: 'json', value: JSON.parse(text) };
  } catch (error) {
    return { kind: 'not-json', error };
  }
}

function validate<T>(parsed: Parsed, schema: SafeParser<T>): T {
  switch (parsed.kind) {
    case 'tombstone':
      throw new TombstoneRecordError('record has no value (tombstone)');
    case 'not-json':
      throw new NotJsonRecordError(
        `record value is not UTF-8 JSON: ${messageOf(parsed.error)}`,
        { cause: parsed.error },
      );
    case 'json': {
      const result = schema.safeParse(parsed.value);
      if (result.success) return result.data;
      throw new SchemaMismatchRecordError(
        `record value fails the schema: ${z.prettifyError(result.error)}`,
        { cause: result.error },
      );
    }
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function valueCorrelationId(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const { correlationId } = value as { correlationId?: unknown };
  return typeof correlationId === 'string' ? correlationId : undefined;
}
