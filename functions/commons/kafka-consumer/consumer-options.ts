/**
 * How a consumer is made: its options ({@link KafkaConsumerOptions}) and the
 * settings its parts read, with every default resolved once
 * ({@link consumerSettings}).
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import type { ReceivedDeadLetter } from '#domain/dead-letter.ts';
import type { SafeParser } from '#domain/fast-accept.ts';
import type { BatchPublisher } from './batch-publish.ts';
import type { ConsumedRecord } from './consumed-record.ts';
import type { DeadLetterSink } from './dead-lettering.ts';
import type { WrongTopicRecordError } from './errors.ts';
import {
  type isDependencyOutage,
  type OutageWaitOptions,
  outageWaits,
  type WithOutageWaits,
} from './outage-waits.ts';

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

/** A consumer's options with their defaults resolved, as its parts read them. */
export interface ConsumerSettings<T> {
  readonly options: KafkaConsumerOptions<T>;
  readonly now: () => Date;
  readonly concurrency: number;
  readonly canPublish: boolean;
  readonly withOutageWaits: WithOutageWaits;
  /** Whether per-record debug lines are written; read once per batch. */
  debugEnabled: boolean;
}

/**
 * The settings of a consumer made with `options`; a `RangeError` when its
 * concurrency is not a whole number of at least 1.
 */
export function consumerSettings<T>(
  options: KafkaConsumerOptions<T>,
): ConsumerSettings<T> {
  const now = options.now ?? (() => new Date());
  const concurrency = options.concurrency ?? DEFAULT_CONSUMER_CONCURRENCY;
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    throw new RangeError(
      `concurrency must be a whole number of at least 1, not ${concurrency}`,
    );
  }
  return {
    options,
    now,
    concurrency,
    canPublish: options.publisher !== undefined,
    withOutageWaits: outageWaits(options.outageWait, now),
    debugEnabled: false,
  };
}
