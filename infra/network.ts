/**
 * The network: one VPC with isolated subnets, the security groups of the Kafka
 * cluster and of the functions, free gateway endpoints and VPC flow logs.
 */
import { RemovalPolicy } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';

/** MSK brokers' port for SASL/IAM clients (TLS). */
export const MSK_IAM_PORT = 9098;

/** Options of {@link Network}; all have defaults. */
export interface NetworkProps {
  /** How long VPC flow logs are kept. Default: one month. */
  readonly flowLogRetention?: logs.RetentionDays;
  /** What happens to the flow-log group when the stack goes. Default: destroy. */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * A VPC with PRIVATE_ISOLATED subnets in 2 AZs and no NAT gateway, and the security
 * groups that let the functions and the event source mappings reach Kafka.
 *
 * Why no NAT gateway (cost: about $0 instead of about $32/month per NAT gateway, one
 * per AZ, plus $0.045/GB processed):
 * - the event source mappings run in provisioned mode, which needs neither a NAT
 *   gateway nor PrivateLink endpoints: Lambda wires the invoke path itself
 *   (https://docs.aws.amazon.com/lambda/latest/dg/with-msk-cluster-network.html);
 * - functions reach MSK inside the VPC, DynamoDB and S3 through gateway endpoints
 *   (free), and their logs go through the Lambda service, not the VPC;
 * - brokers are resolved at deploy time (`KafkaCluster.bootstrapBrokers`), so no
 *   function calls the Kafka control plane, and MSK IAM tokens are signed locally.
 * A function that needs another AWS API from the VPC needs an interface endpoint
 * (about $7/month per AZ) or a NAT gateway.
 *
 * Security groups:
 * - `clusterSecurityGroup` goes on the MSK cluster; the event source mappings' ENIs
 *   use the cluster's security groups, hence the self-referencing rule on 9098;
 * - `functionSecurityGroup` goes on the functions: out to the cluster on 9098 and to
 *   HTTPS (which, with isolated subnets, only reaches the gateway endpoints).
 *
 * @example
 * ```ts
 * const network = new Network(this, 'Network');
 * new KafkaCluster(this, 'Kafka', { network, config: config.kafka });
 * ```
 */
export class Network extends Construct {
  readonly vpc: ec2.IVpc;
  /** Where the cluster and the functions go: the isolated subnets. */
  readonly subnets: ec2.SubnetSelection = {
    subnetType: ec2.SubnetType.PRIVATE_ISOLATED,
  };
  readonly clusterSecurityGroup: ec2.SecurityGroup;
  readonly functionSecurityGroup: ec2.SecurityGroup;

  constructor(scope: Construct, id: string, props: NetworkProps = {}) {
    super(scope, id);

    // AwsSolutions-VPC7: flow logs, kept a bounded time.
    const flowLogGroup = new logs.LogGroup(this, 'FlowLogs', {
      retention: props.flowLogRetention ?? logs.RetentionDays.ONE_MONTH,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.DESTROY,
    });

    const vpc = new ec2.Vpc(this, 'Vpc', {
      // An environment-agnostic stack gets 2 AZ tokens: enough for MSK Serverless,
      // which wants subnets in at least 2 AZs.
      maxAzs: 2,
      natGateways: 0,
      subnetConfiguration: [
        {
          name: 'Isolated',
          subnetType: ec2.SubnetType.PRIVATE_ISOLATED,
          cidrMask: 20,
        },
      ],
      gatewayEndpoints: {
        DynamoDb: { service: ec2.GatewayVpcEndpointAwsService.DYNAMODB },
        S3: { service: ec2.GatewayVpcEndpointAwsService.S3 },
      },
      flowLogs: {
        All: {
          destination: ec2.FlowLogDestination.toCloudWatchLogs(flowLogGroup),
          trafficType: ec2.FlowLogTrafficType.ALL,
        },
      },
    });
    this.vpc = vpc;

    this.clusterSecurityGroup = new ec2.SecurityGroup(this, 'ClusterSg', {
      vpc,
      description: 'MSK cluster: Kafka over SASL/IAM from functions and ESMs',
      // Isolated subnets: outbound reaches only the VPC and the gateway endpoints;
      // the ESM's ENIs in this group may need HTTPS to AWS APIs.
      allowAllOutbound: true,
    });
    this.functionSecurityGroup = new ec2.SecurityGroup(this, 'FunctionSg', {
      vpc,
      description:
        'Lambda functions: out to Kafka and to the gateway endpoints',
      allowAllOutbound: false,
    });

    const kafka = ec2.Port.tcp(MSK_IAM_PORT);
    this.functionSecurityGroup.connections.allowTo(
      this.clusterSecurityGroup,
      kafka,
      'Functions to Kafka (SASL/IAM)',
    );
    // The event source mappings' ENIs use the cluster's own security groups.
    // Ingress only: the group's outbound is open already.
    this.clusterSecurityGroup.addIngressRule(
      this.clusterSecurityGroup,
      kafka,
      'Event source mappings to Kafka (SASL/IAM)',
    );
    // Gateway endpoints have no fixed addresses in the template (their prefix lists
    // are per region), so HTTPS is allowed to any address; with isolated subnets
    // only the DynamoDB and S3 endpoints answer.
    this.functionSecurityGroup.addEgressRule(
      ec2.Peer.anyIpv4(),
      ec2.Port.tcp(443),
      'HTTPS to DynamoDB and S3 gateway endpoints',
    );
  }
}
