/** The CloudFormation outputs of the orders stack: where to reach what it deployed. */
import { CfnOutput, type Stack } from 'aws-cdk-lib';
import type { OrdersHttpApi } from '../http-api.ts';
import type { KafkaCluster } from '../kafka-cluster.ts';
import type { Monitoring } from '../monitoring.ts';

/**
 * The outputs `ApiUrl`, `ClusterArn`, `BootstrapBrokers`, `DashboardUrl` and
 * `AlarmTopicArn`.
 *
 * @example
 * ```ts
 * addOutputs(this, { api: this.api, cluster, monitoring });
 * ```
 */
export function addOutputs(
  stack: Stack,
  {
    api,
    cluster,
    monitoring,
  }: {
    readonly api: OrdersHttpApi;
    readonly cluster: KafkaCluster;
    readonly monitoring: Monitoring;
  },
): void {
  new CfnOutput(stack, 'ApiUrl', {
    value: api.url,
    description: 'The HTTP API: POST {ApiUrl}orders',
  });
  new CfnOutput(stack, 'ClusterArn', {
    value: cluster.clusterArn,
    description: 'The MSK cluster',
  });
  new CfnOutput(stack, 'BootstrapBrokers', {
    value: cluster.bootstrapBrokers,
    description: 'SASL/IAM bootstrap brokers (port 9098, inside the VPC)',
  });
  new CfnOutput(stack, 'DashboardUrl', {
    value: `https://${stack.region}.console.aws.amazon.com/cloudwatch/home?region=${stack.region}#dashboards/dashboard/${stack.stackName}`,
    description: 'The CloudWatch dashboard (named after the stack)',
  });
  new CfnOutput(stack, 'AlarmTopicArn', {
    value: monitoring.alarmTopic.topicArn,
    description:
      'Every alarm notifies this SNS topic (alarmEmail subscribes to it; alarmTopicArn when set)',
  });
}
