/** MSK IAM access and broker settings for a function that produces to topics. */
import * as iam from 'aws-cdk-lib/aws-iam';
import type { KafkaClusterRef } from './kafka-event-sources.ts';
import type { OrdersFunction } from './orders-function.ts';

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
