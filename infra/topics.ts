/**
 * The Kafka topics, made by one custom resource whose handler
 * (`infra/topic-provisioner/handler.ts`) uses the Kafka admin API over IAM: the one way
 * that works on MSK Serverless, where `AWS::MSK::Topic` is not available
 * (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-msk-topic.html).
 */
import { fileURLToPath } from 'node:url';
import {
  type CfnElement,
  CustomResource,
  Duration,
  RemovalPolicy,
  Stack,
  Validations,
} from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as cr from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';
import { CONSUMED_TOPICS, deadLetterTopic, TOPICS } from '#domain/events.ts';
import { FUNCTION_BUNDLING } from './bundling.ts';
import type { StageConfig } from './config.ts';
import type { KafkaCluster } from './kafka-cluster.ts';
import type { Network } from './network.ts';

/** A topic to provision. */
export interface KafkaTopicSpec {
  readonly name: string;
  readonly partitions: number;
  readonly retentionMs: number;
}

/** Properties of {@link KafkaTopics}. */
export interface KafkaTopicsProps {
  readonly cluster: KafkaCluster;
  readonly network: Network;
  readonly topics: readonly KafkaTopicSpec[];
  /** How long the provisioner's logs are kept. Default: one week. */
  readonly logRetention?: logs.RetentionDays;
}

/** The id cdk-nag gives an AWS managed policy on a role (AwsSolutions-IAM4). */
function managedPolicyFinding(policy: string): string {
  return `AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/${policy}]`;
}

const PROJECT_ROOT = fileURLToPath(new URL('..', import.meta.url));
const ENTRY = fileURLToPath(
  new URL('./topic-provisioner/handler.ts', import.meta.url),
);

/**
 * Every topic of the system (docs/domain.md section 2): each event topic, and a
 * `.dead-letter` topic for each consumed one, with the stage's partitions and
 * retention.
 *
 * @example
 * ```ts
 * new KafkaTopics(this, 'Topics', { cluster, network, topics: topicsFor(config.kafka) });
 * ```
 */
export function topicsFor(kafka: StageConfig['kafka']): KafkaTopicSpec[] {
  const retentionMs = kafka.retentionHours * 3_600_000;
  return [
    ...Object.values(TOPICS),
    ...CONSUMED_TOPICS.map(deadLetterTopic),
  ].map((name) => ({ name, partitions: kafka.partitions, retentionMs }));
}

/**
 * Creates the topics on the cluster with one `Custom::KafkaTopics` resource: on
 * Create and Update its handler creates missing topics, raises partition counts that
 * are too low (never lowers them) and sets `retention.ms`; on Delete it keeps the
 * topics, since they hold the data. The handler runs in the VPC with
 * `network.functionSecurityGroup` and may only touch the listed topics.
 *
 * Functions and event source mappings that use the topics should depend on this
 * construct (`fn.node.addDependency(topics)`), so they start once the topics exist.
 *
 * @example
 * ```ts
 * const topics = new KafkaTopics(this, 'Topics', {
 *   cluster,
 *   network,
 *   topics: topicsFor(config.kafka),
 * });
 * ```
 */
export class KafkaTopics extends Construct {
  /** The provisioner (the Provider framework's `onEvent` handler). */
  readonly provisioner: nodejs.NodejsFunction;
  /** The `Custom::KafkaTopics` resource. */
  readonly resource: CustomResource;

  constructor(scope: Construct, id: string, props: KafkaTopicsProps) {
    super(scope, id);
    const { cluster, network, topics } = props;
    if (topics.length === 0) throw new Error('KafkaTopics needs topics');
    const names = topics.map((topic) => topic.name);
    if (new Set(names).size !== names.length) {
      throw new Error(`topic names must be unique: ${names.join(', ')}`);
    }
    const retention = props.logRetention ?? logs.RetentionDays.ONE_WEEK;

    this.provisioner = this.createProvisioner(cluster, network, retention);
    this.grantTopicAccess(cluster, names);
    const provider = new cr.Provider(this, 'Provider', {
      onEventHandler: this.provisioner,
      logGroup: new logs.LogGroup(this, 'ProviderLogs', {
        retention,
        removalPolicy: RemovalPolicy.DESTROY,
      }),
    });

    this.resource = new CustomResource(this, 'Resource', {
      serviceToken: provider.serviceToken,
      resourceType: 'Custom::KafkaTopics',
      properties: {
        // A new cluster changes this, so its topics are made (an Update).
        ClusterArn: cluster.clusterArn,
        Topics: topics.map((topic) => ({
          Name: topic.name,
          Partitions: topic.partitions,
          RetentionMs: topic.retentionMs,
        })),
      },
    });
    this.acknowledgeNagFindings(provider);

    // The provisioner can only connect once the security group rules exist.
    this.resource.node.addDependency(network.clusterSecurityGroup);
    this.resource.node.addDependency(network.functionSecurityGroup);
  }

  /** The provisioner function, in the VPC with the function security group. */
  private createProvisioner(
    cluster: KafkaCluster,
    network: Network,
    retention: logs.RetentionDays,
  ): nodejs.NodejsFunction {
    return new nodejs.NodejsFunction(this, 'Provisioner', {
      entry: ENTRY,
      projectRoot: PROJECT_ROOT,
      depsLockFilePath: `${PROJECT_ROOT}package-lock.json`,
      handler: 'handler',
      description: 'Creates and grows the Kafka topics (Custom::KafkaTopics)',
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: 256,
      timeout: Duration.minutes(5),
      vpc: network.vpc,
      vpcSubnets: network.subnets,
      securityGroups: [network.functionSecurityGroup],
      environment: {
        KAFKA_BROKERS: cluster.bootstrapBrokers,
        KAFKA_AUTH: 'iam',
      },
      logGroup: new logs.LogGroup(this, 'ProvisionerLogs', {
        retention,
        removalPolicy: RemovalPolicy.DESTROY,
      }),
      bundling: FUNCTION_BUNDLING,
    });
  }

  /**
   * MSK IAM data-plane actions, on the cluster and on each listed topic only
   * (https://docs.aws.amazon.com/msk/latest/developerguide/kafka-actions.html).
   */
  private grantTopicAccess(cluster: KafkaCluster, names: string[]): void {
    this.provisioner.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['kafka-cluster:Connect', 'kafka-cluster:DescribeCluster'],
        resources: [cluster.clusterArn],
      }),
    );
    this.provisioner.addToRolePolicy(
      new iam.PolicyStatement({
        actions: [
          'kafka-cluster:CreateTopic',
          'kafka-cluster:DescribeTopic',
          'kafka-cluster:AlterTopic',
          'kafka-cluster:DescribeTopicDynamicConfiguration',
          'kafka-cluster:AlterTopicDynamicConfiguration',
        ],
        resources: names.map((name) => cluster.topicArn(name)),
      }),
    );
  }

  /**
   * cdk-nag (AwsSolutions): what is left is the standard Lambda execution
   * policies and the Provider framework's own invoke permission.
   */
  private acknowledgeNagFindings(provider: cr.Provider): void {
    Validations.of(this).acknowledge(
      {
        id: managedPolicyFinding('AWSLambdaBasicExecutionRole'),
        reason: 'The standard Lambda logging policy',
      },
      {
        id: managedPolicyFinding('AWSLambdaVPCAccessExecutionRole'),
        reason: 'The standard policy for the ENIs of a function in a VPC',
      },
    );
    Validations.of(provider).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${Stack.of(this).getLogicalId(
        this.provisioner.node.defaultChild as CfnElement,
      )}.Arn>:*]`,
      reason:
        'The CDK Provider framework may invoke any version of the provisioner',
    });
  }
}
