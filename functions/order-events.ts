/**
 * The order function's Kafka handler: folds payment outcomes (PaymentProcessed,
 * PaymentFailed, PaymentRefunded) into the order, one conditional transaction of event
 * and snapshot each, and publishes ShippingRequested when an order becomes PAID.
 * Redelivery is a no-op; an outcome that makes no sense in the order's state is
 * recorded and ignored (docs/domain.md section 5). An outcome whose order does not
 * exist is recorded apart; a charge among them is handed back to the payment function
 * as PaymentOrphaned, to be refunded (docs/domain.md section 6).
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import type { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { type Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import {
  ConsumerConcurrency,
  dynamoDbConfig,
  KafkaConfig,
  kafkaBudget,
  loadConfig,
  tableName,
} from '#commons/config.ts';
import { createDocumentClient } from '#commons/dynamodb.ts';
import {
  type ConsumedRecord,
  createKafkaConsumer,
} from '#commons/kafka-consumer.ts';
import {
  createKafkaPublisher,
  type EventPublisher,
} from '#commons/kafka-publisher.ts';
import type { KafkaBatchResponse } from '#commons/msk-event.ts';
import {
  createLogger,
  createMetrics,
  ORPHAN_METRICS,
} from '#commons/observability.ts';
import {
  createOrderRepository,
  OrderNotSettledError,
  type OrderRepository,
  OrderVersionConflictError,
} from '#commons/order-repository.ts';
import {
  createOrphanPaymentRepository,
  type OrphanPaymentRepository,
} from '#commons/orphan-payment-repository.ts';
import { DEFAULT_WRITE_TIMINGS, settledAfter } from '#commons/settled-write.ts';
import { TABLES } from '#commons/table-specs.ts';
import {
  type Clock,
  type DomainEvent,
  PaymentOutcome,
  type PaymentRefunded,
  TOPIC_OF,
} from '#domain/events.ts';
import { PoisonRecordError, TransientError } from '#domain/failures.ts';
import { deterministicUuid } from '#domain/ids.ts';
import { applyEvent } from '#domain/order.ts';
import { paymentOrphanedBy } from '#domain/orphan-payment.ts';

/** What the handler needs; wired from the environment below. */
export interface OrderEventsDependencies {
  readonly orders: OrderRepository;
  /** Outcomes whose order does not exist (docs/domain.md section 5). */
  readonly orphans: OrphanPaymentRepository;
  readonly publisher: EventPublisher;
  readonly clock: Clock;
  readonly logger: Logger;
  /**
   * Batch metrics (records consumed, dead-lettered, failed) per topic, and the
   * orphan counts of {@link ORPHAN_METRICS}.
   */
  readonly metrics?: Metrics;
  /**
   * Records of different keys of one partition handled at once (the consumer's
   * `concurrency`; its default when absent). From `CONSUMER_CONCURRENCY`.
   */
  readonly concurrency?: number;
}

/** Optimistic concurrency: re-read and retry this often before calling it transient. */
const MAX_CONFLICTS = 5;

/**
 * How long a record waits for the order's last API write to settle (the API's
 * answer deadline plus the relay's grace, and a second more), and how often it looks.
 */
const SETTLE_WAIT_MS = settledAfter(DEFAULT_WRITE_TIMINGS.answerMs) + 1000;
const SETTLE_POLL_MS = 250;

/** Publishes what a write caused, then empties the outbox it was kept in. */
async function publishOutbox(
  deps: OrderEventsDependencies,
  orderId: string,
  version: number,
  outbox: readonly DomainEvent[],
): Promise<void> {
  if (outbox.length === 0) return;
  await deps.publisher.publish(outbox);
  await deps.orders.clearOutbox(orderId, version);
}

/**
 * Folds one payment outcome into its order.
 *
 * @example
 * ```ts
 * await foldPaymentOutcome(deps, record);
 * ```
 */
export async function foldPaymentOutcome(
  deps: OrderEventsDependencies,
  record: ConsumedRecord<PaymentOutcome>,
): Promise<void> {
  const event = record.value;
  const orderId = event.data.orderId;
  // Events derived from this one get ids derived from it: a redelivery that publishes
  // them again publishes the very same event.
  const derived: Clock = {
    now: deps.clock.now,
    uuid: () => deterministicUuid('ShippingRequested', event.eventId),
  };
  const settleWaitEnd = performance.now() + SETTLE_WAIT_MS;
  for (let attempt = 1; attempt <= MAX_CONFLICTS; attempt += 1) {
    // Strongly consistent, and the order API stores an order before its OrderPlaced
    // is published: an order not found here does not exist (docs/domain.md section 5).
    const found = await deps.orders.get(orderId);
    if (!found) return foldOrphanOutcome(deps, record);
    if (found.appliedEventIds.has(event.eventId)) {
      record.debug('already applied', { eventId: event.eventId });
      // A crash may have come between recording and publishing: finish the job.
      await publishOutbox(deps, orderId, found.order.version, found.outbox);
      return;
    }
    // An API write that may yet be voided (fenced, or a cancellation the API may
    // still give up): an outcome folded on top of it would make it stand
    // (docs/outbox.md). A creation whose OrderPlaced led to this outcome was
    // published, so it stands.
    // The API's settleBy is wall-clock time, whatever clock the events use.
    const settlement = found.settlement;
    if (
      settlement &&
      (settlement.fenced ||
        (found.order.version > 1 &&
          Date.now() <= settledAfter(settlement.settleBy)))
    ) {
      // It settles within seconds (the API's answer plus the grace, or the relay's
      // void): wait here rather than spend the mapping's retries.
      if (performance.now() < settleWaitEnd) {
        await delay(SETTLE_POLL_MS);
        attempt -= 1;
        continue;
      }
      throw new OrderNotSettledError(
        `order ${orderId} version ${found.order.version} is not settled by the API yet`,
      );
    }
    const {
      order: next,
      outcome,
      emit,
      note,
    } = applyEvent(found.order, event, derived);
    // Unpublished events of earlier writes ride along, so a new snapshot keeps them.
    const outbox = [...found.outbox, ...emit];
    try {
      const written = await deps.orders.append(next, event, outbox);
      if (written === 'duplicate') return;
    } catch (error) {
      if (error instanceof OrderVersionConflictError) continue;
      throw error;
    }
    await publishOutbox(deps, orderId, next.version, outbox);
    record.debug(outcome === 'applied' ? 'order updated' : 'event ignored', {
      orderId,
      eventType: event.eventType,
      status: next.status,
      version: next.version,
      ...(note ? { note } : {}),
    });
    return;
  }
  throw new TransientError(
    `order ${orderId} kept changing under ${MAX_CONFLICTS} attempts`,
  );
}

/** Counts one orphan outcome now, with the `service` dimension only. */
function countOrphan(deps: OrderEventsDependencies, metricName: string): void {
  deps.metrics?.singleMetric().addMetric(metricName, MetricUnit.Count, 1);
}

/**
 * A payment outcome for an order that does not exist (docs/domain.md section 5).
 * Money moved (PaymentProcessed): recorded, and a PaymentOrphaned asks the payment
 * function for the refund, published once and counted (`OrphanCharges`, alarmed).
 * No money moved (PaymentFailed): recorded and counted (`OrphanPaymentFailures`),
 * nothing else to do, so no dead letter. The refund (PaymentRefunded) closes the
 * record. Anything else (a second, different outcome; a refund of no orphan charge)
 * is poison, for an operator.
 */
async function foldOrphanOutcome(
  deps: OrderEventsDependencies,
  record: ConsumedRecord<PaymentOutcome>,
): Promise<void> {
  const event = record.value;
  const orderId = event.data.orderId;
  if (event.eventType === 'PaymentRefunded') {
    return closeOrphan(deps, record as ConsumedRecord<PaymentRefunded>);
  }
  const { created, orphan } = await deps.orphans.record(
    event,
    deps.clock.now(),
  );
  if (orphan.outcome.eventId !== event.eventId) {
    throw new PoisonRecordError(
      `${event.eventType} ${event.eventId} is for an unknown order ${orderId}, which already had ${orphan.outcome.eventType} ${orphan.outcome.eventId}`,
    );
  }
  if (event.eventType === 'PaymentFailed') {
    if (created) countOrphan(deps, ORPHAN_METRICS.failures);
    record.logger.warn('payment failed for an unknown order: recorded', {
      orderId,
      reason: event.data.reason,
      firstSeen: created,
    });
    return;
  }
  if (orphan.compensationPublishedAt) {
    record.debug('orphan charge: refund already requested', {
      orderId,
    });
    return;
  }
  const orphaned = paymentOrphanedBy(event, deps.clock);
  await deps.publisher.publish([orphaned]);
  countOrphan(deps, ORPHAN_METRICS.charges);
  await deps.orphans.markCompensationPublished(orderId, deps.clock.now());
  record.logger.warn('charge for an unknown order: refund requested', {
    orderId,
    paymentId: orphaned.data.paymentId,
    amount: orphaned.data.amount,
    paymentOrphanedId: orphaned.eventId,
  });
}

/** The refund of an orphan charge arrived: the compensation is complete. */
async function closeOrphan(
  deps: OrderEventsDependencies,
  record: ConsumedRecord<PaymentRefunded>,
): Promise<void> {
  const event = record.value;
  const orderId = event.data.orderId;
  const result = await deps.orphans.recordRefund(event, deps.clock.now());
  if (result === 'not-charged') {
    throw new PoisonRecordError(
      `PaymentRefunded ${event.eventId} is for an unknown order ${orderId} with no orphan charge`,
    );
  }
  record.debug('orphan charge refunded', {
    orderId,
    refundId: event.data.refundId,
    duplicate: result === 'duplicate',
  });
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
    handle: (record) => foldPaymentOutcome(deps, record),
  });
  return middy<unknown, KafkaBatchResponse>()
    .use(injectLambdaContext(deps.logger))
    .use(logMetrics(deps.metrics))
    .handler((event, context) => consume(event, context));
}

function wireFromEnvironment(): OrderEventsDependencies {
  const config = loadConfig({
    kafka: KafkaConfig,
    dynamodb: dynamoDbConfig('consumer'),
    kafkaBudget: kafkaBudget('consumer'),
    ordersTable: tableName(TABLES.orders.envVar),
    concurrency: ConsumerConcurrency,
  });
  const logger = createLogger('order');
  const db = createDocumentClient(config.dynamodb);
  return {
    orders: createOrderRepository(db, config.ordersTable),
    orphans: createOrphanPaymentRepository(db, config.ordersTable),
    publisher: createKafkaPublisher(config.kafka, {
      logger,
      budget: config.kafkaBudget,
    }),
    clock: { now: () => new Date(), uuid: randomUUID },
    logger,
    metrics: createMetrics('order'),
    ...(config.concurrency ? { concurrency: config.concurrency } : {}),
  };
}

/** The Lambda handler: dependencies built once per container, at cold start. */
export const handler = createOrderEventsHandler(wireFromEnvironment());
