/**
 * The use case behind the outbox relay (docs/outbox.md): for a batch of the orders
 * table's stream records, publish every outbox an order write left once that write
 * is settled, void the writes the API gave up, and clear what was published. The
 * rules of when a write may be relayed are in the handler's top comment
 * (functions/outbox-relay.ts).
 */
import { setTimeout as delay } from 'node:timers/promises';
import type { Logger } from '@aws-lambda-powertools/logger';
import { type Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { DynamoDBRecord } from 'aws-lambda';
import { isDependencyOutage } from '#commons/kafka-consumer.ts';
import type { EventPublisher } from '#commons/kafka-publisher.ts';
import {
  OrderNotSettledError,
  type OrderRepository,
  type StoredOrder,
} from '#commons/order-repository.ts';
import { relayableAfter } from '#commons/settled-write.ts';
import type { DomainEvent } from '#domain/events.ts';
import {
  DEFAULT_OUTAGE_POLICY,
  nextOutageDelay,
} from '#domain/outage-policy.ts';

/** What {@link relayOutbox} needs; the relay handler wires the real ones. */
export interface OutboxRelayPorts {
  readonly orders: OrderRepository;
  readonly publisher: EventPublisher;
  readonly logger: Logger;
  readonly metrics?: Metrics;
  /** Epoch milliseconds. */
  readonly now: () => number;
}

/** The record of a batch to retry from, and why. */
export interface RelayFailure {
  readonly failedAt: number;
  readonly error: unknown;
}

/** The order and version a stream record wrote. */
interface OutboxWrite {
  readonly orderId: string;
  readonly version: number;
}

/** A stream record's order read, or why it could not be read. */
type OrderRead =
  | { readonly found: StoredOrder | undefined }
  | { readonly error: unknown };

/**
 * The order and version a stream record wrote, when it left events in the outbox.
 *
 * @example
 * ```ts
 * const write = outboxWrite(record); // { orderId: 'o-1', version: 2 } or undefined
 * ```
 */
export function outboxWrite(record: DynamoDBRecord): OutboxWrite | undefined {
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
 * The order whose outbox this record leaves to publish, once its last write is
 * settled; undefined when there is nothing to publish (or the write was voided).
 */
async function settle(
  ports: OutboxRelayPorts,
  record: DynamoDBRecord,
  write: OutboxWrite,
  found: StoredOrder | undefined,
): Promise<StoredOrder | undefined> {
  const { orders, logger, metrics } = ports;
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
    if (ports.now() <= due) {
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
}

/**
 * Publishes, waiting inside the invocation while Kafka is down (docs/broker-
 * outages.md): retried every 1-2 s while the invocation has time, so the events go
 * out within about 2 s of the broker's return, whatever the mapping's pacing.
 */
async function publishRidingOutages(
  ports: OutboxRelayPorts,
  events: readonly DomainEvent[],
  remainingTimeMs: () => number,
): Promise<void> {
  let longestTryMs = 0;
  for (let failures = 1; ; failures += 1) {
    const started = performance.now();
    try {
      return await ports.publisher.publish(events);
    } catch (error) {
      if (!isDependencyOutage(error)) throw error;
      longestTryMs = Math.max(longestTryMs, performance.now() - started);
      const wait = nextOutageDelay(
        DEFAULT_OUTAGE_POLICY,
        { failures, longestTryMs, remainingMs: remainingTimeMs() },
        Math.random,
      );
      if (wait === undefined) throw error;
      ports.logger.warn('Kafka unavailable: publishing again', {
        failures,
        waitMs: wait,
      });
      await delay(wait);
    }
  }
}

/** One strongly consistent read per order, side by side; a failed read kept. */
async function readOrders(
  ports: OutboxRelayPorts,
  writes: readonly (OutboxWrite | undefined)[],
): Promise<Map<string, OrderRead>> {
  const ids = [...new Set(writes.flatMap((w) => (w ? [w.orderId] : [])))];
  return new Map(
    await Promise.all(
      ids.map(async (id) => {
        const read: OrderRead = await ports.orders.get(id).then(
          (found) => ({ found }),
          (error: unknown) => ({ error }),
        );
        return [id, read] as const;
      }),
    ),
  );
}

/** Clears the published outboxes side by side, and counts what was relayed. */
async function clearRelayed(
  ports: OutboxRelayPorts,
  ready: readonly { index: number; order: StoredOrder }[],
): Promise<void> {
  const { orders, logger, metrics } = ports;
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
}

/**
 * Relays a batch: one strongly consistent read per order, side by side; the
 * records settled in order; every outbox left in one publish; the outboxes
 * cleared side by side. Returns the first record to retry, if any.
 *
 * @example
 * ```ts
 * const failure = await relayOutbox(ports, { records, remainingTimeMs });
 * ```
 */
export async function relayOutbox(
  ports: OutboxRelayPorts,
  input: {
    readonly records: readonly DynamoDBRecord[];
    readonly remainingTimeMs: () => number;
  },
): Promise<RelayFailure | undefined> {
  const { records } = input;
  const writes = records.map(outboxWrite);
  const reads = await readOrders(ports, writes);
  const ready: { index: number; order: StoredOrder }[] = [];
  const taken = new Set<string>();
  let failure: RelayFailure | undefined;
  for (const [index, write] of writes.entries()) {
    if (!write) continue;
    try {
      const read = reads.get(write.orderId);
      if (read && 'error' in read) throw read.error;
      const found = await settle(
        ports,
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
      ports,
      ready.flatMap(({ order }) => order.outbox),
      input.remainingTimeMs,
    );
  } catch (error) {
    return { failedAt: first.index, error };
  }
  await clearRelayed(ports, ready);
  return failure;
}
