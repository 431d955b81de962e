/**
 * The record the event source mapping writes to a `kafka://` on-failure destination
 * after its retries or record age ran out: failure metadata plus a one-record event,
 * https://docs.aws.amazon.com/lambda/latest/dg/kafka-on-failure-destination.html
 * (docs/aws-kafka-esm.md, On-failure destinations), and how a dead letter is read
 * from it.
 */
import * as z from 'zod';
import { isRecord } from '#commons/guards.ts';
import { lineageOf, type ReceivedDeadLetter } from '#domain/dead-letter.ts';
import { HEADERS } from '#domain/events.ts';
import type { FailureClass } from '#domain/failures.ts';
import { decodeValue, findHeader, MskRecord } from '../msk-event.ts';
import { UnreadableDeadLetterError } from './errors.ts';
import { redriveAttempt, toOriginalRecord } from './letter-fields.ts';

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
 * The dead letter an ESM on-failure record carries; `id` is the letter's id (where
 * the on-failure record itself sits).
 *
 * @throws {UnreadableDeadLetterError} it carries other than exactly one record.
 */
export function fromEsmRecord(
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
