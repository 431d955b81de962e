import { Stack, type StackProps } from 'aws-cdk-lib';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type { Construct } from 'constructs';
import type { StageConfig } from './config.ts';
import { OrdersTables } from './data.ts';
import { OrdersHttpApi } from './http-api.ts';
import { KafkaCluster } from './kafka-cluster.ts';
import { Network, type NetworkProps } from './network.ts';
import { addDeadLetterFunctions } from './orders-stack/dead-letter-functions.ts';
import { addMonitoring } from './orders-stack/monitored-functions.ts';
import { acknowledgeFindings } from './orders-stack/nag-acknowledgements.ts';
import { addOrderFunctions } from './orders-stack/order-functions.ts';
import { addOutputs } from './orders-stack/outputs.ts';
import { addPaymentFunction } from './orders-stack/payment-function.ts';
import {
  concurrencyTargets,
  everyFunction,
  type StackFunctions,
} from './orders-stack/stack-functions.ts';
import { functionWiring } from './orders-stack/wiring.ts';
import { KafkaTopics, topicsFor } from './topics.ts';

export {
  HTTP_FUNCTION_TIMEOUT_SECONDS,
  ORDER_PATH_TOPICS,
} from './orders-stack/wiring.ts';

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

    const network = new Network(this, 'Network', networkProps(config));
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
    const wiring = functionWiring({
      stack: this,
      config,
      cluster,
      network,
      data,
    });
    const functions: StackFunctions = {
      ...addOrderFunctions(wiring),
      payment: addPaymentFunction(wiring),
      ...addDeadLetterFunctions(wiring),
    };
    // Nothing reads or writes a topic before the topics exist.
    for (const fn of everyFunction(functions)) fn.node.addDependency(topics);

    this.api = new OrdersHttpApi(this, 'Api', {
      orderApi: functions.orderApi,
      admin: functions.admin,
      ...(config.api.jwt ? { jwt: config.api.jwt } : {}),
      throttle: {
        rate: config.api.throttleRate,
        burst: config.api.throttleBurst,
      },
      logRetentionDays: config.functions.logRetentionDays,
    });
    const monitoring = addMonitoring(this, config, functions);

    this.reserveConcurrency(concurrencyTargets(functions));
    const { reprocessor, redrive, admin } = functions;
    acknowledgeFindings(this, {
      config,
      api: this.api,
      deadLetterFunctions: [reprocessor.fn, redrive, admin],
    });
    addOutputs(this, { api: this.api, cluster, monitoring });
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
}

/** The stage's network: an existing one when the stage names an existing cluster. */
function networkProps(config: StageConfig): NetworkProps {
  const { kafka } = config;
  return {
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
  };
}
