import {
  CfnOutput,
  Duration,
  RemovalPolicy,
  Stack,
  type StackProps,
  Validations,
} from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { DynamoEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import type { Construct } from 'constructs';
import {
  CONSUMED_TOPICS,
  deadLetterTopic,
  TOPICS,
} from '../functions/domain/events.ts';
import type { StageConfig } from './config.ts';
import { OrdersTables } from './data.ts';
import { OrdersHttpApi } from './http-api.ts';
import { KafkaCluster } from './kafka-cluster.ts';
import {
  allowKafkaProducer,
  KafkaConsumerFunction,
  type KafkaSubscription,
  OrdersFunction,
} from './kafka-consumer-function.ts';
import {
  DLQ_REPROCESSOR_SERVICE,
  type MonitoredConsumer,
  Monitoring,
  ORDER_EVENTS_SERVICE,
  PAYMENT_SERVICE,
} from './monitoring.ts';
import { Network } from './network.ts';
import { KafkaTopics, topicsFor } from './topics.ts';

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
/**
 * The longest the HTTP functions may run: under API Gateway's 30 s integration
 * timeout, whatever the stage's function timeout.
 */
export const HTTP_FUNCTION_TIMEOUT_SECONDS = 29;

export const ORDER_PATH_TOPICS: readonly string[] = [
  TOPICS.orderPlaced,
  TOPICS.orderCancelled,
  TOPICS.paymentProcessed,
  TOPICS.paymentFailed,
  TOPICS.paymentRefunded,
];

/** Settings that differ between stages, read from `cdk.json` context. */
export interface OrdersStackProps extends StackProps {
  readonly config: StageConfig;
}

/**
 * The whole system in one stack (docs/domain.md section 1): the network and the MSK
 * cluster with every topic, the tables, the three functions (order: API and Kafka
 * handler; payment; dlq-reprocessor: Kafka handler, schedule and admin API) with their
 * event source mappings, the HTTP API, and alarms with a dashboard.
 *
 * Consumer group ids are `<stack>-<function>-<topic>-g<generation>`: unique per
 * mapping, as AWS requires, and stable across deployments so a redeploy resumes from
 * committed offsets; the generation (`esm.consumerGroupGeneration`) is bumped when a
 * change replaces a mapping, so the new one never reuses the old one's id.
 *
 * @example
 * ```ts
 * new OrdersStack(app, 'KafkaOrders-dev', { config: stageConfig(context) });
 * ```
 */
export class OrdersStack extends Stack {
  readonly config: StageConfig;
  readonly api: OrdersHttpApi;
  readonly cluster: KafkaCluster;

  constructor(scope: Construct, id: string, props: OrdersStackProps) {
    const { config } = props;
    super(scope, id, {
      description: `Orders and payments on Lambda and Amazon MSK (${config.stage})`,
      ...props,
    });
    this.config = config;

    const { kafka } = config;
    const network = new Network(this, 'Network', {
      ...(kafka.clusterArn &&
      kafka.vpcId &&
      kafka.subnetIds &&
      kafka.securityGroupId
        ? {
            existing: {
              vpcId: kafka.vpcId,
              subnetIds: kafka.subnetIds,
              clusterSecurityGroupId: kafka.securityGroupId,
            },
          }
        : {}),
      ...(config.availabilityZones
        ? { availabilityZones: config.availabilityZones }
        : {}),
    });
    const cluster = new KafkaCluster(this, 'Kafka', {
      network,
      config: config.kafka,
      stage: config.stage,
    });
    this.cluster = cluster;
    const topics = new KafkaTopics(this, 'Topics', {
      cluster,
      network,
      topics: topicsFor(config.kafka),
    });
    const data = new OrdersTables(this, 'Data', {
      retainData: config.retainData,
    });
    const tables = data.environment();
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
    // Every mapping of the stack in one poller group: they share event poller units.
    const pollerGroupName = this.stackName;
    const orderPath = new Set<string>(ORDER_PATH_TOPICS);
    const subscribe = (
      consumer: string,
      subscribed: readonly string[],
      onFailure: KafkaSubscription['onFailure'],
    ): KafkaSubscription[] =>
      subscribed.map((topic) => ({
        topic,
        // The generation keeps the id unique across a mapping's replacement
        // (esm.consumerGroupGeneration in infra/config.ts).
        consumerGroupId: `${this.stackName}-${consumer}-${topic}-g${config.esm.consumerGroupGeneration}`,
        onFailure,
        ...(orderPath.has(topic)
          ? {
              maxBatchingWindowSeconds:
                config.esm.orderPathBatchingWindowSeconds,
            }
          : {}),
      }));

    // order: the HTTP API, and the Kafka handler that folds payment outcomes.
    const orderApi = new OrdersFunction(this, 'OrderApi', {
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

    // outbox-relay: publishes what an API write stored but did not publish itself
    // (docs/outbox.md). The orders table's stream, in order per order; a batch item
    // failure retries from that record on, and a record is never skipped (no retry
    // limit, no age limit: the stream keeps it 24 h, the order item keeps its outbox
    // after that).
    const outboxRelay = new OrdersFunction(this, 'OutboxRelay', {
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

    const orderEvents = new KafkaConsumerFunction(this, 'OrderEvents', {
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

    // payment: charges and refunds.
    const payment = new KafkaConsumerFunction(this, 'Payment', {
      ...common,
      entry: 'payment.ts',
      description:
        'Charges placed orders; refunds cancelled ones and orphan charges, once',
      environment: { PAYMENTS_TABLE: tables.PAYMENTS_TABLE as string },
      cluster,
      esm: config.esm,
      pollerGroupName,
      subscriptions: subscribe(
        'payment',
        [TOPICS.orderPlaced, TOPICS.orderCancelled, TOPICS.paymentOrphaned],
        'dead-letter-topic',
      ),
    });
    payment.allowProducingTo([
      TOPICS.paymentProcessed,
      TOPICS.paymentFailed,
      TOPICS.paymentRefunded,
    ]);
    data.tables.payments.grantReadWriteData(payment.fn);

    // dlq-reprocessor: every dead-letter topic, without a destination of its own and
    // with unlimited retries, so that a dead letter is never dropped.
    const reprocessor = new KafkaConsumerFunction(this, 'DlqReprocessor', {
      ...common,
      entry: 'dlq-reprocessor.ts',
      description: 'Stores dead letters and schedules the retryable ones',
      environment: {
        DEAD_LETTERS_TABLE: tables.DEAD_LETTERS_TABLE as string,
      },
      cluster,
      esm: config.esm,
      pollerGroupName,
      subscriptions: subscribe(
        'dlq',
        CONSUMED_TOPICS.map(deadLetterTopic),
        'none',
      ),
    });
    reprocessor.allowProducingTo(CONSUMED_TOPICS);
    const deadLetterFunction = (
      id: string,
      handler: string,
      description: string,
      behindApi = false,
    ) => {
      const fn = new OrdersFunction(this, id, {
        ...(behindApi ? http : common),
        entry: 'dlq-reprocessor.ts',
        handler,
        description,
        environment: {
          DEAD_LETTERS_TABLE: tables.DEAD_LETTERS_TABLE as string,
        },
      });
      allowKafkaProducer(fn, cluster, CONSUMED_TOPICS);
      return fn;
    };
    const redrive = deadLetterFunction(
      'DlqRedrive',
      'scheduledHandler',
      'Redrives dead letters whose backoff has passed',
    );
    new events.Rule(this, 'DlqRedriveSchedule', {
      description: 'Redrive due dead letters',
      schedule: events.Schedule.rate(
        Duration.minutes(config.redriveEveryMinutes),
      ),
      targets: [new targets.LambdaFunction(redrive, { retryAttempts: 2 })],
    });
    const admin = deadLetterFunction(
      'DlqAdmin',
      'adminHandler',
      'Dead-letter admin API: list, show, redrive, discard',
      true,
    );
    for (const fn of [reprocessor.fn, redrive, admin]) {
      data.tables.deadLetters.grantReadWriteData(fn);
    }

    // Nothing reads or writes a topic before the topics exist.
    const everyFunction = [
      orderApi,
      outboxRelay,
      orderEvents.fn,
      payment.fn,
      reprocessor.fn,
      redrive,
      admin,
    ];
    for (const fn of everyFunction) fn.node.addDependency(topics);

    this.api = new OrdersHttpApi(this, 'Api', {
      orderApi,
      admin,
      ...(config.api.jwt ? { jwt: config.api.jwt } : {}),
      throttle: {
        rate: config.api.throttleRate,
        burst: config.api.throttleBurst,
      },
      logRetentionDays: config.functions.logRetentionDays,
    });

    // The Kafka-fed functions, each with the Powertools service its record metrics carry.
    const consumers: MonitoredConsumer[] = [
      {
        name: 'order-events',
        fn: orderEvents.fn,
        service: ORDER_EVENTS_SERVICE,
        topics: orderEvents.topics,
      },
      {
        name: 'payment',
        fn: payment.fn,
        service: PAYMENT_SERVICE,
        topics: payment.topics,
      },
      {
        name: 'dlq-reprocessor',
        fn: reprocessor.fn,
        service: DLQ_REPROCESSOR_SERVICE,
        topics: reprocessor.topics,
        path: 'dead-letter',
      },
    ];
    const monitoring = new Monitoring(this, 'Monitoring', {
      functions: [
        { name: 'order-api', fn: orderApi },
        { name: 'outbox-relay', fn: outboxRelay },
        { name: 'order-events', fn: orderEvents.fn },
        { name: 'payment', fn: payment.fn },
        { name: 'dlq-reprocessor', fn: reprocessor.fn },
        { name: 'dlq-redrive', fn: redrive },
        { name: 'dlq-admin', fn: admin },
      ],
      consumers,
      deadLetterTopics: CONSUMED_TOPICS.map(deadLetterTopic),
      streamConsumers: [{ name: 'outbox-relay', fn: outboxRelay }],
      ...(config.alarmEmail ? { alarmEmail: config.alarmEmail } : {}),
      ...(config.alarmTopicArn ? { alarmTopicArn: config.alarmTopicArn } : {}),
    });

    this.reserveConcurrency(
      new Map([
        ['order-events', { fn: orderEvents.fn, topics: orderEvents.topics }],
        ['payment', { fn: payment.fn, topics: payment.topics }],
        ['dlq-reprocessor', { fn: reprocessor.fn, topics: reprocessor.topics }],
        ['outbox-relay', { fn: outboxRelay, topics: [] }],
        ['dlq-redrive', { fn: redrive, topics: [] }],
      ]),
    );
    this.acknowledgeFindings([reprocessor.fn, redrive, admin]);

    new CfnOutput(this, 'ApiUrl', {
      value: this.api.url,
      description: 'The HTTP API: POST {ApiUrl}orders',
    });
    new CfnOutput(this, 'ClusterArn', {
      value: cluster.clusterArn,
      description: 'The MSK cluster',
    });
    new CfnOutput(this, 'BootstrapBrokers', {
      value: cluster.bootstrapBrokers,
      description: 'SASL/IAM bootstrap brokers (port 9098, inside the VPC)',
    });
    new CfnOutput(this, 'DashboardUrl', {
      value: `https://${this.region}.console.aws.amazon.com/cloudwatch/home?region=${this.region}#dashboards/dashboard/${this.stackName}`,
      description: 'The CloudWatch dashboard (named after the stack)',
    });
    new CfnOutput(this, 'AlarmTopicArn', {
      value: monitoring.alarmTopic.topicArn,
      description:
        'Every alarm notifies this SNS topic (alarmEmail subscribes to it; alarmTopicArn when set)',
    });
  }

  /**
   * `functions.reservedConcurrency` of the stage, each refused below what the
   * function's Kafka mappings may run at once: one batch per partition of each topic,
   * at most 5 per poller (docs/aws-kafka-esm.md, Ordering and concurrency). Below
   * that Lambda throttles the mappings and cuts their pollers.
   */
  private reserveConcurrency(
    functions: ReadonlyMap<
      string,
      { fn: lambda.Function; topics: readonly string[] }
    >,
  ): void {
    const { reservedConcurrency = {} } = this.config.functions;
    const { partitions } = this.config.kafka;
    const perTopic = Math.min(partitions, this.config.esm.maximumPollers * 5);
    for (const [name, reserved] of Object.entries(reservedConcurrency)) {
      const target = functions.get(name);
      if (!target || reserved === undefined) continue;
      const needed = Math.max(1, target.topics.length * perTopic);
      if (reserved < needed) {
        throw new Error(
          `functions.reservedConcurrency.${name} is ${reserved}, under the ${needed} invocations its mappings may run at once (${target.topics.length} topics x ${perTopic} partitions): raise it or leave it out`,
        );
      }
      (
        target.fn.node.defaultChild as lambda.CfnFunction
      ).reservedConcurrentExecutions = reserved;
    }
  }

  /**
   * cdk-nag (AWS Solutions) findings that are accepted, each with its reason. Anything
   * not listed here fails the synth.
   */
  private acknowledgeFindings(deadLetterFunctions: readonly Construct[]): void {
    const acknowledge = (scope: Construct, id: string, reason: string) =>
      Validations.of(scope).acknowledge({ id, reason });
    const managed = (policy: string) =>
      `AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/${policy}]`;
    acknowledge(
      this,
      managed('AWSLambdaBasicExecutionRole'),
      "Lambda's own managed policy: write the function's logs, nothing more",
    );
    acknowledge(
      this,
      managed('AWSLambdaVPCAccessExecutionRole'),
      "Lambda's own managed policy for the network interfaces of functions in a VPC",
    );
    acknowledge(
      this,
      managed('AWSLambdaMSKExecutionRole'),
      'Added by ManagedKafkaEventSource: what the event source mapping needs to ' +
        'describe the cluster and create its network interfaces (AWS docs: with-msk-permissions)',
    );
    for (const fn of deadLetterFunctions) {
      acknowledge(
        fn,
        'AwsSolutions-IAM5[Resource::<DataDeadLettersE8DA58CB.Arn>/index/*]',
        'grantReadWriteData covers the table indexes: the byStatusShard index lists dead ' +
          'letters by status and finds those due for a redrive',
      );
    }
    // Only a stage that asks for public order routes accepts them (config.ts refuses
    // a stage without api.jwt that does not).
    const { publicOrderRoutes } = this.config.api;
    const routes = this.api.api.node.children;
    for (const route of routes) {
      if (route.node.id.startsWith('GET--health')) {
        acknowledge(
          route,
          'AwsSolutions-APIG4',
          'liveness and readiness: open by design for uptime checks, answers no data',
        );
      } else if (
        publicOrderRoutes &&
        !this.config.api.jwt &&
        route.node.id.includes('orders')
      ) {
        acknowledge(
          route,
          'AwsSolutions-APIG4',
          `stage ${this.config.stage} sets api.publicOrderRoutes and no api.jwt: the ` +
            'order routes are public for trying the system; set api.jwt in cdk.json to require a JWT',
        );
      }
    }
  }
}
