/**
 * A record as a handler receives it ({@link ConsumedRecord}) and as the consumer
 * works on it ({@link RecordInProgress}): what is derived from the record (key,
 * headers, correlation id, redrive attempt, child logger) is derived once and only
 * when read, and the events a try hands over with `publishWithBatch` are kept here.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from '@aws-lambda-powertools/logger';
import { type DomainEvent, HEADERS } from '#domain/events.ts';
import { redriveAttempt } from '../dead-letter-codec.ts';
import {
  decodeKey,
  findHeader,
  headerMap,
  type MskRecord,
} from '../msk-event.ts';
import type { Parsed } from './record-validation.ts';

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

/** What a record handed over with `publishWithBatch`. */
export interface Emission {
  readonly events: DomainEvent[];
  readonly afterPublished: (() => Promise<void>)[];
}

/**
 * One record as the consumer works on it: what it derives from the record is
 * derived once and only when read (see {@link ConsumedRecord}).
 */
export class RecordInProgress {
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
export class Received<T> implements ConsumedRecord<T> {
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

function valueCorrelationId(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const { correlationId } = value as { correlationId?: unknown };
  return typeof correlationId === 'string' ? correlationId : undefined;
}
