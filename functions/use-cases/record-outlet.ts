/**
 * What a Kafka use case does through the record it handles: write the record's log
 * lines, and hand events over to be published with the batch. The consumer's
 * `ConsumedRecord` is one; a unit test's is a few lines.
 */
import type { ConsumedRecord } from '#commons/kafka-consumer.ts';

/**
 * The record's log lines (`debug` only when the logger writes debug lines) and its
 * `publishWithBatch` (#commons/kafka-consumer.ts).
 *
 * @example
 * ```ts
 * const outlet: RecordOutlet = record; // a ConsumedRecord<OrderPlaced>
 * outlet.debug('payment decided', { orderId });
 * ```
 */
export type RecordOutlet = Pick<
  ConsumedRecord<unknown>,
  'debug' | 'logger' | 'publishWithBatch'
>;
