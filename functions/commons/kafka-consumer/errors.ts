/**
 * The failures the Kafka consumer names itself: an event that is not a Kafka
 * event, the poison classes of a record's value (docs/domain.md section 7), and a
 * poison record that could not be put aside.
 */
import { PoisonRecordError, TransientError } from '#domain/failures.ts';

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
