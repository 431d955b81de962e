/**
 * The wire formats of dead letters, decoded into the one shape the reprocessor stores
 * (`ReceivedDeadLetter`, `#domain/dead-letter.ts`). Two writers share every
 * `<topic>.dead-letter` topic (docs/domain.md section 7):
 * - our Kafka consumer module, for poison records: a JSON document of kind
 *   `consumer-dead-letter`, written by `encodeConsumerDeadLetter`;
 * - the event source mapping's `kafka://` on-failure destination, after its retries or
 *   record age ran out: failure metadata plus a one-record event,
 *   https://docs.aws.amazon.com/lambda/latest/dg/kafka-on-failure-destination.html
 *   (docs/aws-kafka-esm.md, On-failure destinations).
 *
 * Unreadable dead letters must not be dead-lettered again (that would make
 * `x.dead-letter.dead-letter`): the reprocessor parks them itself, with their raw bytes,
 * through the consumer module's `park` option and `poisonDeadLetter`.
 *
 * This file decodes a dead-letter message of either writer and re-exports the codec's
 * public API; the formats are modules of ./dead-letter-codec/:
 * consumer-dead-letter.ts (the consumers' document: encoding it, and the parked
 * shape), esm-on-failure-record.ts (the ESM's record, read as a dead letter),
 * letter-fields.ts (what every dead letter keeps: id, original record, failure,
 * redrive attempt) and errors.ts.
 */
import * as z from 'zod';
import { lineageOf, type ReceivedDeadLetter } from '#domain/dead-letter.ts';
import {
  CONSUMER_DEAD_LETTER_KIND,
  ConsumerDeadLetterDocument,
} from './dead-letter-codec/consumer-dead-letter.ts';
import { UnreadableDeadLetterError } from './dead-letter-codec/errors.ts';
import {
  EsmOnFailureRecord,
  fromEsmRecord,
} from './dead-letter-codec/esm-on-failure-record.ts';
import {
  type DeadLetterPosition,
  deadLetterId,
} from './dead-letter-codec/letter-fields.ts';
import { isRecord } from './guards.ts';

export {
  CONSUMER_DEAD_LETTER_KIND,
  ConsumerDeadLetterDocument,
  type ConsumerFailure,
  DEAD_LETTER_EVENT_TYPE,
  type DeadLetterMessage,
  encodeConsumerDeadLetter,
  poisonDeadLetter,
} from './dead-letter-codec/consumer-dead-letter.ts';
export { UnreadableDeadLetterError } from './dead-letter-codec/errors.ts';
export { EsmOnFailureRecord } from './dead-letter-codec/esm-on-failure-record.ts';
export {
  type DeadLetterPosition,
  describeFailure,
  redriveAttempt,
  toOriginalRecord,
} from './dead-letter-codec/letter-fields.ts';

/**
 * Decodes a dead-letter message, from either writer, into the shape the reprocessor
 * stores. `id` is the position of the dead-letter message itself, so a redelivered one
 * is stored once.
 *
 * @throws {UnreadableDeadLetterError} a tombstone, not JSON, or neither format.
 * @example
 * ```ts
 * const letter = decodeDeadLetter({ topic, partition, offset: '7', value });
 * letter.error.class; // 'poison' | 'transient'
 * ```
 */
export function decodeDeadLetter(
  message: DeadLetterPosition & { value: Buffer | null },
): ReceivedDeadLetter {
  if (message.value === null) {
    throw new UnreadableDeadLetterError('dead letter has no value (tombstone)');
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(message.value.toString('utf8'));
  } catch (error) {
    throw new UnreadableDeadLetterError('dead letter is not JSON', {
      cause: error,
    });
  }
  return parseDeadLetter(parsed, message);
}

/**
 * {@link decodeDeadLetter} for a value already parsed from JSON, as a consumer module
 * handler receives it (`schema: z.unknown()`).
 *
 * @throws {UnreadableDeadLetterError} neither format.
 * @example
 * ```ts
 * handle: async (record) => store(parseDeadLetter(record.value, record)),
 * ```
 */
export function parseDeadLetter(
  value: unknown,
  position: DeadLetterPosition,
): ReceivedDeadLetter {
  const id = deadLetterId(position);
  if (isRecord(value) && value.kind === CONSUMER_DEAD_LETTER_KIND) {
    const result = ConsumerDeadLetterDocument.safeParse(value);
    if (!result.success) {
      throw new UnreadableDeadLetterError(
        `consumer dead letter is malformed: ${z.prettifyError(result.error)}`,
      );
    }
    const { kind: _kind, version: _version, ...letter } = result.data;
    return {
      id,
      source: 'consumer',
      ...letter,
      ...lineageOf(id, letter.original.headers),
    };
  }
  const result = EsmOnFailureRecord.safeParse(value);
  if (!result.success) {
    throw new UnreadableDeadLetterError(
      `dead letter is neither a consumer dead letter nor an ESM on-failure record: ${z.prettifyError(result.error)}`,
    );
  }
  return fromEsmRecord(id, result.data);
}
