/**
 * The order function's Kafka handler: folds payment outcomes (PaymentProcessed,
 * PaymentFailed, PaymentRefunded) into the order, one conditional transaction of event
 * and snapshot each, and publishes ShippingRequested when an order becomes PAID.
 * Redelivery is a no-op; an outcome that makes no sense in the order's state is
 * recorded and ignored (docs/domain.md section 5). An outcome whose order does not
 * exist is recorded apart; a charge among them is handed back to the payment function
 * as PaymentOrphaned, to be refunded (docs/domain.md section 6).
 * Parsing, wiring and the batch live here; the fold is a use case
 * (./use-cases/apply-payment-outcome.ts, record-orphan-outcome.ts).
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import { ConsumerConcurrency, tableName } from '#commons/config.ts';
import { edgeHandler } from '#commons/edge-handler.ts';
import { createKafkaConsumer } from '#commons/kafka-consumer.ts';
import type { KafkaBatchResponse } from '#commons/msk-event.ts';
import { createMetrics } from '#commons/observability.ts';
import { createOrderRepository } from '#commons/order-repository.ts';
import { createOrphanPaymentRepository } from '#commons/orphan-payment-repository.ts';
import { TABLES } from '#commons/table-specs.ts';
import { wireFromEnvironment } from '#commons/wiring.ts';
import { PaymentOutcome, TOPIC_OF } from '#domain/events.ts';
import {
  applyPaymentOutcome,
  type PaymentOutcomePorts,
} from './use-cases/apply-payment-outcome.ts';

/** What the handler needs; wired from the environment below. */
export interface OrderEventsDependencies extends PaymentOutcomePorts {
  readonly logger: Logger;
  /**
   * Batch metrics (records consumed, dead-lettered, failed) per topic, and the
   * orphan counts of `ORPHAN_METRICS` (#commons/observability.ts).
   */
  readonly metrics?: Metrics;
  /**
   * Records of different keys of one partition handled at once (the consumer's
   * `concurrency`; its default when absent). From `CONSUMER_CONCURRENCY`.
   */
  readonly concurrency?: number;
}

/**
 * Builds the Kafka handler from its dependencies.
 *
 * @example
 * ```ts
 * const handler = createOrderEventsHandler(deps);
 * const response = await handler(mskEvent, context);
 * ```
 */
export function createOrderEventsHandler(given: OrderEventsDependencies) {
  // One Metrics for the batch counts, the orphan counts and the flush.
  const deps = { ...given, metrics: given.metrics ?? createMetrics('order') };
  const consume = createKafkaConsumer({
    name: 'order',
    schema: PaymentOutcome,
    // One schema for the events of every topic consumed: each only on its own.
    topicOf: (event) => TOPIC_OF[event.eventType],
    logger: deps.logger,
    metrics: deps.metrics,
    ...(deps.concurrency ? { concurrency: deps.concurrency } : {}),
    deadLetters: {
      send: (topic, message) => deps.publisher.send(topic, [message]),
    },
    handle: (record) =>
      applyPaymentOutcome(deps, { outcome: record.value, record }),
  });
  return edgeHandler<unknown, KafkaBatchResponse>(deps, (event, context) =>
    consume(event, context),
  );
}

function wireOrderEvents(): OrderEventsDependencies {
  const { settings, db, publisher, clock, logger } = wireFromEnvironment({
    service: 'order',
    store: 'consumer',
    kafka: 'consumer',
    settings: {
      ordersTable: tableName(TABLES.orders.envVar),
      concurrency: ConsumerConcurrency,
    },
  });
  return {
    orders: createOrderRepository(db, settings.ordersTable),
    orphans: createOrphanPaymentRepository(db, settings.ordersTable),
    publisher,
    clock,
    logger,
    metrics: createMetrics('order'),
    ...(settings.concurrency ? { concurrency: settings.concurrency } : {}),
  };
}

/** The Lambda handler: dependencies built once per container, at cold start. */
export const handler = createOrderEventsHandler(wireOrderEvents());
