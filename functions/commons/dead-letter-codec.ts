/**
 * The wire formats of dead letters, decoded into the one shape the reprocessor stores
 * (`ReceivedDeadLetter`, `#domain/dead-letter.ts`). Two writers share every
 * `<topic>.dead-letter` topic (docs/domain.md section 7):
 * - our Kafka consumer module, for poison records: a JSON document of kind
 *   `consumer-dead-letter`, written by {@link encodeConsumerDeadLetter};
 * - the event source mapping's `kafka://` on-failure destination, after its retries or
 *   record age ran out: failure metadata plus a one-record event,
 *   https://docs.aws.amazon.com/lambda/latest/dg/kafka-on-failure-destination.html
 *   (docs/aws-kafka-esm.md, On-failure destinations).
 *
 * Unreadable dead letters must not be dead-lettered again (that would make
 * `x.dead-letter.dead-letter`): the reprocessor parks them itself, with their raw bytes,
 * through the consumer module's `park` option and {@link poisonDeadLetter}.
 */
import * as z from 'zod';
import {
  type DeadLetterError,
  DeadLetterError as DeadLetterErrorSchema,
  lineageOf,
  type OriginalRecord,
  OriginalRecord as OriginalRecordSchema,
  type ReceivedDeadLetter,
} from '#domain/dead-letter.ts';
import { CONTENT_TYPE_JSON, HEADERS } from '#domain/events.ts';
import {
  classifyFailure,
  type FailureClass,
  PoisonRecordError,
} from '#domain/failures.ts';
import { isRecord } from './guards.ts';
import {
  decodeHeaders,
  decodeKey,
  decodeValue,
  findHeader,
  type MskHeader,
  MskRecord,
} from './msk-event.ts';

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
 * Error messages are capped: a dead letter already carries the whole original value,
 * and Kafka refuses messages over the broker's limit (1 MB by default).
 */
const MAX_MESSAGE_LENGTH = 4096;

/**
 * A dead letter that is neither of the two known formats; poison, never retried.
 *
 * @example
 * ```ts
 * classifyFailure(new UnreadableDeadLetterError('not JSON')); // 'poison'
 * ```
 */
export class UnreadableDeadLetterError extends PoisonRecordError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'UnreadableDeadLetterError';
  }
}

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

const isoTimestamp = z
  .string()
  .refine((text) => !Number.isNaN(Date.parse(text)), 'must be a timestamp');

/**
 * The record the ESM writes to a `kafka://` on-failure destination: one per failed
 * record, `payload` being a one-record event in the usual envelope. Only the fields the
 * reprocessor needs are required.
 *
 * @example
 * ```ts
 * EsmOnFailureRecord.parse(JSON.parse(message.value.toString('utf8')));
 * ```
 */
export const EsmOnFailureRecord = z.object({
  requestContext: z.object({
    requestId: z.string().optional(),
    functionArn: z.string().min(1),
    condition: z.string().min(1),
    approximateInvokeCount: z.number().int().optional(),
  }),
  /** `null` when the function was never invoked (payload too large). */
  responseContext: z
    .object({
      statusCode: z.number().int().optional(),
      executedVersion: z.string().optional(),
      functionError: z.string().optional(),
    })
    .nullish(),
  version: z.string().optional(),
  /** When the ESM gave up (ISO-8601). */
  timestamp: isoTimestamp,
  payload: z.object({ records: z.record(z.string(), z.array(MskRecord)) }),
});
export type EsmOnFailureRecord = z.infer<typeof EsmOnFailureRecord>;

/**
 * The ESM's `condition` strings and their class. Exhausted retries and record age are
 * transient by nature (the record was never shown to be bad). The Kafka destination page
 * says `RetriesExhausted`, the SQS/SNS page `RetryAttemptsExhausted`: both are accepted
 * (docs/aws-kafka-esm.md, Gap 11.1). An oversized payload can never be delivered. An
 * unknown condition is parked for an operator rather than redriven blindly.
 */
const ESM_CONDITIONS: Readonly<Record<string, FailureClass>> = {
  RetriesExhausted: 'transient',
  RetryAttemptsExhausted: 'transient',
  RecordAgeExceeded: 'transient',
  MaximumPayloadSizeExceeded: 'poison',
};

/**
 * What a dead letter records about the failure. For errors, `stack` is the stack's first
 * frame (`at ...`): its literal first line only repeats the name and message.
 *
 * @example
 * ```ts
 * describeFailure(new PoisonRecordError('not JSON')).class; // 'poison'
 * ```
 */
export function describeFailure(error: unknown): DeadLetterError {
  if (error instanceof Error) {
    const frame = error.stack
      ?.split('\n')
      .map((line) => line.trim())
      .find((line) => line.startsWith('at '));
    return {
      class: classifyFailure(error),
      name: error.name,
      message: cap(error.message),
      stack: frame ?? null,
    };
  }
  return {
    class: classifyFailure(error),
    name: typeof error,
    message: cap(safeString(error)),
    stack: null,
  };
}

/**
 * The original record as a dead letter keeps it: key, value and header values as
 * base64 (or null), so bytes that are not UTF-8 survive; the offset as a decimal string.
 *
 * @example
 * ```ts
 * toOriginalRecord(record).offset; // '15'
 * ```
 */
export function toOriginalRecord(record: MskRecord): OriginalRecord {
  return {
    topic: record.topic,
    partition: record.partition,
    offset: String(record.offset),
    timestamp: record.timestamp,
    key: decodeKey(record)?.toString('base64') ?? null,
    value: decodeValue(record)?.toString('base64') ?? null,
    headers: decodeHeaders(record.headers).map(({ key, value }) => ({
      key,
      value: value.toString('base64'),
    })),
  };
}

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

/**
 * Where a dead-letter message sits: the dead-letter topic, partition and offset.
 *
 * @example
 * ```ts
 * const position: DeadLetterPosition = { topic: 'x.dead-letter', partition: 0, offset: '7' };
 * ```
 */
export interface DeadLetterPosition {
  topic: string;
  partition: number;
  /** Kafka offsets are int64: a decimal string, or a number when it is safe. */
  offset: string | number;
}

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

function fromEsmRecord(
  id: string,
  esm: EsmOnFailureRecord,
): ReceivedDeadLetter {
  const records = Object.values(esm.payload.records).flat();
  const [record] = records;
  if (record === undefined || records.length !== 1) {
    throw new UnreadableDeadLetterError(
      `ESM on-failure record must carry exactly one record, got ${records.length}`,
    );
  }
  const { condition, functionArn, approximateInvokeCount } = esm.requestContext;
  const functionError = esm.responseContext?.functionError;
  const original = toOriginalRecord(record);
  const details = [
    approximateInvokeCount === undefined
      ? undefined
      : `after ${approximateInvokeCount} invocation(s)`,
    functionError === undefined ? undefined : `function error ${functionError}`,
  ].filter((part) => part !== undefined);
  return {
    id,
    source: 'event-source-mapping',
    original,
    error: {
      class: ESM_CONDITIONS[condition] ?? 'poison',
      name: condition,
      message: [condition, ...details].join(', '),
      stack: null,
    },
    consumer: functionArn,
    attempt: redriveAttempt(record.headers),
    correlationId:
      findHeader(record.headers, HEADERS.correlationId) ??
      valueCorrelationId(decodeValue(record)) ??
      null,
    failedAt: new Date(esm.timestamp).toISOString(),
    ...lineageOf(id, original.headers),
  };
}

/**
 * The `redrive-attempt` header as a count; absent or not a decimal count: 0.
 *
 * @example
 * ```ts
 * redriveAttempt([{ 'redrive-attempt': [50] }]); // 2
 * ```
 */
export function redriveAttempt(headers: readonly MskHeader[]): number {
  const text = findHeader(headers, HEADERS.redriveAttempt)?.trim();
  if (text === undefined || !/^\d{1,9}$/.test(text)) return 0;
  return Number(text);
}

/** The `correlationId` of a JSON event envelope, if the value is one. */
function valueCorrelationId(value: Buffer | null): string | undefined {
  if (value === null) return undefined;
  try {
    const parsed: unknown = JSON.parse(value.toString('utf8'));
    return isRecord(parsed) && typeof parsed.correlationId === 'string'
      ? parsed.correlationId
      : undefined;
  } catch {
    return undefined;
  }
}

function deadLetterId(position: DeadLetterPosition): string {
  return `${position.topic}:${position.partition}:${position.offset}`;
}

function cap(text: string): string {
  return text.length <= MAX_MESSAGE_LENGTH
    ? text
    : `${text.slice(0, MAX_MESSAGE_LENGTH - 1)}…`;
}

function safeString(value: unknown): string {
  try {
    return typeof value === 'string'
      ? value
      : (JSON.stringify(value) ?? String(value));
  } catch {
    return Object.prototype.toString.call(value);
  }
}
