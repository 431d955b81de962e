/**
 * The project's Lambda functions: {@link OrdersFunction} carries the defaults every
 * function shares (runtime, bundling, logs, network); {@link KafkaConsumerFunction}
 * adds the Amazon MSK event source mappings and the data-plane IAM a consumer needs.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import {
  KafkaDlq,
  ManagedKafkaEventSource,
  type ManagedKafkaEventSourceProps,
} from 'aws-cdk-lib/aws-lambda-event-sources';
import {
  NodejsFunction,
  type NodejsFunctionProps,
} from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { deadLetterTopic } from '#domain/events.ts';
import { FUNCTION_BUNDLING } from './bundling.ts';
import type { StageConfig } from './config.ts';

/** The repository root: `projectRoot` of every bundle, home of the lock file. */
const REPO_ROOT = path.resolve(import.meta.dirname, '..');
/** Where the handlers live; `entry` is relative to it. */
const FUNCTIONS_DIR = path.join(REPO_ROOT, 'functions');

/**
 * The subnets and security group of a function that must reach the brokers: what the
 * project's `Network` construct offers.
 */
export interface FunctionNetwork {
  readonly vpc: ec2.IVpc;
  readonly functionSecurityGroup: ec2.ISecurityGroup;
  /**
   * Where the functions go (`Network.subnets`). Default: the private isolated
   * subnets (no NAT; AWS services through endpoints).
   */
  readonly subnets?: ec2.SubnetSelection;
}

/** Props of {@link OrdersFunction}. */
export interface OrdersFunctionProps {
  /** The handler module, relative to `functions/`, e.g. `'payment.ts'`. */
  readonly entry: string;
  /** The exported handler name, e.g. `'adminHandler'`. Default: `'handler'`. */
  readonly handler?: string;
  readonly description: string;
  readonly environment?: Readonly<Record<string, string>>;
  /** Memory, timeout and log retention of the stage. */
  readonly functions: StageConfig['functions'];
  /** In the VPC when given; outside otherwise. */
  readonly network?: FunctionNetwork;
  /** X-Ray active tracing. Default: off. */
  readonly tracing?: boolean;
  /** What happens to the log group when the stack goes. Default: RETAIN. */
  readonly logRemovalPolicy?: RemovalPolicy;
}

/**
 * A Node.js function with the project's defaults: Node.js 24 on arm64, one minified
 * CommonJS bundle without a source map ({@link FUNCTION_BUNDLING}), its own log group
 * with the stage's retention, memory and timeout from the stage, and the VPC when a
 * network is given.
 *
 * A class rather than a factory: the stack and tests can tell our functions apart
 * (`instanceof`), and callers keep the full `NodejsFunction` API (grants, metrics).
 *
 * The AWS SDK v3 is bundled, not taken from the runtime: the bundle then runs the
 * exact versions of the lock file, the ones the tests ran, whatever SDK the runtime
 * ships that month (https://docs.aws.amazon.com/lambda/latest/dg/lambda-nodejs.html),
 * and loads faster than resolving the runtime's SDK packages (measured:
 * docs/performance.md section "Cold start"). Only packages a deployed function never
 * loads are left out (`LAZY_EXTERNALS`).
 *
 * @example
 * ```ts
 * const api = new OrdersFunction(this, 'OrderApi', {
 *   entry: 'order-api.ts',
 *   description: 'Orders HTTP API',
 *   environment: { ORDERS_TABLE: table.tableName },
 *   functions: config.functions,
 *   network,
 * });
 * ```
 */
export class OrdersFunction extends NodejsFunction {
  /** The TypeScript entry, relative to the repository: `functions/payment.ts`. */
  readonly sourceEntry: string;

  constructor(scope: Construct, id: string, props: OrdersFunctionProps) {
    super(scope, id, ordersFunctionProps(scope, id, props));
    this.sourceEntry = path.posix.join('functions', props.entry);
    // The template says which source file a function runs, so that the local runtime
    // (local/runtime) can run the TypeScript directly from the synthesized template.
    (this.node.defaultChild as lambda.CfnFunction).addMetadata(
      SOURCE_ENTRY_METADATA,
      this.sourceEntry,
    );
  }
}

/** The template metadata key that names a function's TypeScript entry. */
export const SOURCE_ENTRY_METADATA = 'orders:source-entry';

function ordersFunctionProps(
  scope: Construct,
  id: string,
  props: OrdersFunctionProps,
): NodejsFunctionProps {
  const entry = path.resolve(FUNCTIONS_DIR, props.entry);
  const relative = path.relative(FUNCTIONS_DIR, entry);
  if (relative.startsWith('..') || path.isAbsolute(relative)) {
    throw new Error(`${id}: entry ${props.entry} is not under functions/`);
  }
  if (!existsSync(entry)) {
    throw new Error(`${id}: entry functions/${relative} does not exist`);
  }
  const handler = props.handler ?? 'handler';
  if (!/^[A-Za-z_$][\w$]*$/.test(handler)) {
    throw new Error(`${id}: handler must be an export name, got ${handler}`);
  }
  // The log group is made here, not left to Lambda: Lambda would create it on first
  // invocation with no retention, outside the stack.
  const logGroup = new logs.LogGroup(scope, `${id}Logs`, {
    retention: retentionDays(props.functions.logRetentionDays),
    removalPolicy: props.logRemovalPolicy ?? RemovalPolicy.RETAIN,
  });
  return {
    entry,
    handler,
    description: props.description,
    runtime: lambda.Runtime.NODEJS_24_X,
    architecture: lambda.Architecture.ARM_64,
    memorySize: props.functions.memoryMb,
    timeout: Duration.seconds(props.functions.timeoutSeconds),
    logGroup,
    tracing: props.tracing ? lambda.Tracing.ACTIVE : undefined,
    environment: props.environment,
    ...(props.network
      ? {
          vpc: props.network.vpc,
          vpcSubnets: props.network.subnets ?? {
            subnetType: ec2.SubnetType.PRIVATE_ISOLATED,
          },
          securityGroups: [props.network.functionSecurityGroup],
        }
      : {}),
    projectRoot: REPO_ROOT,
    depsLockFilePath: path.join(REPO_ROOT, 'package-lock.json'),
    bundling: FUNCTION_BUNDLING,
  };
}

/** The stage's retention, checked against the values CloudWatch Logs accepts. */
function retentionDays(days: number): logs.RetentionDays {
  const allowed = Object.values(logs.RetentionDays).filter(
    (value): value is logs.RetentionDays => typeof value === 'number',
  );
  const match = allowed.find((value) => value === days);
  if (match === undefined) {
    throw new Error(
      `logRetentionDays ${days} is not a CloudWatch Logs retention; use one of ${allowed.join(', ')}`,
    );
  }
  return match;
}

/**
 * The MSK cluster as a consumer needs it: what the project's `KafkaCluster` offers.
 * ARNs may be tokens.
 */
export interface KafkaClusterRef {
  readonly clusterArn: string;
  /** `arn:aws:kafka:<region>:<account>:topic/<cluster>/<uuid>/<name>` */
  topicArn(name: string): string;
  /** `arn:aws:kafka:<region>:<account>:group/<cluster>/<uuid>/<name>` */
  groupArn(name: string): string;
  /** `host:port,...` of the IAM listener (9098). */
  readonly bootstrapBrokers: string;
}

/** One topic a consumer reads, through its own event source mapping. */
export interface KafkaSubscription {
  readonly topic: string;
  /** Unique among all Kafka ESMs of the account; create-only. */
  readonly consumerGroupId: string;
  /**
   * `'dead-letter-topic'`: after the stage's retries or record age, the ESM writes
   * the record to `<topic>.dead-letter`. `'none'`: infinite retries and no age limit,
   * for a consumer that must never drop a record (the dead-letter reprocessor).
   */
  readonly onFailure: 'dead-letter-topic' | 'none';
  /**
   * Whole seconds to gather a batch on this mapping. Default: the stage's
   * `esm.maxBatchingWindowSeconds`; the stack gives the order path its own
   * (`esm.orderPathBatchingWindowSeconds`).
   */
  readonly maxBatchingWindowSeconds?: number;
}

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
 * Every mapping publishes its own metrics ({@link ESM_METRICS}) and sends the
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

/**
 * The metrics every mapping publishes (`MetricsConfig`): events polled, processed,
 * filtered and dropped (EventCount), failed invocations and records (ErrorCount),
 * and the consumer's lag (KafkaMetrics). All three values CloudFormation allows:
 * https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-properties-lambda-eventsourcemapping-metricsconfig.html
 * The metrics themselves: https://docs.aws.amazon.com/lambda/latest/dg/monitoring-metrics-types.html#event-source-mapping-metrics
 */
export const ESM_METRICS: readonly lambda.MetricType[] = [
  lambda.MetricType.EVENT_COUNT,
  lambda.MetricType.ERROR_COUNT,
  lambda.MetricType.KAFKA_METRICS,
];

function eventSourceProps(
  props: KafkaConsumerFunctionProps,
  subscription: KafkaSubscription,
): ManagedKafkaEventSourceProps {
  const { esm } = props;
  const common = {
    clusterArn: props.cluster.clusterArn,
    topic: subscription.topic,
    consumerGroupId: subscription.consumerGroupId,
    startingPosition: lambda.StartingPosition.TRIM_HORIZON,
    batchSize: esm.batchSize,
    maxBatchingWindow: Duration.seconds(
      subscription.maxBatchingWindowSeconds ?? esm.maxBatchingWindowSeconds,
    ),
    provisionedPollerConfig: {
      minimumPollers: esm.minimumPollers,
      maximumPollers: esm.maximumPollers,
      // Mappings of one group share event poller units instead of each paying for
      // its own (docs/aws-kafka-esm.md, Ordering and concurrency; up to 100
      // mappings per group).
      ...(props.pollerGroupName
        ? { pollerGroupName: props.pollerGroupName }
        : {}),
    },
    bisectBatchOnError: esm.bisectBatchOnError,
    reportBatchItemFailures: true,
    metricsConfig: { metrics: [...ESM_METRICS] },
    logLevel: lambda.EventSourceMappingLogLevel.WARN,
  };
  if (subscription.onFailure === 'none') {
    // retryAttempts and maxRecordAge omitted: -1, infinite. With no destination a
    // give-up would drop the record. (With a destination, Lambda would cap infinite
    // retries at 10: https://docs.aws.amazon.com/lambda/latest/dg/kafka-retry-configurations.html)
    return common;
  }
  return {
    ...common,
    retryAttempts: esm.retryAttempts,
    maxRecordAge: Duration.seconds(esm.maxRecordAgeSeconds),
    onFailure: new KafkaDlq(deadLetterTopic(subscription.topic)),
  };
}

/**
 * Refuses at synth what Lambda would refuse at deploy, or what would loop: a
 * destination that is one of the function's source topics (Lambda refuses one equal
 * to its source: https://docs.aws.amazon.com/lambda/latest/dg/kafka-on-failure-destination.html),
 * a dead-letter topic of a dead-letter topic, and repeated topics or groups.
 */
function validateSubscriptions(
  id: string,
  subscriptions: readonly KafkaSubscription[],
): void {
  if (subscriptions.length === 0) {
    throw new Error(`${id}: a Kafka consumer needs at least one subscription`);
  }
  const topics = new Set<string>();
  const groups = new Set<string>();
  for (const { topic, consumerGroupId } of subscriptions) {
    if (topics.has(topic)) throw new Error(`${id}: topic ${topic} twice`);
    if (groups.has(consumerGroupId)) {
      // Each ESM needs its own group: https://docs.aws.amazon.com/lambda/latest/dg/kafka-consumer-group-id.html
      throw new Error(`${id}: consumer group ${consumerGroupId} twice`);
    }
    topics.add(topic);
    groups.add(consumerGroupId);
  }
  const suffix = deadLetterTopic('');
  for (const { topic, onFailure } of subscriptions) {
    if (onFailure !== 'dead-letter-topic') continue;
    const destination = deadLetterTopic(topic);
    if (topics.has(destination)) {
      throw new Error(
        `${id}: the dead-letter destination ${destination} of ${topic} is a source topic of the same function`,
      );
    }
    if (topic.endsWith(suffix)) {
      throw new Error(
        `${id}: ${topic} is a dead-letter topic; consume it with onFailure 'none'`,
      );
    }
  }
}

/**
 * Lets a function that is not a Kafka consumer (the order API, the dead-letter admin
 * and schedule) produce to topics with MSK IAM: Connect on the cluster, idempotent
 * writes, and DescribeTopic + WriteData on each topic; and gives it the brokers.
 *
 * @example
 * ```ts
 * allowKafkaProducer(orderApi, cluster, [TOPICS.orderPlaced, TOPICS.orderCancelled]);
 * ```
 */
export function allowKafkaProducer(
  fn: OrdersFunction,
  cluster: KafkaClusterRef,
  topics: readonly string[],
): void {
  fn.addEnvironment('KAFKA_AUTH', 'iam');
  fn.addEnvironment('KAFKA_BROKERS', cluster.bootstrapBrokers);
  fn.addToRolePolicy(
    new iam.PolicyStatement({
      actions: [
        'kafka-cluster:Connect',
        'kafka-cluster:DescribeCluster',
        'kafka-cluster:WriteDataIdempotently',
      ],
      resources: [cluster.clusterArn],
    }),
  );
  fn.addToRolePolicy(
    new iam.PolicyStatement({
      actions: ['kafka-cluster:DescribeTopic', 'kafka-cluster:WriteData'],
      resources: [...new Set(topics)].map((topic) => cluster.topicArn(topic)),
    }),
  );
}
