/**
 * A dead letter as the reprocessor stores it, whichever wrote it: a consumer (poison or
 * transient failures of our own Kafka consumer module) or the event source mapping's
 * `kafka://` on-failure destination (retries or record age exhausted). The wire formats
 * of both are decoded at the edge (`#commons/dead-letter-codec.ts`) into this one shape.
 */
import { createHash } from 'node:crypto';
import * as z from 'zod';

/**
 * - SCHEDULED: retryable; the reprocessor redrives it automatically at `redriveAt`;
 * - PARKED: waits for an operator (poison, or out of automatic attempts);
 * - REDRIVEN: sent back to its original topic (automatically or by an operator);
 * - DISCARDED: an operator decided to drop it, with a reason. Nothing is ever deleted.
 */
export const DeadLetterStatus = z.enum([
  'SCHEDULED',
  'PARKED',
  'REDRIVEN',
  'DISCARDED',
]);
export type DeadLetterStatus = z.infer<typeof DeadLetterStatus>;

/** A Kafka header, its value as base64 (headers are bytes). */
export const RawHeader = z.object({ key: z.string(), value: z.string() });
export type RawHeader = z.infer<typeof RawHeader>;

/** The record that failed, exactly as it was: key and value as base64, or null. */
export const OriginalRecord = z.object({
  topic: z.string().min(1),
  partition: z.number().int().min(0),
  /** Kafka offsets are int64: kept as a decimal string. */
  offset: z.string().regex(/^\d+$/),
  /** Epoch milliseconds. */
  timestamp: z.number().int(),
  key: z.string().nullable(),
  value: z.string().nullable(),
  headers: z.array(RawHeader),
});
export type OriginalRecord = z.infer<typeof OriginalRecord>;

export const DeadLetterError = z.object({
  class: z.enum(['poison', 'transient']),
  /** Error name for consumer-written letters; the ESM's condition otherwise. */
  name: z.string(),
  message: z.string(),
  /** First line of the stack (consumer-written only). */
  stack: z.string().nullable(),
});
export type DeadLetterError = z.infer<typeof DeadLetterError>;

/**
 * A corrected value an operator sent instead of the original record's value. The
 * original stays as received; the correction lives only in the history entry of the
 * redrive that sent it.
 */
export const Correction = z.object({
  /** The corrected value as sent, base64. */
  value: z.string(),
  /** SHA-256 of the corrected bytes, hex: tells two corrections apart at a glance. */
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
});
export type Correction = z.infer<typeof Correction>;

/**
 * What became of a redrive: `SENT` once Kafka acknowledged the record on `topic`. Only
 * an acknowledged send is recorded (a failed one changes nothing); whether the record
 * then failed again shows in the letter's `redrivenTo`.
 */
export const RedriveOutcome = z.object({
  result: z.literal('SENT'),
  topic: z.string().min(1),
  /** The `redrive-attempt` header the sent record carried. */
  attempt: z.number().int().min(1),
});
export type RedriveOutcome = z.infer<typeof RedriveOutcome>;

export const DeadLetterAction = z.object({
  at: z.iso.datetime(),
  action: z.enum(['RECEIVED', 'SCHEDULED', 'PARKED', 'REDRIVEN', 'DISCARDED']),
  by: z.string(),
  note: z.string().nullable(),
  /**
   * REDRIVEN only: the corrected value sent instead of the original, or null when the
   * original value was sent. Absent on other actions (and on redrives recorded before
   * corrections were kept here, when it was sent as is).
   */
  correction: Correction.nullable().optional(),
  /** REDRIVEN only: where the record went. */
  outcome: RedriveOutcome.optional(),
});
export type DeadLetterAction = z.infer<typeof DeadLetterAction>;

/**
 * The id of a dead letter: `<dead-letter topic>:<partition>:<offset>` of the
 * dead-letter record, so a redelivery stores it once. A Kafka topic name is 1-249 of
 * `[A-Za-z0-9._-]`, partitions and offsets are decimal, so an id is at most 281
 * characters; the admin routes answer anything else as not found before asking the
 * store (which would refuse a key over 2 KiB as an error, not as absent).
 *
 * @example
 * ```ts
 * DeadLetterId.parse('order.placed.v1.dead-letter:0:42');
 * ```
 */
export const DeadLetterId = z
  .string()
  .regex(
    /^[A-Za-z0-9._-]{1,249}:\d{1,10}:\d{1,20}$/,
    'must be <topic>:<partition>:<offset>',
  );

export const DeadLetter = z.object({
  /** `<dead-letter topic>:<partition>:<offset>` of the dead-letter record: redelivery stores it once. */
  id: z.string().min(1),
  source: z.enum(['consumer', 'event-source-mapping']),
  original: OriginalRecord,
  error: DeadLetterError,
  /** The consumer's name, or the function ARN for ESM records. */
  consumer: z.string(),
  /** How many times it has been redriven before this failure (0: first failure). */
  attempt: z.number().int().min(0),
  correlationId: z.string().nullable(),
  failedAt: z.iso.datetime(),
  status: DeadLetterStatus,
  /** When SCHEDULED: when the automatic redrive is due. */
  redriveAt: z.iso.datetime().nullable(),
  history: z.array(DeadLetterAction),
  /**
   * The letter whose redrive sent the record that failed here (the `redriven-from`
   * header of the record), or null: the record failed on its first trip.
   */
  redrivenFrom: z.string().min(1).nullable(),
  /**
   * The first letter of the chain of redrives this one belongs to (the
   * `redrive-lineage` header), or its own id when it starts a chain.
   */
  lineageId: z.string().min(1),
  /**
   * The letters this one's redrive came back as: each failed again after the redrive
   * and was dead-lettered anew. Set by the reprocessor when it receives them.
   */
  redrivenTo: z.array(z.string().min(1)),
});
export type DeadLetter = z.infer<typeof DeadLetter>;

/**
 * The query of `GET /dead-letters` (docs/domain.md section 7, Admin routes): every
 * field optional; `limit` 1-100, 25 unless told.
 *
 * @example
 * ```ts
 * DeadLetterListQuery.parse({ status: 'PARKED', limit: '10' }); // limit: 10
 * ```
 */
export const DeadLetterListQuery = z.object({
  status: DeadLetterStatus.optional(),
  /** The original record's topic, e.g. `order.placed.v1`. */
  topic: z.string().min(1).optional(),
  limit: z.coerce.number().int().min(1).max(100).default(25),
  /** The `cursor` of the previous page. */
  cursor: z.string().min(1).optional(),
});
export type DeadLetterListQuery = z.infer<typeof DeadLetterListQuery>;

/**
 * The optional body of `POST /dead-letters/{id}/redrive`.
 *
 * @example
 * ```ts
 * RedriveRequest.parse({ value: { fixed: true }, note: 'corrected the total' });
 * ```
 */
export const RedriveRequest = z.strictObject({
  /** A corrected value: the JSON to send instead of the original. */
  value: z.unknown().optional(),
  note: z.string().max(500).optional(),
});
export type RedriveRequest = z.infer<typeof RedriveRequest>;

/**
 * The body of `POST /dead-letters/redrive`: redrive many at once.
 *
 * @example
 * ```ts
 * RedriveManyRequest.parse({ ids: ['order.placed.v1.dead-letter:0:42'] });
 * ```
 */
export const RedriveManyRequest = z.strictObject({
  ids: z.array(DeadLetterId).min(1).max(100),
  note: z.string().max(500).optional(),
});
export type RedriveManyRequest = z.infer<typeof RedriveManyRequest>;

/**
 * The body of `POST /dead-letters/{id}/discard`.
 *
 * @example
 * ```ts
 * DiscardRequest.parse({ reason: 'test data' });
 * ```
 */
export const DiscardRequest = z.strictObject({
  reason: z.string().trim().min(1).max(500),
});
export type DiscardRequest = z.infer<typeof DiscardRequest>;

/** Bytes that are UTF-8, as text; null when they are not (or there are none). */
const TextOrNull = z.string().nullable();

/**
 * A dead letter as the admin routes show it: the stored letter, with the original's
 * key and value, and each correction's value, also as text where they are UTF-8.
 *
 * @example
 * ```ts
 * const shown: DeadLetterView = { ...letter, original: { ...letter.original, keyText, valueText }, history };
 * ```
 */
export const DeadLetterView = DeadLetter.extend({
  original: OriginalRecord.extend({
    keyText: TextOrNull,
    valueText: TextOrNull,
  }),
  history: z.array(
    DeadLetterAction.extend({
      correction: Correction.extend({ valueText: TextOrNull })
        .nullable()
        .optional(),
    }),
  ),
});
export type DeadLetterView = z.infer<typeof DeadLetterView>;

/** The body of `GET /dead-letters`: a page; `cursor` is null on the last one. */
export const DeadLetterPage = z.object({
  items: z.array(DeadLetterView),
  cursor: z.string().nullable(),
});
export type DeadLetterPage = z.infer<typeof DeadLetterPage>;

/**
 * The body of `POST /dead-letters/redrive`: one result per id, in the order given,
 * the letter's new status or why it was not redriven.
 */
export const RedriveManyResponse = z.object({
  results: z.array(
    z.union([
      z.object({ id: z.string(), status: DeadLetterStatus }),
      z.object({
        id: z.string(),
        error: z.string(),
        detail: z.string().optional(),
      }),
    ]),
  ),
});
export type RedriveManyResponse = z.infer<typeof RedriveManyResponse>;

/** A dead letter before the reprocessor has decided what to do with it. */
export type ReceivedDeadLetter = Omit<
  DeadLetter,
  'status' | 'redriveAt' | 'history' | 'redrivenTo'
>;

/**
 * The headers a redrive adds to the record it sends, so that a record which fails again
 * comes back as a letter linked to the one it was redriven from: through our consumers'
 * dead letters and the ESM's on-failure records alike, which both carry the record's
 * headers (docs/domain.md section 7, Corrections and lineage).
 */
export const LINEAGE_HEADERS = {
  /** The id of the dead letter whose redrive sent this record. */
  redrivenFrom: 'redriven-from',
  /** The id of the first dead letter of the chain. */
  lineage: 'redrive-lineage',
} as const;

/** Dead-letter ids are `<topic>:<partition>:<offset>`; a topic name has at most 249 characters. */
const MAX_ID_LENGTH = 512;

function headerText(
  headers: readonly RawHeader[],
  key: string,
): string | undefined {
  const header = headers.find((each) => each.key === key);
  if (header === undefined) return undefined;
  const bytes = Buffer.from(header.value, 'base64');
  const text = new TextDecoder('utf-8', { fatal: false }).decode(bytes);
  // Only a printable ASCII id (bytes that are not UTF-8 decode to U+FFFD and fail).
  return text.length <= MAX_ID_LENGTH && /^[\x21-\x7e]+$/.test(text)
    ? text
    : undefined;
}

/**
 * Where a dead letter sits in a chain of redrives, read from the failed record's
 * headers (see {@link LINEAGE_HEADERS}). A header that is not a printable id is
 * ignored; a lineage without a `redriven-from` is ignored too.
 *
 * @example
 * ```ts
 * lineageOf('x.dead-letter:0:9', letter.original.headers);
 * // { redrivenFrom: 'x.dead-letter:0:3', lineageId: 'x.dead-letter:0:1' }
 * ```
 */
export function lineageOf(
  id: string,
  headers: readonly RawHeader[],
): { redrivenFrom: string | null; lineageId: string } {
  const redrivenFrom = headerText(headers, LINEAGE_HEADERS.redrivenFrom);
  if (redrivenFrom === undefined) return { redrivenFrom: null, lineageId: id };
  return {
    redrivenFrom,
    lineageId: headerText(headers, LINEAGE_HEADERS.lineage) ?? redrivenFrom,
  };
}

/**
 * The history record of a corrected value: the bytes (base64) and their SHA-256.
 *
 * @example
 * ```ts
 * correctionOf(Buffer.from('{"fixed":true}')).sha256; // 64 hex digits
 * ```
 */
export function correctionOf(value: Buffer): Correction {
  return {
    value: value.toString('base64'),
    sha256: createHash('sha256').update(value).digest('hex'),
  };
}
