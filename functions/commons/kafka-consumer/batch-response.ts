/**
 * The partial batch response: per partition, only the lowest offset that did not
 * finish (docs/aws-kafka-esm.md, "Partial batch response"), a record whose events
 * were not published counting as not finished.
 * https://docs.aws.amazon.com/lambda/latest/dg/kafka-retry-configurations.html
 */
import {
  type KafkaBatchItemFailure,
  type MskRecord,
  topicPartition,
} from '../msk-event.ts';
import type { RecordInProgress } from './consumed-record.ts';
import type { Outcome } from './record-consumption.ts';

/**
 * The batch item failures of `partitions`: `lowest[i]` is the lowest offset of
 * partition i that failed, `emitters[i]` its records that handed events over;
 * those of them in `unpublished` fail too, and move from consumed to failed in
 * `tally`.
 */
export function batchItemFailuresOf(
  partitions: readonly (readonly MskRecord[])[],
  lowest: readonly (number | undefined)[],
  emitters: readonly (readonly RecordInProgress[])[],
  unpublished: ReadonlySet<RecordInProgress>,
  tally: Record<Outcome, number>,
): KafkaBatchItemFailure[] {
  const batchItemFailures: KafkaBatchItemFailure[] = [];
  partitions.forEach((records, index) => {
    let offset = lowest[index];
    for (const progress of emitters[index] ?? []) {
      if (!unpublished.has(progress)) continue;
      tally.consumed -= 1;
      tally.failed += 1;
      offset = Math.min(
        offset ?? progress.record.offset,
        progress.record.offset,
      );
    }
    const first = records[0];
    if (offset !== undefined && first) {
      batchItemFailures.push({
        itemIdentifier: { partition: topicPartition(first), offset },
      });
    }
  });
  return batchItemFailures;
}
