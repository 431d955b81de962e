/**
 * The Kafka cluster: an existing one, or a new MSK Serverless or MSK Provisioned
 * cluster with IAM auth, plus its SASL/IAM bootstrap brokers read at deploy time.
 */
import { Fn, RemovalPolicy, Stack, Token, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as msk from 'aws-cdk-lib/aws-msk';
import * as cr from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';
import type { StageConfig } from './config.ts';
import type { Network } from './network.ts';

/**
 * Kafka version of a provisioned cluster: 3.9.x in KRaft mode (no ZooKeeper nodes)
 * (https://docs.aws.amazon.com/msk/latest/developerguide/kraft-intro.html).
 */
export const KAFKA_VERSION = '3.9.x.kraft';

/**
 * Broker size of a provisioned cluster: the smallest MSK offers, for development;
 * M7g brokers are the production choice
 * (https://docs.aws.amazon.com/msk/latest/developerguide/broker-instance-sizes.html).
 */
export const BROKER_INSTANCE_TYPE = 'kafka.t3.small';

/** Properties of {@link KafkaCluster}. */
export interface KafkaClusterProps {
  readonly network: Network;
  readonly config: StageConfig['kafka'];
  /** Appended to the stack name for the cluster name unless the name ends with it. */
  readonly stage?: string;
  /** How long broker logs (provisioned) and the lookup's logs are kept. */
  readonly logRetention?: logs.RetentionDays;
}

const MAX_CLUSTER_NAME = 64;

/** The construct id CDK gives the AwsCustomResource singleton function. */
const AWS_CUSTOM_RESOURCE_SINGLETON = 'AWS679f53fac002430cb0da5b7982bd2287';

/**
 * The MSK cluster name for a stack (and stage): only `[0-9A-Za-z-]`, starting with
 * an alphanumeric, at most 64 characters
 * (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-msk-serverlesscluster.html).
 *
 * @example
 * ```ts
 * clusterNameFor('KafkaOrders', 'dev'); // 'KafkaOrders-dev'
 * clusterNameFor('KafkaOrders-dev', 'dev'); // 'KafkaOrders-dev'
 * ```
 */
export function clusterNameFor(stackName: string, stage?: string): string {
  const suffix = stage && !stackName.endsWith(`-${stage}`) ? `-${stage}` : '';
  const clean = (value: string) => value.replace(/[^0-9A-Za-z-]/g, '-');
  const base = clean(stackName)
    .replace(/^[^0-9A-Za-z]+/, '')
    .slice(0, MAX_CLUSTER_NAME - suffix.length);
  return `${base}${clean(suffix)}`.replace(/^-+/, '') || 'kafka';
}

/**
 * The Kafka cluster the functions use. With `config.clusterArn` nothing is created
 * (the network is then the cluster's: `Network`'s `existing`, which opens the
 * cluster's security group to `network.functionSecurityGroup` on 9098);
 * otherwise `config.mode` picks a new cluster, in the network's isolated subnets with
 * `network.clusterSecurityGroup`:
 * - `serverless`: MSK Serverless (IAM auth is its only auth);
 * - `provisioned`: 2 `kafka.t3.small` brokers (one per AZ), Kafka 3.9 KRaft, IAM
 *   auth only, TLS between clients and brokers and inside the cluster, broker logs
 *   in CloudWatch.
 *
 * `bootstrapBrokers` is read at deploy time with `kafka:GetBootstrapBrokers`
 * (neither `AWS::MSK::ServerlessCluster` nor `AWS::MSK::Cluster` has it as an
 * attribute), so functions need no Kafka control-plane access at run time.
 *
 * @example
 * ```ts
 * const kafka = new KafkaCluster(this, 'Kafka', { network, config: config.kafka });
 * fn.addEnvironment('KAFKA_BROKERS', kafka.bootstrapBrokers);
 * role.addToPolicy(new iam.PolicyStatement({
 *   actions: ['kafka-cluster:WriteData', 'kafka-cluster:DescribeTopic'],
 *   resources: [kafka.topicArn('order.placed.v1')],
 * }));
 * ```
 */
export class KafkaCluster extends Construct {
  /** The cluster ARN (a token for a new cluster). */
  readonly clusterArn: string;
  /** The SASL/IAM bootstrap brokers (`host:9098,...`), resolved at deploy time. */
  readonly bootstrapBrokers: string;
  /** The new cluster's name; undefined for an existing cluster. */
  readonly clusterName: string | undefined;
  /** The created cluster resource; undefined for an existing cluster. */
  readonly resource: msk.CfnServerlessCluster | msk.CfnCluster | undefined;

  private readonly arnParts: {
    readonly prefix: string;
    readonly name: string;
    readonly uuid: string;
  };

  constructor(scope: Construct, id: string, props: KafkaClusterProps) {
    super(scope, id);
    const { config } = props;
    const retention = props.logRetention ?? logs.RetentionDays.ONE_MONTH;

    if (config.clusterArn) {
      assertClusterArn(config.clusterArn);
      this.clusterArn = config.clusterArn;
      this.clusterName = undefined;
      this.resource = undefined;
    } else {
      const clusterName = clusterNameFor(Stack.of(this).stackName, props.stage);
      const cluster = createCluster(this, clusterName, props, retention);
      this.resource = cluster;
      this.clusterArn = cluster.attrArn;
      this.clusterName = clusterName;
    }

    // arn:<partition>:kafka:<region>:<account>:cluster/<name>/<uuid>, split with
    // intrinsic functions so it works for tokens too; a concrete ARN splits at synth
    // time and gives concrete topic and group ARNs.
    const parts = Fn.split(':', this.clusterArn, 6);
    const resource = Fn.split('/', parts[5] as string, 3);
    this.arnParts = {
      prefix: parts.slice(0, 5).join(':'),
      name: resource[1] as string,
      uuid: resource[2] as string,
    };

    this.bootstrapBrokers = lookupBootstrapBrokers(
      this,
      this.clusterArn,
      retention,
    );
  }

  /**
   * The MSK IAM ARN of a topic of this cluster; `*` and `?` wildcards are allowed in
   * the name (https://docs.aws.amazon.com/msk/latest/developerguide/kafka-actions.html).
   *
   * @example
   * ```ts
   * kafka.topicArn('order.placed.v1'); // arn:aws:kafka:R:A:topic/NAME/UUID/order.placed.v1
   * kafka.topicArn('*.dead-letter');
   * ```
   */
  topicArn(topicName: string): string {
    return this.dataArn('topic', topicName);
  }

  /**
   * The MSK IAM ARN of a consumer group of this cluster; wildcards are allowed.
   *
   * @example
   * ```ts
   * kafka.groupArn('payment-service'); // arn:aws:kafka:R:A:group/NAME/UUID/payment-service
   * ```
   */
  groupArn(groupName: string): string {
    return this.dataArn('group', groupName);
  }

  private dataArn(kind: 'topic' | 'group', name: string): string {
    const { prefix, name: cluster, uuid } = this.arnParts;
    return `${prefix}:${kind}/${cluster}/${uuid}/${name}`;
  }
}

function assertClusterArn(arn: string): void {
  if (Token.isUnresolved(arn)) return;
  if (!/^arn:aws[a-z-]*:kafka:[^:]+:\d{12}:cluster\/[^/]+\/[^/]+$/.test(arn)) {
    throw new Error(
      `not an MSK cluster ARN (arn:aws:kafka:<region>:<account>:cluster/<name>/<uuid>): ${arn}`,
    );
  }
}

/**
 * The new cluster of `props.config.mode`, in the network's subnets with its
 * cluster security group.
 */
function createCluster(
  scope: Construct,
  clusterName: string,
  props: KafkaClusterProps,
  retention: logs.RetentionDays,
): msk.CfnServerlessCluster | msk.CfnCluster {
  const { network, config } = props;
  const subnetIds = network.vpc.selectSubnets(network.subnets).subnetIds;
  const securityGroups = [network.clusterSecurityGroup.securityGroupId];
  if (config.mode === 'serverless') {
    return new msk.CfnServerlessCluster(scope, 'Serverless', {
      clusterName,
      clientAuthentication: { sasl: { iam: { enabled: true } } },
      vpcConfigs: [{ subnetIds, securityGroups }],
    });
  }
  const brokerLogs = new logs.LogGroup(scope, 'BrokerLogs', {
    retention,
    removalPolicy: RemovalPolicy.DESTROY,
  });
  return new msk.CfnCluster(scope, 'Provisioned', {
    clusterName,
    kafkaVersion: KAFKA_VERSION,
    // One broker per AZ: the broker count must be a multiple of the subnets.
    numberOfBrokerNodes: subnetIds.length,
    brokerNodeGroupInfo: {
      instanceType: BROKER_INSTANCE_TYPE,
      clientSubnets: subnetIds,
      securityGroups,
      storageInfo: { ebsStorageInfo: { volumeSize: 20 } },
    },
    clientAuthentication: {
      sasl: { iam: { enabled: true } },
      unauthenticated: { enabled: false },
    },
    encryptionInfo: {
      encryptionInTransit: { clientBroker: 'TLS', inCluster: true },
    },
    loggingInfo: {
      brokerLogs: {
        cloudWatchLogs: {
          enabled: true,
          logGroup: brokerLogs.logGroupName,
        },
      },
    },
  });
}

/**
 * The cluster's SASL/IAM bootstrap brokers, read at deploy time by a custom
 * resource
 * (https://docs.aws.amazon.com/msk/1.0/apireference/clusters-clusterarn-bootstrap-brokers.html).
 */
function lookupBootstrapBrokers(
  scope: Construct,
  clusterArn: string,
  retention: logs.RetentionDays,
): string {
  const lookup = new cr.AwsCustomResource(scope, 'BootstrapBrokers', {
    resourceType: 'Custom::MskBootstrapBrokers',
    onUpdate: {
      service: 'Kafka',
      action: 'getBootstrapBrokers',
      parameters: { ClusterArn: clusterArn },
      physicalResourceId: cr.PhysicalResourceId.of(clusterArn),
      outputPaths: ['BootstrapBrokerStringSaslIam'],
    },
    policy: cr.AwsCustomResourcePolicy.fromStatements([
      new iam.PolicyStatement({
        actions: ['kafka:GetBootstrapBrokers'],
        resources: [clusterArn],
      }),
    ]),
    // The SDK in the Lambda runtime has the Kafka client; installing the latest
    // would need internet access at deploy time for nothing.
    installLatestAwsSdk: false,
    logGroup: new logs.LogGroup(scope, 'LookupLogs', {
      retention,
      removalPolicy: RemovalPolicy.DESTROY,
    }),
  });
  const brokers = lookup.getResponseField('BootstrapBrokerStringSaslIam');
  // The AwsCustomResource function is a stack-wide singleton (CDK-managed).
  const singleton = Stack.of(scope).node.tryFindChild(
    AWS_CUSTOM_RESOURCE_SINGLETON,
  );
  if (singleton) {
    Validations.of(singleton).acknowledge({
      id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
      reason: 'The standard Lambda logging policy of a CDK-managed function',
    });
  }
  return brokers;
}
