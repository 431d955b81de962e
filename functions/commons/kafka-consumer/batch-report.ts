/**
 * What a batch reports when it is done: the Powertools metrics `RecordsConsumed`,
 * `RecordsDeadLettered` and `RecordsFailed` with the `topic` dimension, and one
 * `batch consumed` log line.
 */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { KafkaBatchItemFailure, MskRecord } from '../msk-event.ts';
import type { KafkaConsumerOptions } from './consumer-options.ts';
import type { Outcome } from './record-consumption.ts';

/** Adds the batch's metrics (when the consumer has `metrics`) and logs its line. */
export function reportBatch<T>(
  options: KafkaConsumerOptions<T>,
  partitions: readonly (readonly MskRecord[])[],
  tally: Readonly<Record<Outcome, number>>,
  batchItemFailures: readonly KafkaBatchItemFailure[],
): void {
  const topic = partitions[0]?.[0]?.topic;
  if (options.metrics && topic) {
    options.metrics.addDimensions({ topic });
    options.metrics.addMetric(
      'RecordsConsumed',
      MetricUnit.Count,
      tally.consumed,
    );
    options.metrics.addMetric(
      'RecordsDeadLettered',
      MetricUnit.Count,
      tally['dead-lettered'],
    );
    options.metrics.addMetric('RecordsFailed', MetricUnit.Count, tally.failed);
  }
  options.logger.info('batch consumed', {
    consumer: options.name,
    partitions: partitions.length,
    records: partitions.reduce((count, records) => count + records.length, 0),
    ...tally,
    failedPartitions: batchItemFailures.map(
      (failure) => failure.itemIdentifier,
    ),
  });
}
