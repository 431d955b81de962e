/**
 * The Amazon MSK event source mappings of a consumer: the cluster and subscriptions
 * they read, their settings from the stage, and the checks Lambda would otherwise
 * make at deploy.
 */
import { Duration } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import {
  KafkaDlq,
  type ManagedKafkaEventSourceProps,
} from 'aws-cdk-lib/aws-lambda-event-sources';
import { deadLetterTopic } from '#domain/events.ts';
import type { KafkaConsumerFunctionProps } from './kafka-consumer-function.ts';

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

export function eventSourceProps(
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
export function validateSubscriptions(
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
