/**
 * The Kafka entry point of the dead-letter reprocessor: on every `<topic>.dead-letter`,
 * decodes each dead letter, whether a consumer wrote it or the event source mapping's
 * on-failure destination did, and receives it ({@link receiveDeadLetter}).
 */
import * as z from 'zod';
import { parseDeadLetter } from '#commons/dead-letter-codec.ts';
import { edgeHandler } from '#commons/edge-handler.ts';
import {
  createKafkaConsumer,
  DeadLetterRecursionError,
} from '#commons/kafka-consumer.ts';
import type { KafkaBatchResponse } from '#commons/msk-event.ts';
import { createMetrics } from '#commons/observability.ts';
import {
  type ReprocessorDependencies,
  receiveDeadLetter,
} from './use-cases.ts';

/**
 * The Kafka handler over every dead-letter topic.
 *
 * @example
 * ```ts
 * const handler = createReprocessorHandler(deps);
 * ```
 */
export function createReprocessorHandler(deps: ReprocessorDependencies) {
  const consume = createKafkaConsumer({
    name: 'dlq-reprocessor',
    // Any JSON: both dead-letter formats are told apart and checked by the codec.
    schema: z.unknown(),
    logger: deps.logger,
    ...(deps.metrics ? { metrics: deps.metrics } : {}),
    ...(deps.concurrency ? { concurrency: deps.concurrency } : {}),
    deadLetters: {
      send: async (topic) => {
        throw new DeadLetterRecursionError(
          `the reprocessor parks what it cannot read; it never writes ${topic}`,
        );
      },
    },
    // A dead letter it cannot read is itself stored, PARKED, with its raw bytes.
    park: async (letter) => {
      await receiveDeadLetter(deps, letter);
    },
    handle: async (record) => {
      await receiveDeadLetter(
        deps,
        parseDeadLetter(record.value, {
          topic: record.topic,
          partition: record.partition,
          offset: record.offset,
        }),
      );
    },
  });
  return edgeHandler<unknown, KafkaBatchResponse>(
    {
      logger: deps.logger,
      metrics: deps.metrics ?? createMetrics('dlq-reprocessor'),
    },
    (event, context) => consume(event, context),
  );
}
