/**
 * A dead letter as the reprocessor stores it, whichever wrote it: a consumer (poison or
 * transient failures of our own Kafka consumer module) or the event source mapping's
 * `kafka://` on-failure destination (retries or record age exhausted). The wire formats
 * of both are decoded at the edge (`#commons/dead-letter-codec.ts`) into this one shape.
 */
import { z } from 'zod';

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

export const DeadLetterAction = z.object({
  at: z.iso.datetime(),
  action: z.enum(['RECEIVED', 'SCHEDULED', 'PARKED', 'REDRIVEN', 'DISCARDED']),
  by: z.string(),
  note: z.string().nullable(),
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
});
export type DeadLetter = z.infer<typeof DeadLetter>;

/** A dead letter before the reprocessor has decided what to do with it. */
export type ReceivedDeadLetter = Omit<
  DeadLetter,
  'status' | 'redriveAt' | 'history'
>;
