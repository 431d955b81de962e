/**
 * The Kafka partial batch response (docs/aws-kafka-esm.md, Partial batch response):
 * what a function's answer says about which records of its batch failed.
 */

import { isRecord } from '#commons/guards.ts';
import { safeJson } from './json-values.ts';

/**
 * How an invocation went: every record succeeded, each partition failed from an
 * offset on (`failedFrom`), or the whole batch failed.
 */
export type Outcome =
  | { kind: 'success' }
  | { kind: 'partial'; failedFrom: Map<number, number> }
  | { kind: 'failure'; reason: string };

/**
 * docs/aws-kafka-esm.md, Partial batch response: reads a Kafka partial batch
 * response. No response, no `batchItemFailures`, or an empty list: success.
 * Otherwise every item must be
 * `{ itemIdentifier: { partition: '<topic>-<p>', offset: <number> } }` naming a record
 * of this invocation; any other shape (string identifiers included) fails the whole
 * batch.
 */
export function readPartialResponse(
  response: unknown,
  topic: string,
  records: readonly { readonly partition: number; readonly offset: number }[],
): Outcome {
  if (!isRecord(response)) return { kind: 'success' };
  const failures = response.batchItemFailures;
  if (failures === undefined || failures === null) return { kind: 'success' };
  if (!Array.isArray(failures)) {
    return { kind: 'failure', reason: 'batchItemFailures is not a list' };
  }
  if (failures.length === 0) return { kind: 'success' };
  const inBatch = new Set(
    records.map((r) => `${topic}-${r.partition}@${r.offset}`),
  );
  const partitionOf = new Map(
    records.map((r) => [`${topic}-${r.partition}`, r.partition]),
  );
  const failedFrom = new Map<number, number>();
  for (const failure of failures) {
    const identifier = isRecord(failure) ? failure.itemIdentifier : undefined;
    const partitionKey = isRecord(identifier)
      ? identifier.partition
      : undefined;
    const offset = isRecord(identifier) ? identifier.offset : undefined;
    const partition =
      typeof partitionKey === 'string'
        ? partitionOf.get(partitionKey)
        : undefined;
    if (
      partition === undefined ||
      typeof offset !== 'number' ||
      !inBatch.has(`${partitionKey}@${offset}`)
    ) {
      return {
        kind: 'failure',
        reason: `invalid batch item failure ${safeJson(failure)}: the whole batch fails`,
      };
    }
    failedFrom.set(
      partition,
      Math.min(failedFrom.get(partition) ?? offset, offset),
    );
  }
  return { kind: 'partial', failedFrom };
}
