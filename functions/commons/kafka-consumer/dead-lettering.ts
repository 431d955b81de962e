/**
 * Putting a poison record aside: parked by the consumer's `park` option, else
 * written to `<topic>.dead-letter` (docs/domain.md section 7), never to the
 * dead-letter topic of a dead-letter topic.
 */
import { deadLetterTopic } from '#domain/events.ts';
import {
  encodeConsumerDeadLetter,
  poisonDeadLetter,
} from '../dead-letter-codec.ts';
import type { RecordInProgress } from './consumed-record.ts';
import type { ConsumerSettings } from './consumer-options.ts';
import { DeadLetterRecursionError, DeadLetterWriteError } from './errors.ts';

/** The suffix of every dead-letter topic, taken from the one naming rule. */
const DEAD_LETTER_SUFFIX = deadLetterTopic('');

/**
 * Where poison records go: produces one message to a topic.
 *
 * @example
 * ```ts
 * const deadLetters: DeadLetterSink = {
 *   send: (topic, message) => publisher.send(topic, [message]),
 * };
 * ```
 */
export interface DeadLetterSink {
  send(
    topic: string,
    message: {
      key: Buffer | null;
      value: Buffer;
      headers: Record<string, string>;
    },
  ): Promise<void>;
}

/** Dead-letters (or parks) a poison record; the error when that failed. */
export async function putAside<T>(
  consumer: ConsumerSettings<T>,
  progress: RecordInProgress,
  error: unknown,
): Promise<DeadLetterWriteError | undefined> {
  const { options } = consumer;
  const { record, logger } = progress;
  const input = {
    record,
    error,
    consumer: options.name,
    correlationId: progress.correlationId,
    attempt: progress.redriveAttempt,
    now: consumer.now(),
  };
  try {
    if (options.park) {
      await options.park(poisonDeadLetter(input));
      logger.error('poison record parked', { error });
      return undefined;
    }
    if (record.topic.endsWith(DEAD_LETTER_SUFFIX)) {
      throw new DeadLetterRecursionError(
        `will not dead-letter a record of the dead-letter topic ${record.topic}; give the consumer a park option`,
      );
    }
    const topic = deadLetterTopic(record.topic);
    await options.deadLetters.send(topic, encodeConsumerDeadLetter(input));
    logger.error('poison record dead-lettered', {
      deadLetterTopic: topic,
      error,
    });
    return undefined;
  } catch (writeError) {
    return new DeadLetterWriteError('dead letter not written', {
      cause: writeError,
    });
  }
}
