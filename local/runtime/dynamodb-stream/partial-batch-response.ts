/**
 * The partial batch response of a DynamoDB stream mapping: which record of a batch
 * the retry starts from (docs/outbox.md, "The local stream mapping").
 */
import type { InvokeResult } from '../lambda.ts';
import type { LocalStreamMapping } from '../template.ts';
import type { LambdaStreamRecord } from './stream-records.ts';

/**
 * The index of the first record to retry, or undefined when the batch succeeded.
 * A partial batch response names records by `dynamodb.SequenceNumber`; Lambda
 * resumes from the lowest one named, and an empty, missing or unknown
 * `itemIdentifier` fails the whole batch, while a null or empty response or
 * `batchItemFailures` is a success
 * (https://docs.aws.amazon.com/lambda/latest/dg/services-ddb-batchfailurereporting.html).
 *
 * @example
 * ```ts
 * firstFailure(
 *   { ok: true, result: { batchItemFailures: [{ itemIdentifier: '200' }] }, durationMs: 1 },
 *   batch, // sequence numbers 100, 200, 300
 *   mapping, // with reportBatchItemFailures
 * ); // 1
 * ```
 */
export function firstFailure(
  result: InvokeResult,
  batch: readonly LambdaStreamRecord[],
  mapping: LocalStreamMapping,
): number | undefined {
  if (!result.ok) return 0;
  if (!mapping.reportBatchItemFailures) return undefined;
  const failures = (result.result as { batchItemFailures?: unknown } | null)
    ?.batchItemFailures;
  if (!Array.isArray(failures) || failures.length === 0) return undefined;
  const sequences = batch.map(
    (record) => (record.dynamodb as { SequenceNumber?: string }).SequenceNumber,
  );
  let lowest: number | undefined;
  for (const failure of failures) {
    const id = (failure as { itemIdentifier?: unknown } | null)?.itemIdentifier;
    const index = typeof id === 'string' && id ? sequences.indexOf(id) : -1;
    // Lambda treats an identifier it cannot place as a failure of the whole batch.
    if (index < 0) return 0;
    lowest = lowest === undefined ? index : Math.min(lowest, index);
  }
  return lowest;
}
