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
 * - ordering: records of one partition one after the other in offset order, partitions
 *   concurrently, as the ESM itself does across pollers;
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
import { deadLetterTopic, HEADERS } from '#domain/events.ts';
import {
  classifyFailure,
  PoisonRecordError,
  TransientError,
} from '#domain/failures.ts';
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
import { KafkaUnavailableError } from './kafka-publisher.ts';
import {
  decodeKey,
  decodeValue,
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
 * A decoded, validated record, as a handler receives it.
 *
 * @example
 * ```ts
 * handle: async (record: ConsumedRecord<PaymentInput>) => {
 *   record.logger.info('charging', { orderId: record.value.data.orderId });
 * },
 * ```
 */
export interface ConsumedRecord<T> {
  topic: string;
  partition: number;
  offset: number;
  /** Epoch milliseconds. */
  timestamp: number;
  /** The key as UTF-8; `null` when the record has none. */
  key: string | null;
  /** Header values as UTF-8; when a name repeats, the last value wins. */
  headers: Readonly<Record<string, string>>;
  value: T;
  /** The `correlation-id` header, else the value's `correlationId`, else a new one. */
  correlationId: string;
  /** The `redrive-attempt` header (0 when absent). */
  redriveAttempt: number;
  /** A child logger with correlationId, consumer, topic, partition and offset. */
  logger: Logger;
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
  /** The value's schema; a value that fails it is poison. */
  schema: z.ZodType<T>;
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

/** One try at a record: how it ended, and the error when it failed. */
type Tried =
  | { outcome: 'consumed' | 'dead-lettered' }
  | { outcome: 'failed'; error: unknown; poison: unknown };

type Parsed =
  | { kind: 'tombstone' }
  | { kind: 'json'; value: unknown }
  | { kind: 'not-json'; error: unknown };

/**
 * Makes a Kafka-triggered Lambda handler (Amazon MSK or self-managed). It resolves
 * with the partial batch response, `{ batchItemFailures: [] }` on full success; it
 * rejects only when the event is not a Kafka event (the whole batch is retried).
 *
 * @example
 * ```ts
 * export const handler = createKafkaConsumer({
 *   name: 'payment',
 *   schema: PaymentInput,
 *   deadLetters: producer,
 *   logger,
 *   handle: async (record) => pay(record.value, record.logger),
 * });
 * ```
 */
export function createKafkaConsumer<T>(
  options: KafkaConsumerOptions<T>,
): (event: unknown, context?: InvocationClock) => Promise<KafkaBatchResponse> {
  const now = options.now ?? (() => new Date());
  const wait = {
    policy: options.outageWait?.policy ?? DEFAULT_OUTAGE_POLICY,
    sleep: options.outageWait?.sleep ?? ((ms: number) => sleepFor(ms)),
    random: options.outageWait?.random ?? Math.random,
    isOutage: options.outageWait?.isOutage ?? isDependencyOutage,
  };

  /**
   * Consumes one record; 'failed' when its partition must stop at it. A try that
   * failed because a dependency is down is repeated, after a short backoff, while
   * the invocation has time for it (docs/broker-outages.md).
   */
  async function consumeRecord(
    record: MskRecord,
    context: InvocationClock | undefined,
  ): Promise<Outcome> {
    const parsed = parse(record);
    const headers = headerMap(record.headers);
    const correlationId =
      headers[HEADERS.correlationId] ||
      (parsed.kind === 'json' ? valueCorrelationId(parsed.value) : undefined) ||
      randomUUID();
    const attempt = redriveAttempt(record.headers);
    // A child logger per record: appendKeys on a shared logger would mix keys of
    // records that other partitions process at the same time.
    const logger = options.logger.createChild({
      persistentKeys: {
        correlationId,
        consumer: options.name,
        topic: record.topic,
        partition: record.partition,
        offset: record.offset,
      },
    });
    let longestTryMs = 0;
    for (let failures = 1; ; failures += 1) {
      const started = now().getTime();
      const tried = await tryRecord(record, parsed, {
        headers,
        correlationId,
        attempt,
        logger,
      });
      if (tried.outcome !== 'failed') return tried.outcome;
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
      if (delayMs === undefined) {
        logger.error(
          tried.poison === undefined
            ? 'record failed: its partition stops here and is retried from it'
            : 'poison record could not be put aside: its partition stops here and is retried from it',
          {
            error: tried.error,
            ...(tried.poison === undefined ? {} : { poison: tried.poison }),
            tries: failures,
          },
        );
        return 'failed';
      }
      logger.warn('dependency unavailable: trying the record again', {
        error: tried.error,
        tries: failures,
        delayMs,
      });
      await wait.sleep(delayMs);
    }
  }

  /** One try: validate and handle, or put a poison record aside. */
  async function tryRecord(
    record: MskRecord,
    parsed: Parsed,
    meta: {
      headers: Readonly<Record<string, string>>;
      correlationId: string;
      attempt: number;
      logger: Logger;
    },
  ): Promise<Tried> {
    const { headers, correlationId, attempt, logger } = meta;
    try {
      const value = validate(parsed, options.schema);
      const belongsOn = options.topicOf?.(value);
      if (belongsOn !== undefined && belongsOn !== record.topic) {
        throw new WrongTopicRecordError(
          `record value belongs on ${belongsOn}, not on ${record.topic}`,
        );
      }
      await options.handle({
        topic: record.topic,
        partition: record.partition,
        offset: record.offset,
        timestamp: record.timestamp,
        key: decodeKey(record)?.toString('utf8') ?? null,
        headers,
        value,
        correlationId,
        redriveAttempt: attempt,
        logger,
      });
      logger.debug('record consumed');
      return { outcome: 'consumed' };
    } catch (error) {
      if (classifyFailure(error) === 'transient') {
        return { outcome: 'failed', error, poison: undefined };
      }
      const failure = await putAside(record, {
        error,
        correlationId,
        attempt,
        logger,
      });
      return failure === undefined
        ? { outcome: 'dead-lettered' }
        : { outcome: 'failed', error: failure, poison: error };
    }
  }

  /** Dead-letters (or parks) a poison record; the error when that failed. */
  async function putAside(
    record: MskRecord,
    failure: {
      error: unknown;
      correlationId: string;
      attempt: number;
      logger: Logger;
    },
  ): Promise<DeadLetterWriteError | undefined> {
    const { error, correlationId, attempt, logger } = failure;
    const input = {
      record,
      error,
      consumer: options.name,
      correlationId,
      attempt,
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

  /** One partition in offset order; the first record it could not finish, if any. */
  async function consumePartition(
    records: readonly MskRecord[],
    tally: Record<Outcome, number>,
    context: InvocationClock | undefined,
  ): Promise<KafkaBatchItemFailure | null> {
    for (const record of records) {
      let outcome: Outcome;
      try {
        outcome = await consumeRecord(record, context);
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
        return {
          itemIdentifier: {
            partition: topicPartition(record),
            offset: record.offset,
          },
        };
      }
    }
    return null;
  }

  return async (event, context) => {
    const result = MskEvent.safeParse(event);
    if (!result.success) {
      throw new InvalidKafkaEventError(
        `not a Kafka event source mapping event: ${z.prettifyError(result.error)}`,
      );
    }
    const partitions = byPartition(result.data.records);
    const tally: Record<Outcome, number> = {
      consumed: 0,
      'dead-lettered': 0,
      failed: 0,
    };
    const outcomes = await Promise.all(
      partitions.map((records) => consumePartition(records, tally, context)),
    );
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
    const batchItemFailures = outcomes.filter(
      (failure): failure is KafkaBatchItemFailure => failure !== null,
    );
    options.logger.info('batch consumed', {
      consumer: options.name,
      partitions: partitions.length,
      records: partitions.reduce((count, records) => count + records.length, 0),
      failedPartitions: batchItemFailures.map(
        (failure) => failure.itemIdentifier,
      ),
    });
    return { batchItemFailures };
  };
}

/**
 * Groups records by their own topic and partition (never by parsing the `records`
 * keys), each group in offset order.
 */
function byPartition(
  records: Readonly<Record<string, readonly MskRecord[]>>,
): MskRecord[][] {
  const groups = new Map<string, MskRecord[]>();
  for (const record of Object.values(records).flat()) {
    const id = JSON.stringify([record.topic, record.partition]);
    const group = groups.get(id);
    if (group) group.push(record);
    else groups.set(id, [record]);
  }
  return [...groups.values()].map((group) =>
    group.sort((a, b) => a.offset - b.offset),
  );
}

function parse(record: MskRecord): Parsed {
  const bytes = decodeValue(record);
  if (bytes === null) return { kind: 'tombstone' };
  try {
    return {
      kind: 'json',
      value: JSON.parse(
        new TextDecoder('utf-8', { fatal: true }).decode(bytes),
      ),
    };
  } catch (error) {
    return { kind: 'not-json', error };
  }
}

function validate<T>(parsed: Parsed, schema: z.ZodType<T>): T {
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
