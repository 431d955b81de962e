/**
 * The one Kafka consumer module: every Kafka-triggered handler is a
 * `createKafkaConsumer(...)`. It owns what all of them must get right the same way:
 * - decoding the ESM event (base64 key and value, signed-byte headers, tombstones);
 * - validating each value (JSON, then the handler's zod schema, then its topic);
 * - the failure classes of docs/domain.md section 7: a poison record goes to
 *   `<topic>.dead-letter` and the partition goes on; a transient failure stops its
 *   partition at that record and reports it in the partial batch response, so the ESM
 *   retries from there (and, once its limits are reached, writes the record to its
 *   on-failure destination);
 * - ordering and concurrency: records of one key one after the other in offset order;
 *   within a partition, records of different keys side by side up to `concurrency`;
 *   partitions concurrently, as the ESM itself does across pollers (see
 *   {@link createKafkaConsumer} for the exact contract, docs/performance.md section
 *   "Concurrency within a batch");
 * - outcome events: a handler hands them over with `record.publishWithBatch`, and
 *   the consumer publishes those of the whole batch in one call before it answers;
 * - outages: a record that fails because Kafka or the store is down is tried again
 *   inside the invocation while it has time (docs/broker-outages.md), so a broker
 *   outage does not use up the ESM's retries in seconds.
 *
 * This file is the handler wrapper and the module's public API; each of the parts
 * above is a file of ./kafka-consumer/: record-validation.ts, consumed-record.ts,
 * record-consumption.ts, dead-lettering.ts, partition-lanes.ts, batch-publish.ts,
 * batch-response.ts, batch-report.ts, outage-waits.ts, consumer-options.ts and
 * errors.ts.
 *
 * Needs `FunctionResponseTypes: ['ReportBatchItemFailures']` on the ESM, without which
 * Lambda ignores the response and a transient failure would be lost for later records.
 * https://docs.aws.amazon.com/lambda/latest/dg/kafka-retry-configurations.html
 */
import * as z from 'zod';
import { publishBatch } from './kafka-consumer/batch-publish.ts';
import { reportBatch } from './kafka-consumer/batch-report.ts';
import { batchItemFailuresOf } from './kafka-consumer/batch-response.ts';
import type { RecordInProgress } from './kafka-consumer/consumed-record.ts';
import {
  consumerSettings,
  type KafkaConsumerOptions,
} from './kafka-consumer/consumer-options.ts';
import { InvalidKafkaEventError } from './kafka-consumer/errors.ts';
import type { InvocationClock } from './kafka-consumer/outage-waits.ts';
import {
  byPartition,
  consumePartition,
} from './kafka-consumer/partition-lanes.ts';
import type { Outcome } from './kafka-consumer/record-consumption.ts';
import { type KafkaBatchResponse, MskEvent } from './msk-event.ts';

export type { BatchPublisher } from './kafka-consumer/batch-publish.ts';
export type { ConsumedRecord } from './kafka-consumer/consumed-record.ts';
export {
  DEFAULT_CONSUMER_CONCURRENCY,
  type KafkaConsumerOptions,
} from './kafka-consumer/consumer-options.ts';
export type { DeadLetterSink } from './kafka-consumer/dead-lettering.ts';
export {
  DeadLetterRecursionError,
  DeadLetterWriteError,
  InvalidKafkaEventError,
  NotJsonRecordError,
  SchemaMismatchRecordError,
  TombstoneRecordError,
  WrongTopicRecordError,
} from './kafka-consumer/errors.ts';
export {
  type InvocationClock,
  isDependencyOutage,
  type OutageWaitOptions,
} from './kafka-consumer/outage-waits.ts';
export type { KafkaBatchItemFailure, KafkaBatchResponse } from './msk-event.ts';

/**
 * Makes a Kafka-triggered Lambda handler (Amazon MSK or self-managed). It resolves
 * with the partial batch response, `{ batchItemFailures: [] }` on full success; it
 * rejects only when the event is not a Kafka event (the whole batch is retried).
 *
 * Ordering and concurrency (docs/performance.md section "Concurrency within a
 * batch"): partitions are handled side by side. Within a partition, the records of
 * one key are handled one after the other in offset order, and records of other
 * keys side by side with them, at most `concurrency` at once. Records without a key
 * count as one key of their own: they keep their partition order among themselves.
 * Once a record of a key fails (transient), the later records of that key in the
 * batch are not handled; the other keys go on.
 *
 * The partial batch response names, per partition, only the lowest offset that did
 * not finish: the ESM retries a partition from the record it is told about, and
 * AWS does not say what it does with several of one partition
 * (docs/aws-kafka-esm.md, "Partial batch response"). The records after that offset
 * that did finish are delivered again: every handler must be idempotent.
 * https://docs.aws.amazon.com/lambda/latest/dg/kafka-retry-configurations.html
 *
 * Events handed over with `record.publishWithBatch` are published in one call
 * once every record is handled; then each record's `afterPublished` runs, side by
 * side. A publish that fails fails every record that handed events over (so its
 * partition is reported from the lowest of them); a follow-up that fails fails its
 * record. Both wait out an outage inside the invocation, as a record does.
 *
 * @example
 * ```ts
 * export const handler = createKafkaConsumer({
 *   name: 'payment',
 *   schema: PaymentInput,
 *   deadLetters: producer,
 *   publisher: producer,
 *   logger,
 *   handle: async (record) => pay(record),
 * });
 * ```
 */
export function createKafkaConsumer<T>(
  options: KafkaConsumerOptions<T>,
): (event: unknown, context?: InvocationClock) => Promise<KafkaBatchResponse> {
  const consumer = consumerSettings(options);
  return async (event, context) => {
    const result = MskEvent.safeParse(event);
    if (!result.success) {
      throw new InvalidKafkaEventError(
        `not a Kafka event source mapping event: ${z.prettifyError(result.error)}`,
      );
    }
    const level = options.logger.getLevelName();
    consumer.debugEnabled = level === 'DEBUG' || level === 'TRACE';
    const partitions = byPartition(result.data.records);
    const tally: Record<Outcome, number> = {
      consumed: 0,
      'dead-lettered': 0,
      failed: 0,
    };
    const emitters = partitions.map((): RecordInProgress[] => []);
    const lowest = await Promise.all(
      partitions.map((records, index) =>
        consumePartition(
          consumer,
          records,
          tally,
          context,
          emitters[index] ?? [],
        ),
      ),
    );
    // Offset order within each partition, so each key's events go out in order.
    for (const list of emitters) {
      list.sort((a, b) => a.record.offset - b.record.offset);
    }
    const unpublished = await publishBatch(consumer, emitters.flat(), context);
    const batchItemFailures = batchItemFailuresOf(
      partitions,
      lowest,
      emitters,
      unpublished,
      tally,
    );
    reportBatch(options, partitions, tally, batchItemFailures);
    return { batchItemFailures };
  };
}
