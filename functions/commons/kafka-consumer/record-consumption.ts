/**
 * One record, start to end: validated and handled, or put aside as poison, or
 * failed (docs/domain.md section 7); tried again inside the invocation while a
 * dependency is down (docs/broker-outages.md).
 */
import { classifyFailure } from '#domain/failures.ts';
import { Received, type RecordInProgress } from './consumed-record.ts';
import type { ConsumerSettings } from './consumer-options.ts';
import { putAside } from './dead-lettering.ts';
import { WrongTopicRecordError } from './errors.ts';
import type { InvocationClock, Tried } from './outage-waits.ts';
import { validate } from './record-validation.ts';

/** How a record ended, for the metrics. */
export type Outcome = 'consumed' | 'dead-lettered' | 'failed';

/** Consumes one record; 'failed' when its key must stop at it. */
export async function consumeRecord<T>(
  consumer: ConsumerSettings<T>,
  progress: RecordInProgress,
  context: InvocationClock | undefined,
): Promise<Outcome> {
  const { tried, tries } = await consumer.withOutageWaits(
    () => tryRecord(consumer, progress),
    context,
    () => progress.logger,
    'dependency unavailable: trying the record again',
  );
  if (tried.outcome !== 'failed') return tried.outcome;
  progress.logger.error(
    tried.poison === undefined
      ? 'record failed: its partition is retried from it'
      : 'poison record could not be put aside: its partition is retried from it',
    {
      error: tried.error,
      ...(tried.poison === undefined ? {} : { poison: tried.poison }),
      tries,
    },
  );
  return 'failed';
}

/** One try: validate and handle, or put a poison record aside. */
async function tryRecord<T>(
  consumer: ConsumerSettings<T>,
  progress: RecordInProgress,
): Promise<Tried> {
  const { options } = consumer;
  progress.emission = undefined;
  const { record } = progress;
  try {
    const value = validate(progress.parsed, options.schema);
    const belongsOn = options.topicOf?.(value);
    if (belongsOn !== undefined && belongsOn !== record.topic) {
      throw new WrongTopicRecordError(
        `record value belongs on ${belongsOn}, not on ${record.topic}`,
      );
    }
    await options.handle(
      new Received(progress, value, {
        canPublish: consumer.canPublish,
        debug: consumer.debugEnabled,
      }),
    );
    if (consumer.debugEnabled) progress.logger.debug('record consumed');
    return { outcome: 'consumed' };
  } catch (error) {
    progress.emission = undefined;
    if (classifyFailure(error) === 'transient') {
      return { outcome: 'failed', error, poison: undefined };
    }
    const failure = await putAside(consumer, progress, error);
    return failure === undefined
      ? { outcome: 'dead-lettered' }
      : { outcome: 'failed', error: failure, poison: error };
  }
}
