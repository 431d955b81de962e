/**
 * Publishing with the batch (docs/performance.md section "Publishing with the
 * batch"): the events every record handed over with `publishWithBatch`, in one
 * `publish` call, then each record's follow-ups side by side.
 */
import type { DomainEvent } from '#domain/events.ts';
import type { EventPublisher } from '../kafka-publisher.ts';
import type { RecordInProgress } from './consumed-record.ts';
import type { ConsumerSettings } from './consumer-options.ts';
import { attempt, type InvocationClock } from './outage-waits.ts';

/**
 * Where the events of `publishWithBatch` go: one call per batch (the
 * {@link EventPublisher}'s `publish`, whose idempotent producer keeps each output
 * partition's order).
 *
 * @example
 * ```ts
 * const publisher: BatchPublisher = createKafkaPublisher(config.kafka, { logger });
 * ```
 */
export type BatchPublisher = Pick<EventPublisher, 'publish'>;

/**
 * Publishes the events of every record that handed some over, in one call, then
 * runs their follow-ups side by side. The records that must be retried.
 */
export async function publishBatch<T>(
  consumer: ConsumerSettings<T>,
  emitters: readonly RecordInProgress[],
  context: InvocationClock | undefined,
): Promise<Set<RecordInProgress>> {
  const { options } = consumer;
  const publisher = options.publisher;
  if (emitters.length === 0 || !publisher) return new Set();
  // An event handed over twice in one batch (a duplicate delivery of the same
  // record, whose redelivery re-derives the same event) goes out once.
  const seen = new Set<string>();
  const events: DomainEvent[] = [];
  for (const progress of emitters) {
    for (const event of progress.emission?.events ?? []) {
      if (seen.has(event.eventId)) continue;
      seen.add(event.eventId);
      events.push(event);
    }
  }
  const published = await consumer.withOutageWaits(
    () => attempt(() => publisher.publish(events)),
    context,
    () => options.logger,
    "dependency unavailable: trying the batch's publish again",
  );
  if (published.tried.outcome === 'failed') {
    options.logger.error(
      "the batch's events were not published: every record that handed events over is retried",
      {
        consumer: options.name,
        error: published.tried.error,
        tries: published.tries,
        records: emitters.length,
        events: events.length,
      },
    );
    return new Set(emitters);
  }
  const failed = new Set<RecordInProgress>();
  await Promise.all(
    emitters.map(async (progress) => {
      for (const followUp of progress.emission?.afterPublished ?? []) {
        const { tried, tries } = await consumer.withOutageWaits(
          () => attempt(followUp),
          context,
          () => progress.logger,
          'dependency unavailable: trying the follow-up of a publish again',
        );
        if (tried.outcome === 'failed') {
          progress.logger.error(
            'events published but their follow-up failed: the record is retried',
            { error: tried.error, tries },
          );
          failed.add(progress);
          return;
        }
      }
    }),
  );
  return failed;
}
