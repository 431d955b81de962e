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
 * order.
 */
import { setTimeout as delay } from 'node:timers/promises';
import type { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { type Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import middy from '@middy/core';
import type {
  Context,
  DynamoDBBatchResponse,
  DynamoDBRecord,
  DynamoDBStreamEvent,
} from 'aws-lambda';
import {
  dynamoDbConfig,
  KafkaConfig,
  kafkaBudget,
  loadConfig,
  tableName,
} from '#commons/config.ts';
import { createDocumentClient } from '#commons/dynamodb.ts';
import { isDependencyOutage } from '#commons/kafka-consumer.ts';
import {
  createKafkaPublisher,
  type EventPublisher,
} from '#commons/kafka-publisher.ts';
import { createLogger, createMetrics } from '#commons/observability.ts';
import {
  createOrderRepository,
  OrderNotSettledError,
  type OrderRepository,
  type StoredOrder,
} from '#commons/order-repository.ts';
import { relayableAfter } from '#commons/settled-write.ts';
import { TABLES } from '#commons/table-specs.ts';
import type { DomainEvent } from '#domain/events.ts';
import {
  DEFAULT_OUTAGE_POLICY,
  nextOutageDelay,
} from '#domain/outage-policy.ts';

export interface OutboxRelayDependencies {
  readonly orders: OrderRepository;
  readonly publisher: EventPublisher;
  readonly logger: Logger;
  readonly metrics?: Metrics;
  /** Epoch milliseconds. Default Date.now. */
  readonly now?: () => number;
}

/** The order and version a stream record wrote, when it left events in the outbox. */
export function outboxWrite(
  record: DynamoDBRecord,
): { readonly orderId: string; readonly version: number } | undefined {
  const image = record.dynamodb?.NewImage;
  if (record.eventName === 'REMOVE' || !image) return undefined;
  const snapshot = unmarshall(image as Record<string, AttributeValue>);
  if (
    snapshot.sk !== 'SNAPSHOT' ||
    typeof snapshot.orderId !== 'string' ||
    typeof snapshot.version !== 'number' ||
    !Array.isArray(snapshot.outbox) ||
    snapshot.outbox.length === 0
  ) {
    return undefined;
  }
  return { orderId: snapshot.orderId, version: snapshot.version };
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
  const { orders, publisher, logger, metrics } = deps;
  const now = deps.now ?? Date.now;

  /**
   * The order whose outbox this record leaves to publish, once its last write is
   * settled; undefined when there is nothing to publish (or the write was voided).
   */
  const settle = async (
    record: DynamoDBRecord,
    write: { readonly orderId: string; readonly version: number },
    found: StoredOrder | undefined,
  ): Promise<StoredOrder | undefined> => {
    const { orderId, version } = write;
    if (!found || found.outbox.length === 0) return undefined;
    if (found.order.version !== version) return undefined;
    const settlement = found.settlement;
    if (!settlement) return found;
    if (!settlement.fenced) {
      // Until then the API may still give the write up (fence it), or its fence,
      // delayed with the write by a store that was frozen, may still land.
      const appliedAt = record.dynamodb?.ApproximateCreationDateTime;
      const due = relayableAfter(
        settlement.settleBy,
        appliedAt === undefined ? 0 : appliedAt * 1000,
      );
      if (now() <= due) {
        throw new OrderNotSettledError(
          `order ${orderId} version ${version}: the API may still give it up (until ${new Date(due).toISOString()})`,
        );
      }
      return found;
    }
    const old = record.dynamodb?.OldImage;
    const previous =
      record.eventName === 'MODIFY' && old
        ? unmarshall(old as Record<string, AttributeValue>)
        : undefined;
    const outcome = await orders.voidWrite(
      orderId,
      version,
      settlement.eventId,
      previous,
    );
    if (outcome === 'voided') {
      metrics?.addMetric('FencedWritesVoided', MetricUnit.Count, 1);
      logger.warn('write voided: the API gave it up and answered 503', {
        orderId,
        version,
      });
    }
    // Voided; or 'stands' only when another write followed it, which the later
    // record covers. Nothing of this one is published.
    return undefined;
  };

  /**
   * Relays a batch: one strongly consistent read per order, side by side; the
   * records settled in order; every outbox left in one publish; the outboxes
   * cleared side by side. Returns the index of the first record to retry.
   */
  /**
   * Publishes, waiting inside the invocation while Kafka is down (docs/broker-
   * outages.md): retried every 1-2 s while the invocation has time, so the events go
   * out within about 2 s of the broker's return, whatever the mapping's pacing.
   */
  const publishRidingOutages = async (
    events: readonly DomainEvent[],
    context: Context,
  ): Promise<void> => {
    let longestTryMs = 0;
    for (let failures = 1; ; failures += 1) {
      const started = performance.now();
      try {
        return await publisher.publish(events);
      } catch (error) {
        if (!isDependencyOutage(error)) throw error;
        longestTryMs = Math.max(longestTryMs, performance.now() - started);
        const wait = nextOutageDelay(
          DEFAULT_OUTAGE_POLICY,
          {
            failures,
            longestTryMs,
            remainingMs: context.getRemainingTimeInMillis(),
          },
          Math.random,
        );
        if (wait === undefined) throw error;
        logger.warn('Kafka unavailable: publishing again', {
          failures,
          waitMs: wait,
        });
        await delay(wait);
      }
    }
  };

  const relay = async (
    records: readonly DynamoDBRecord[],
    context: Context,
  ): Promise<{ failedAt: number; error: unknown } | undefined> => {
    const writes = records.map(outboxWrite);
    const ids = [...new Set(writes.flatMap((w) => (w ? [w.orderId] : [])))];
    const reads = new Map(
      await Promise.all(
        ids.map(async (id) => {
          const read = await orders.get(id).then(
            (found) => ({ found }),
            (error: unknown) => ({ error }),
          );
          return [id, read] as const;
        }),
      ),
    );
    const ready: { index: number; order: StoredOrder }[] = [];
    const taken = new Set<string>();
    let failure: { failedAt: number; error: unknown } | undefined;
    for (const [index, write] of writes.entries()) {
      if (!write) continue;
      try {
        const read = reads.get(write.orderId);
        if (read && 'error' in read) throw read.error;
        const found = await settle(
          records[index] as DynamoDBRecord,
          write,
          read?.found,
        );
        if (found && !taken.has(write.orderId)) {
          taken.add(write.orderId);
          ready.push({ index, order: found });
        }
      } catch (error) {
        failure = { failedAt: index, error };
        break;
      }
    }
    const [first] = ready;
    if (!first) return failure;
    try {
      await publishRidingOutages(
        ready.flatMap(({ order }) => order.outbox),
        context,
      );
    } catch (error) {
      return { failedAt: first.index, error };
    }
    await Promise.all(
      ready.map(({ order: { order, outbox } }) =>
        orders.clearOutbox(order.orderId, order.version).then(
          () => {
            logger.debug('outbox relayed', {
              orderId: order.orderId,
              eventIds: outbox.map((event) => event.eventId),
            });
          },
          // Published, not cleared: the next record or write publishes them again,
          // under the same ids (harmless).
          (error: unknown) =>
            logger.warn('outbox published but not cleared', {
              orderId: order.orderId,
              error,
            }),
        ),
      ),
    );
    metrics?.addMetric(
      'OutboxEventsRelayed',
      MetricUnit.Count,
      ready.reduce((sum, { order }) => sum + order.outbox.length, 0),
    );
    return failure;
  };

  return middy<DynamoDBStreamEvent, DynamoDBBatchResponse>()
    .use(injectLambdaContext(logger))
    .use(logMetrics(metrics ?? createMetrics('outbox-relay')))
    .handler(async (event, context) => {
      metrics?.addMetric(
        'StreamRecords',
        MetricUnit.Count,
        event.Records.length,
      );
      const failure = await relay(event.Records, context);
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
    });
}

function wireFromEnvironment(): OutboxRelayDependencies {
  // Nobody waits on the relay: the store budget of the Kafka-triggered functions.
  // But the short publish deadline of the HTTP functions: the relay tries again
  // every 1-2 s while Kafka is down, and a long try would hold it past the broker's
  // return.
  const config = loadConfig({
    kafka: KafkaConfig,
    dynamodb: dynamoDbConfig('consumer'),
    kafkaBudget: kafkaBudget('api'),
    ordersTable: tableName(TABLES.orders.envVar),
  });
  const logger = createLogger('outbox-relay');
  return {
    orders: createOrderRepository(
      createDocumentClient(config.dynamodb),
      config.ordersTable,
    ),
    publisher: createKafkaPublisher(config.kafka, {
      logger,
      budget: config.kafkaBudget,
    }),
    logger,
    metrics: createMetrics('outbox-relay'),
  };
}

/** The Lambda handler: dependencies built once per container, at cold start. */
export const handler = createOutboxRelay(wireFromEnvironment());
