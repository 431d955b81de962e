/**
 * The order function's Kafka handler: folds payment outcomes (PaymentProcessed,
 * PaymentFailed, PaymentRefunded) into the order, one conditional transaction of event
 * and snapshot each, and publishes ShippingRequested when an order becomes PAID.
 * Redelivery is a no-op; an outcome that makes no sense in the order's state is
 * recorded and ignored (docs/domain.md section 5).
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import {
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
import { createLogger, createMetrics } from '#commons/observability.ts';
import {
  createOrderRepository,
  type OrderRepository,
  OrderVersionConflictError,
} from '#commons/order-repository.ts';
import {
  type Clock,
  type DomainEvent,
  PaymentOutcome,
} from '#domain/events.ts';
import { PoisonRecordError, TransientError } from '#domain/failures.ts';
import { deterministicUuid } from '#domain/ids.ts';
import { applyEvent } from '#domain/order.ts';
import { TABLES } from '#infra/tables.ts';

/** What the handler needs; wired from the environment below. */
export interface OrderEventsDependencies {
  readonly orders: OrderRepository;
  readonly publisher: EventPublisher;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Batch metrics (records consumed, dead-lettered, failed) per topic. */
  readonly metrics?: Metrics;
}

/** Optimistic concurrency: re-read and retry this often before calling it transient. */
const MAX_CONFLICTS = 5;

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
  for (let attempt = 1; attempt <= MAX_CONFLICTS; attempt += 1) {
    const found = await deps.orders.get(orderId);
    if (!found) {
      throw new PoisonRecordError(
        `${event.eventType} ${event.eventId} is for an unknown order ${orderId}`,
      );
    }
    if (found.appliedEventIds.has(event.eventId)) {
      record.logger.info('already applied', { eventId: event.eventId });
      // A crash may have come between recording and publishing: finish the job.
      await publishOutbox(deps, orderId, found.order.version, found.outbox);
      return;
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
    record.logger.info(
      outcome === 'applied' ? 'order updated' : 'event ignored',
      {
        orderId,
        eventType: event.eventType,
        status: next.status,
        version: next.version,
        ...(note ? { note } : {}),
      },
    );
    return;
  }
  throw new TransientError(
    `order ${orderId} kept changing under ${MAX_CONFLICTS} attempts`,
  );
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
export function createOrderEventsHandler(deps: OrderEventsDependencies) {
  const consume = createKafkaConsumer({
    name: 'order',
    schema: PaymentOutcome,
    logger: deps.logger,
    ...(deps.metrics ? { metrics: deps.metrics } : {}),
    deadLetters: {
      send: (topic, message) => deps.publisher.send(topic, [message]),
    },
    handle: (record) => foldPaymentOutcome(deps, record),
  });
  return middy<unknown, KafkaBatchResponse>()
    .use(injectLambdaContext(deps.logger))
    .use(logMetrics(deps.metrics ?? createMetrics('order')))
    .handler((event) => consume(event));
}

function wireFromEnvironment(): OrderEventsDependencies {
  const config = loadConfig({
    kafka: KafkaConfig,
    dynamodb: dynamoDbConfig('consumer'),
    kafkaBudget: kafkaBudget('consumer'),
    ordersTable: tableName(TABLES.orders.envVar),
  });
  const logger = createLogger('order');
  return {
    orders: createOrderRepository(
      createDocumentClient(config.dynamodb),
      config.ordersTable,
    ),
    publisher: createKafkaPublisher(config.kafka, {
      logger,
      budget: config.kafkaBudget,
    }),
    clock: { now: () => new Date(), uuid: randomUUID },
    logger,
    metrics: createMetrics('order'),
  };
}

/** The Lambda handler: dependencies built once per container, at cold start. */
export const handler = createOrderEventsHandler(wireFromEnvironment());
