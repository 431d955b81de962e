/**
 * The fields every dead letter keeps, whichever writer it comes from: its id (where
 * the dead-letter message sits), the original record, what failed, and the record's
 * redrive attempt.
 */
import type { DeadLetterError, OriginalRecord } from '#domain/dead-letter.ts';
import { HEADERS } from '#domain/events.ts';
import { classifyFailure } from '#domain/failures.ts';
import {
  decodeHeaders,
  decodeKey,
  decodeValue,
  findHeader,
  type MskHeader,
  type MskRecord,
} from '../msk-event.ts';

/**
 * Error messages are capped: a dead letter already carries the whole original value,
 * and Kafka refuses messages over the broker's limit (1 MB by default).
 */
const MAX_MESSAGE_LENGTH = 4096;

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

/** The id of a dead letter: the position of the dead-letter message itself. */
export function deadLetterId(position: DeadLetterPosition): string {
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
