/**
 * The outbox relay (docs/outbox.md): triggered by the orders table's stream through
 * an event source mapping, it publishes every event an order write left in the
 * order's outbox and clears it. The API publishes at once and clears the outbox
 * itself; the relay is what makes its 2xx a promise when Kafka is slow or down.
 *
 * For each change of an order's snapshot that left an outbox, in the stream's order,
 * the order is read again (strongly consistent; one read per order of the batch, side
 * by side), and:
 * - nothing is left in the outbox (the usual case: the API published it), or the
 *   record is not the order's latest write (a later record covers it): done;
 * - the latest write is an API write the API gave up on (fenced: it answered 503):
 *   void it, publishing nothing;
 * - an API write not fenced, before `settledAfter(settleBy)` or within
 *   `FENCE_ARRIVAL_GRACE_MS` of when the store applied it: the API may still give
 *   it up, or its fence may still be on its way: try again later (the API usually
 *   publishes it itself first);
 * - otherwise publish the outbox, then clear it: every outbox of the batch in one
 *   publish. Events keep their ids, so publishing twice (the API and the relay
 *   racing) changes nothing downstream.
 * A record that fails, or must wait, is reported as a batch item failure: the mapping
 * retries from it, and later records of the shard wait, so an order's events stay in
 * order. The relaying is a use case (./use-cases/relay-outbox.ts); wiring and the
 * batch response live here.
 */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { DynamoDBBatchResponse, DynamoDBStreamEvent } from 'aws-lambda';
import { tableName } from '#commons/config.ts';
import { edgeHandler } from '#commons/edge-handler.ts';
import { createMetrics } from '#commons/observability.ts';
import {
  createOrderRepository,
  OrderNotSettledError,
} from '#commons/order-repository.ts';
import { TABLES } from '#commons/table-specs.ts';
import { wireFromEnvironment } from '#commons/wiring.ts';
import {
  type OutboxRelayPorts,
  relayOutbox,
} from './use-cases/relay-outbox.ts';

/** What the relay handler needs; wired from the environment below. */
export interface OutboxRelayDependencies extends Omit<OutboxRelayPorts, 'now'> {
  /** Epoch milliseconds. Default Date.now. */
  readonly now?: () => number;
}

/**
 * Builds the relay handler from its dependencies.
 *
 * @example
 * ```ts
 * const relay = createOutboxRelay({ orders, publisher, logger });
 * await relay(streamEvent, context);
 * ```
 */
export function createOutboxRelay(deps: OutboxRelayDependencies) {
  const { logger, metrics } = deps;
  const ports: OutboxRelayPorts = { ...deps, now: deps.now ?? Date.now };

  return edgeHandler<DynamoDBStreamEvent, DynamoDBBatchResponse>(
    { logger, metrics: metrics ?? createMetrics('outbox-relay') },
    async (event, context) => {
      metrics?.addMetric(
        'StreamRecords',
        MetricUnit.Count,
        event.Records.length,
      );
      const failure = await relayOutbox(ports, {
        records: event.Records,
        remainingTimeMs: () => context.getRemainingTimeInMillis(),
      });
      if (!failure) return { batchItemFailures: [] };
      const sequence =
        event.Records[failure.failedAt]?.dynamodb?.SequenceNumber ?? '';
      const log =
        failure.error instanceof OrderNotSettledError
          ? logger.info
          : logger.error;
      log.call(logger, 'the mapping retries from this record', {
        error: failure.error,
        sequence,
      });
      // Lambda checkpoints before this record: it and the ones after it come again.
      return { batchItemFailures: [{ itemIdentifier: sequence }] };
    },
  );
}

function wireOutboxRelay(): OutboxRelayDependencies {
  // Nobody waits on the relay: the store budget of the Kafka-triggered functions.
  // But the short publish deadline of the HTTP functions: the relay tries again
  // every 1-2 s while Kafka is down, and a long try would hold it past the broker's
  // return.
  const { settings, db, publisher, logger } = wireFromEnvironment({
    service: 'outbox-relay',
    store: 'consumer',
    kafka: 'api',
    settings: { ordersTable: tableName(TABLES.orders.envVar) },
  });
  return {
    orders: createOrderRepository(db, settings.ordersTable),
    publisher,
    logger,
    metrics: createMetrics('outbox-relay'),
  };
}

/** The Lambda handler: dependencies built once per container, at cold start. */
export const handler = createOutboxRelay(wireOutboxRelay());
