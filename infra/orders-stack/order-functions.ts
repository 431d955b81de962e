/**
 * The order group of the orders stack: the order HTTP API function, the outbox
 * relay on the orders table's stream, and the Kafka handler that folds payment
 * outcomes into orders.
 */
import { Duration } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { DynamoEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import { TOPICS } from '../../functions/domain/events.ts';
import { KafkaConsumerFunction } from '../kafka-consumer-function.ts';
import { allowKafkaProducer } from '../kafka-producer-access.ts';
import { OrdersFunction } from '../orders-function.ts';
import type { FunctionWiring } from './wiring.ts';

/** The functions of the order group. */
export interface OrderFunctions {
  readonly orderApi: OrdersFunction;
  readonly outboxRelay: OrdersFunction;
  readonly orderEvents: KafkaConsumerFunction;
}

/**
 * Creates the order group's functions in the stack (construct ids `OrderApi`,
 * `OutboxRelay`, `OrderEvents`), with their grants and event sources.
 *
 * @example
 * ```ts
 * const { orderApi } = addOrderFunctions(wiring);
 * ```
 */
export function addOrderFunctions(wiring: FunctionWiring): OrderFunctions {
  const orderApi = addOrderApi(wiring);
  const outboxRelay = addOutboxRelay(wiring);
  const orderEvents = addOrderEvents(wiring);
  return { orderApi, outboxRelay, orderEvents };
}

/** order: the HTTP API. */
function addOrderApi({
  stack,
  cluster,
  data,
  tables,
  http,
}: FunctionWiring): OrdersFunction {
  const orderApi = new OrdersFunction(stack, 'OrderApi', {
    ...http,
    entry: 'order-api.ts',
    description: 'Order HTTP API: place, read and cancel orders',
    environment: {
      ORDERS_TABLE: tables.ORDERS_TABLE as string,
      IDEMPOTENCY_TABLE: tables.IDEMPOTENCY_TABLE as string,
    },
  });
  allowKafkaProducer(orderApi, cluster, [
    TOPICS.orderPlaced,
    TOPICS.orderCancelled,
  ]);
  data.tables.orders.grantReadWriteData(orderApi);
  data.tables.idempotency.grantReadWriteData(orderApi);
  return orderApi;
}

/**
 * outbox-relay: publishes what an API write stored but did not publish itself
 * (docs/outbox.md). The orders table's stream, in order per order; a batch item
 * failure retries from that record on, and a record is never skipped (no retry
 * limit, no age limit: the stream keeps it 24 h, the order item keeps its outbox
 * after that).
 */
function addOutboxRelay({
  stack,
  cluster,
  data,
  tables,
  common,
}: FunctionWiring): OrdersFunction {
  const outboxRelay = new OrdersFunction(stack, 'OutboxRelay', {
    ...common,
    entry: 'outbox-relay.ts',
    description: 'Publishes the events the orders table holds in its outbox',
    environment: { ORDERS_TABLE: tables.ORDERS_TABLE as string },
  });
  allowKafkaProducer(outboxRelay, cluster, [
    TOPICS.orderPlaced,
    TOPICS.orderCancelled,
    TOPICS.shippingRequested,
  ]);
  data.tables.orders.grantReadWriteData(outboxRelay);
  outboxRelay.addEventSource(
    new DynamoEventSource(data.tables.orders, {
      startingPosition: lambda.StartingPosition.TRIM_HORIZON,
      batchSize: 100,
      maxBatchingWindow: Duration.seconds(0),
      reportBatchItemFailures: true,
      bisectBatchOnError: false,
      retryAttempts: -1,
      parallelizationFactor: 1,
      filters: [
        lambda.FilterCriteria.filter({
          eventName: lambda.FilterRule.or('INSERT', 'MODIFY'),
          dynamodb: {
            NewImage: { sk: { S: lambda.FilterRule.isEqual('SNAPSHOT') } },
          },
        }),
      ],
    }),
  );
  return outboxRelay;
}

/** order: the Kafka handler that folds payment outcomes. */
function addOrderEvents({
  stack,
  config,
  cluster,
  data,
  tables,
  common,
  pollerGroupName,
  subscribe,
}: FunctionWiring): KafkaConsumerFunction {
  const orderEvents = new KafkaConsumerFunction(stack, 'OrderEvents', {
    ...common,
    entry: 'order-events.ts',
    description: 'Folds payment outcomes into orders',
    environment: { ORDERS_TABLE: tables.ORDERS_TABLE as string },
    cluster,
    esm: config.esm,
    pollerGroupName,
    subscriptions: subscribe(
      'order',
      [TOPICS.paymentProcessed, TOPICS.paymentFailed, TOPICS.paymentRefunded],
      'dead-letter-topic',
    ),
  });
  orderEvents.allowProducingTo([
    TOPICS.shippingRequested,
    TOPICS.paymentOrphaned,
  ]);
  data.tables.orders.grantReadWriteData(orderEvents.fn);
  return orderEvents;
}
