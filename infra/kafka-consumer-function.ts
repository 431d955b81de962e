/**
 * {@link KafkaConsumerFunction}: a function triggered by Amazon MSK, with its event
 * source mappings and the data-plane IAM a consumer needs.
 */
import type { RemovalPolicy } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { ManagedKafkaEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import { Construct } from 'constructs';
import { deadLetterTopic } from '#domain/events.ts';
import type { StageConfig } from './config.ts';
import {
  eventSourceProps,
  type KafkaClusterRef,
  type KafkaSubscription,
  validateSubscriptions,
} from './kafka-event-sources.ts';
import { type FunctionNetwork, OrdersFunction } from './orders-function.ts';

// local/runtime/template reads SOURCE_ENTRY_METADATA from this module.
export { SOURCE_ENTRY_METADATA } from './orders-function.ts';

/** Props of {@link KafkaConsumerFunction}. */
export interface KafkaConsumerFunctionProps {
  /** The handler module, relative to `functions/`, e.g. `'payment.ts'`. */
  readonly entry: string;
  /** The exported handler name. Default: `'handler'`. */
  readonly handler?: string;
  readonly description: string;
  /** Beside `KAFKA_AUTH` and `KAFKA_BROKERS`, which this construct sets. */
  readonly environment: Readonly<Record<string, string>>;
  readonly network?: FunctionNetwork;
  readonly cluster: KafkaClusterRef;
  readonly subscriptions: readonly KafkaSubscription[];
  readonly esm: StageConfig['esm'];
  /** A provisioned-poller group shared by the stack's mappings, to share EPUs. */
  readonly pollerGroupName?: string;
  readonly functions: StageConfig['functions'];
  readonly tracing?: boolean;
  readonly logRemovalPolicy?: RemovalPolicy;
}

/** Set here from the cluster; a caller's value would silently disagree. */
const KAFKA_ENV = ['KAFKA_AUTH', 'KAFKA_BROKERS'] as const;

/**
 * A function triggered by MSK: one `ManagedKafkaEventSource` per subscription, all in
 * provisioned mode (required for retries, bisect and a Kafka destination:
 * https://docs.aws.amazon.com/lambda/latest/dg/kafka-retry-configurations.html), with
 * partial batch responses, and the `kafka-cluster:*` permissions that CDK does not add
 * for IAM auth (https://docs.aws.amazon.com/lambda/latest/dg/with-msk-permissions.html),
 * each on the exact cluster, topic and group ARNs.
 *
 * Every mapping publishes its own metrics (`ESM_METRICS` of
 * infra/kafka-event-sources.ts) and sends the
 * poller's system logs at WARN (`LoggingConfig.SystemLogLevel`; Kafka mappings in
 * provisioned mode only) to the function's log group, in a stream named after the
 * mapping's UUID: https://docs.aws.amazon.com/lambda/latest/dg/esm-logging.html
 *
 * @example
 * ```ts
 * const payment = new KafkaConsumerFunction(this, 'Payment', {
 *   entry: 'payment.ts',
 *   description: 'Charges placed orders',
 *   environment: { PAYMENTS_TABLE: payments.tableName },
 *   network,
 *   cluster,
 *   subscriptions: [
 *     { topic: 'orders.placed', consumerGroupId: 'payment', onFailure: 'dead-letter-topic' },
 *   ],
 *   esm: config.esm,
 *   functions: config.functions,
 * });
 * payment.allowProducingTo(['payments.processed']);
 * ```
 */
export class KafkaConsumerFunction extends Construct {
  readonly fn: OrdersFunction;
  /** One per subscription, in the same order. */
  readonly eventSources: ManagedKafkaEventSource[];
  /** One per subscription, in the same order. */
  readonly consumerGroupIds: readonly string[];
  /** The subscribed topics, in the order of `eventSources`. */
  readonly topics: readonly string[];
  /** Where the ESM sends what it gives up on, one per `'dead-letter-topic'` subscription. */
  readonly deadLetterTopics: readonly string[];

  readonly #cluster: KafkaClusterRef;
  readonly #writable = new Set<string>();
  #idempotentWrites = false;

  constructor(scope: Construct, id: string, props: KafkaConsumerFunctionProps) {
    super(scope, id);
    validateSubscriptions(id, props.subscriptions);
    for (const name of KAFKA_ENV) {
      if (name in props.environment) {
        throw new Error(`${id}: ${name} is set from the cluster; remove it`);
      }
    }
    this.#cluster = props.cluster;

    this.fn = new OrdersFunction(this, 'Function', {
      entry: props.entry,
      handler: props.handler,
      description: props.description,
      environment: {
        ...props.environment,
        KAFKA_AUTH: 'iam',
        KAFKA_BROKERS: props.cluster.bootstrapBrokers,
      },
      functions: props.functions,
      network: props.network,
      tracing: props.tracing,
      logRemovalPolicy: props.logRemovalPolicy,
    });

    this.eventSources = props.subscriptions.map((subscription) => {
      const source = new ManagedKafkaEventSource(
        eventSourceProps(props, subscription),
      );
      this.fn.addEventSource(source);
      return source;
    });
    this.consumerGroupIds = props.subscriptions.map((s) => s.consumerGroupId);
    this.topics = props.subscriptions.map((s) => s.topic);
    this.deadLetterTopics = props.subscriptions
      .filter((s) => s.onFailure === 'dead-letter-topic')
      .map((s) => deadLetterTopic(s.topic));

    // MSK IAM actions and resource ARNs:
    // https://docs.aws.amazon.com/msk/latest/developerguide/kafka-actions.html
    // Every data action also needs Connect on the cluster. Lambda's list for a
    // consumer with IAM auth adds DescribeClusterDynamicConfiguration (Kafka's
    // DESCRIBE_CONFIGS on the cluster), needed on provisioned clusters:
    // https://docs.aws.amazon.com/lambda/latest/dg/msk-cluster-auth.html
    this.fn.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'KafkaConnect',
        actions: [
          'kafka-cluster:Connect',
          'kafka-cluster:DescribeCluster',
          'kafka-cluster:DescribeClusterDynamicConfiguration',
        ],
        resources: [props.cluster.clusterArn],
      }),
    );
    this.fn.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'KafkaReadSubscribedTopics',
        actions: ['kafka-cluster:DescribeTopic', 'kafka-cluster:ReadData'],
        resources: props.subscriptions.map((s) =>
          props.cluster.topicArn(s.topic),
        ),
      }),
    );
    this.fn.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'KafkaConsumerGroups',
        actions: ['kafka-cluster:DescribeGroup', 'kafka-cluster:AlterGroup'],
        resources: this.consumerGroupIds.map((group) =>
          props.cluster.groupArn(group),
        ),
      }),
    );
    // The ESM writes given-up records there with the function's role
    // (https://docs.aws.amazon.com/lambda/latest/dg/kafka-on-failure-destination.html),
    // and the consumer module writes poison records there itself.
    this.allowProducingTo(this.deadLetterTopics);
  }

  /**
   * Lets the function write to these topics (its own producer, IAM auth). Topics
   * already allowed are skipped, so calling it twice is harmless.
   *
   * @example
   * ```ts
   * orders.allowProducingTo([TOPICS.paymentProcessed, TOPICS.paymentFailed]);
   * ```
   */
  allowProducingTo(topics: readonly string[]): void {
    const added = [...new Set(topics)].filter((t) => !this.#writable.has(t));
    if (added.length === 0) return;
    for (const topic of added) this.#writable.add(topic);
    this.fn.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['kafka-cluster:DescribeTopic', 'kafka-cluster:WriteData'],
        resources: added.map((topic) => this.#cluster.topicArn(topic)),
      }),
    );
    if (!this.#idempotentWrites) {
      this.#idempotentWrites = true;
      // The publisher's producer is idempotent (kafkajs `idempotent: true`): getting
      // a producer id is a cluster action, WriteDataIdempotently on the cluster ARN.
      this.fn.addToRolePolicy(
        new iam.PolicyStatement({
          sid: 'KafkaIdempotentProducer',
          actions: ['kafka-cluster:WriteDataIdempotently'],
          resources: [this.#cluster.clusterArn],
        }),
      );
    }
  }
}
