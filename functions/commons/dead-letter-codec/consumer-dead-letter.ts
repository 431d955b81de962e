/**
 * The dead letters our Kafka consumers write, for poison records: a JSON document of
 * kind `consumer-dead-letter` on `<topic>.dead-letter` (docs/domain.md section 7), and
 * the stored shape of a record given up on without one (what the reprocessor parks for
 * an unreadable dead letter).
 */
import * as z from 'zod';
import {
  DeadLetterError as DeadLetterErrorSchema,
  lineageOf,
  OriginalRecord as OriginalRecordSchema,
  type ReceivedDeadLetter,
} from '#domain/dead-letter.ts';
import { CONTENT_TYPE_JSON, HEADERS } from '#domain/events.ts';
import { decodeKey, type MskRecord } from '../msk-event.ts';
import {
  deadLetterId,
  describeFailure,
  toOriginalRecord,
} from './letter-fields.ts';

/**
 * The `kind` marker of dead letters our consumers write.
 *
 * @example
 * ```ts
 * const ours = document.kind === CONSUMER_DEAD_LETTER_KIND;
 * ```
 */
export const CONSUMER_DEAD_LETTER_KIND = 'consumer-dead-letter';

/**
 * The `event-type` header of every dead letter our consumers write.
 *
 * @example
 * ```ts
 * message.headers['event-type'] === DEAD_LETTER_EVENT_TYPE; // true
 * ```
 */
export const DEAD_LETTER_EVENT_TYPE = 'DeadLetter';

/**
 * The document our consumers write (value of the dead-letter message, UTF-8 JSON).
 *
 * @example
 * ```ts
 * ConsumerDeadLetterDocument.parse(JSON.parse(message.value.toString('utf8')));
 * ```
 */
export const ConsumerDeadLetterDocument = z.object({
  kind: z.literal(CONSUMER_DEAD_LETTER_KIND),
  version: z.literal(1),
  original: OriginalRecordSchema,
  error: DeadLetterErrorSchema,
  consumer: z.string().min(1),
  attempt: z.number().int().min(0),
  correlationId: z.string().nullable(),
  failedAt: z.iso.datetime(),
});
export type ConsumerDeadLetterDocument = z.infer<
  typeof ConsumerDeadLetterDocument
>;

/**
 * What a consumer knows when it gives up on a record.
 *
 * @example
 * ```ts
 * const failure: ConsumerFailure = {
 *   record, error, consumer: 'payment', correlationId: 'c-1', attempt: 0, now: new Date(),
 * };
 * ```
 */
export interface ConsumerFailure {
  /** The record as the ESM delivered it. */
  record: MskRecord;
  error: unknown;
  /** The consumer's name, e.g. `payment`. */
  consumer: string;
  correlationId: string | null;
  /** The record's `redrive-attempt` (0: first failure). */
  attempt: number;
  now: Date;
}

/**
 * A Kafka message to produce: key and value bytes, UTF-8 headers.
 *
 * @example
 * ```ts
 * const message: DeadLetterMessage = encodeConsumerDeadLetter(failure);
 * ```
 */
export interface DeadLetterMessage {
  key: Buffer | null;
  value: Buffer;
  headers: Record<string, string>;
}

/**
 * Encodes the dead letter a consumer writes to `<topic>.dead-letter`. The message key is
 * the original key, so a redrive lands in the original partition, as the ESM's own
 * on-failure records do.
 *
 * @example
 * ```ts
 * const message = encodeConsumerDeadLetter({
 *   record, error, consumer: 'payment', correlationId: 'c-1', attempt: 0, now: new Date(),
 * });
 * await deadLetters.send(deadLetterTopic(record.topic), message);
 * ```
 */
export function encodeConsumerDeadLetter(
  input: ConsumerFailure,
): DeadLetterMessage {
  // The same fields the reprocessor stores, less what the dead-letter message's own
  // position and format say (its id and source), and the lineage, which the reader
  // takes from the original record's headers, as for the ESM's records.
  const {
    id: _id,
    source: _source,
    redrivenFrom: _from,
    lineageId: _lineage,
    ...letter
  } = poisonDeadLetter(input);
  const document: ConsumerDeadLetterDocument = {
    kind: CONSUMER_DEAD_LETTER_KIND,
    version: 1,
    ...letter,
  };
  const headers: Record<string, string> = {
    [HEADERS.contentType]: CONTENT_TYPE_JSON,
    [HEADERS.eventType]: DEAD_LETTER_EVENT_TYPE,
  };
  if (input.correlationId !== null) {
    headers[HEADERS.correlationId] = input.correlationId;
  }
  return {
    key: decodeKey(input.record),
    value: Buffer.from(JSON.stringify(document), 'utf8'),
    headers,
  };
}

/**
 * The stored shape of a record its consumer gives up on without writing a dead-letter
 * message: what the reprocessor parks for unreadable dead letters (the record is then
 * the dead-letter message itself, raw bytes kept), instead of recursing into
 * `x.dead-letter.dead-letter`.
 *
 * @example
 * ```ts
 * const letter = poisonDeadLetter({ record, error, consumer: 'dlq-reprocessor',
 *   correlationId: null, attempt: 0, now: new Date() });
 * await store.put({ ...letter, status: 'PARKED', redriveAt: null, history });
 * ```
 */
export function poisonDeadLetter(input: ConsumerFailure): ReceivedDeadLetter {
  const id = deadLetterId(input.record);
  const original = toOriginalRecord(input.record);
  return {
    id,
    source: 'consumer',
    original,
    error: describeFailure(input.error),
    consumer: input.consumer,
    attempt: input.attempt,
    correlationId: input.correlationId,
    failedAt: input.now.toISOString(),
    ...lineageOf(id, original.headers),
  };
}
