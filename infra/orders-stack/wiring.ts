/**
 * What every function group of the orders stack is wired with: the stage, the
 * cluster, the tables, the function defaults (and the HTTP functions' shorter
 * timeout), and the Kafka subscriptions of a consumer.
 */
import { RemovalPolicy, type Stack } from 'aws-cdk-lib';
import { TOPICS } from '../../functions/domain/events.ts';
import type { StageConfig } from '../config.ts';
import type { OrdersTables } from '../data.ts';
import type { KafkaCluster } from '../kafka-cluster.ts';
import type { KafkaSubscription } from '../kafka-event-sources.ts';
import type { Network } from '../network.ts';
import type { OrdersFunctionProps } from '../orders-function.ts';

/**
 * The longest the HTTP functions may run: under API Gateway's 30 s integration
 * timeout, whatever the stage's function timeout.
 */
export const HTTP_FUNCTION_TIMEOUT_SECONDS = 29;

/**
 * The order path: the topics whose mappings a customer waits on after an API call,
 * from OrderPlaced (or OrderCancelled) through payment to the order's outcome in
 * order-events. Their batching window is the stage's latency choice,
 * `esm.orderPathBatchingWindowSeconds` (docs/performance.md, Latency and batching
 * windows). Orphan charges and dead letters have no one waiting on them: they keep
 * `esm.maxBatchingWindowSeconds`, which saves invocations.
 *
 * @example
 * ```ts
 * ORDER_PATH_TOPICS.includes(TOPICS.orderPlaced); // true
 * ```
 */
export const ORDER_PATH_TOPICS: readonly string[] = [
  TOPICS.orderPlaced,
  TOPICS.orderCancelled,
  TOPICS.paymentProcessed,
  TOPICS.paymentFailed,
  TOPICS.paymentRefunded,
];

/** The function settings shared by a group of functions. */
export type FunctionDefaults = Pick<
  OrdersFunctionProps,
  'functions' | 'network' | 'logRemovalPolicy'
>;

/** What a function group needs from the stack to create its functions. */
export interface FunctionWiring {
  readonly stack: Stack;
  readonly config: StageConfig;
  readonly cluster: KafkaCluster;
  readonly data: OrdersTables;
  readonly tables: ReturnType<OrdersTables['environment']>;
  /** The defaults of every function. */
  readonly common: FunctionDefaults;
  /** The defaults of a function behind the HTTP API. */
  readonly http: FunctionDefaults;
  /** Every mapping of the stack in one poller group: they share event poller units. */
  readonly pollerGroupName: string;
  /** One subscription per topic of a consumer, with the consumer group id it keeps. */
  readonly subscribe: (
    consumer: string,
    subscribed: readonly string[],
    onFailure: KafkaSubscription['onFailure'],
  ) => KafkaSubscription[];
}

/**
 * The wiring of the stack's functions.
 *
 * @example
 * ```ts
 * const wiring = functionWiring({ stack: this, config, cluster, network, data });
 * ```
 */
export function functionWiring({
  stack,
  config,
  cluster,
  network,
  data,
}: {
  readonly stack: Stack;
  readonly config: StageConfig;
  readonly cluster: KafkaCluster;
  readonly network: Network;
  readonly data: OrdersTables;
}): FunctionWiring {
  const common = {
    functions: config.functions,
    network,
    // The functions' logs go with the stack where its data does (dev); prod keeps
    // both.
    logRemovalPolicy: config.retainData
      ? RemovalPolicy.RETAIN
      : RemovalPolicy.DESTROY,
  };
  // Behind API Gateway, whose HTTP API gives up on an integration after 30 s
  // (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-quotas.html):
  // a function that runs longer would keep working on a request already answered
  // 503 by the gateway. Their own budgets are a few seconds (docs/timeouts.md).
  const http = {
    ...common,
    functions: {
      ...config.functions,
      timeoutSeconds: Math.min(
        config.functions.timeoutSeconds,
        HTTP_FUNCTION_TIMEOUT_SECONDS,
      ),
    },
  };
  const orderPath = new Set<string>(ORDER_PATH_TOPICS);
  const subscribe = (
    consumer: string,
    subscribed: readonly string[],
    onFailure: KafkaSubscription['onFailure'],
  ): KafkaSubscription[] =>
    subscribed.map((topic) => ({
      topic,
      // The generation keeps the id unique across a mapping's replacement
      // (esm.consumerGroupGeneration in infra/config/schema.ts).
      consumerGroupId: `${stack.stackName}-${consumer}-${topic}-g${config.esm.consumerGroupGeneration}`,
      onFailure,
      ...(orderPath.has(topic)
        ? {
            maxBatchingWindowSeconds: config.esm.orderPathBatchingWindowSeconds,
          }
        : {}),
    }));
  return {
    stack,
    config,
    cluster,
    data,
    tables: data.environment(),
    common,
    http,
    pollerGroupName: stack.stackName,
    subscribe,
  };
}
