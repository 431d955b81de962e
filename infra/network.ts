/**
 * The network: one VPC with isolated subnets, the security groups of the Kafka
 * cluster and of the functions, free gateway endpoints and VPC flow logs; or, with an
 * existing cluster, that cluster's VPC, subnets and security group.
 */
import { Fn, RemovalPolicy } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';

/** MSK brokers' port for SASL/IAM clients (TLS). */
export const MSK_IAM_PORT = 9098;

/**
 * The network of an existing MSK cluster, where the functions go instead of a new VPC
 * (`aws kafka describe-cluster-v2 --cluster-arn <arn>` shows the cluster's subnets and
 * security groups).
 */
export interface ExistingNetwork {
  /** The cluster's VPC. */
  readonly vpcId: string;
  /**
   * The subnets for the functions: in the cluster's VPC, with a route to DynamoDB (a
   * gateway endpoint or a NAT gateway), ideally in two or more AZs.
   */
  readonly subnetIds: readonly string[];
  /**
   * The cluster's security group. The stack adds one ingress rule to it: port 9098
   * from the functions' new security group. The event source mappings' network
   * interfaces use this group too, so it must already allow 9098 from itself, as AWS
   * requires of any MSK cluster that Lambda reads
   * (https://docs.aws.amazon.com/lambda/latest/dg/with-msk-cluster-network.html).
   */
  readonly clusterSecurityGroupId: string;
}

/** Options of {@link Network}; all have defaults. */
export interface NetworkProps {
  /** How long VPC flow logs are kept. Default: one month. */
  readonly flowLogRetention?: logs.RetentionDays;
  /** What happens to the flow-log group when the stack goes. Default: destroy. */
  readonly removalPolicy?: RemovalPolicy;
  /**
   * The AZs of the new VPC, pinned (e.g. `['eu-west-1a', 'eu-west-1b']`). Default:
   * the first two of the stack's region, which an environment-specific stack looks
   * up once and keeps in `cdk.context.json`; an environment-agnostic one leaves them
   * to `Fn::GetAZs` at deploy time.
   */
  readonly availabilityZones?: readonly string[];
  /** Use an existing cluster's network: no VPC is created. */
  readonly existing?: ExistingNetwork;
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
  /**
   * Where the cluster and the functions go: the new VPC's isolated subnets, or the
   * given subnets of an existing cluster's VPC.
   */
  readonly subnets: ec2.SubnetSelection;
  readonly clusterSecurityGroup: ec2.ISecurityGroup;
  readonly functionSecurityGroup: ec2.SecurityGroup;

  constructor(scope: Construct, id: string, props: NetworkProps = {}) {
    super(scope, id);
    if (props.existing) {
      const existing = useExisting(this, props.existing);
      this.vpc = existing.vpc;
      this.subnets = existing.subnets;
      this.clusterSecurityGroup = existing.clusterSecurityGroup;
      this.functionSecurityGroup = existing.functionSecurityGroup;
      return;
    }
    this.subnets = { subnetType: ec2.SubnetType.PRIVATE_ISOLATED };

    // AwsSolutions-VPC7: flow logs, kept a bounded time.
    const flowLogGroup = new logs.LogGroup(this, 'FlowLogs', {
      retention: props.flowLogRetention ?? logs.RetentionDays.ONE_MONTH,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.DESTROY,
    });

    const vpc = new ec2.Vpc(this, 'Vpc', {
      // Two AZs: enough for MSK Serverless, which wants subnets in at least 2 AZs.
      ...(props.availabilityZones
        ? { availabilityZones: [...props.availabilityZones] }
        : { maxAzs: 2 }),
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
    this.functionSecurityGroup = functionSecurityGroup(
      this,
      vpc,
      this.clusterSecurityGroup,
    );
    // The event source mappings' ENIs use the cluster's own security groups.
    // Ingress only: the group's outbound is open already.
    this.clusterSecurityGroup.addIngressRule(
      this.clusterSecurityGroup,
      ec2.Port.tcp(MSK_IAM_PORT),
      'Event source mappings to Kafka (SASL/IAM)',
    );
  }
}

/**
 * The functions' security group: out to the cluster on 9098 (which adds the matching
 * ingress rule to the cluster's group) and to HTTPS. Gateway endpoints have no fixed
 * addresses in the template (their prefix lists are per region), so HTTPS is allowed
 * to any address; with isolated subnets only the DynamoDB and S3 endpoints answer.
 */
function functionSecurityGroup(
  scope: Construct,
  vpc: ec2.IVpc,
  cluster: ec2.ISecurityGroup,
): ec2.SecurityGroup {
  const group = new ec2.SecurityGroup(scope, 'FunctionSg', {
    vpc,
    description: 'Lambda functions: out to Kafka and to the gateway endpoints',
    allowAllOutbound: false,
  });
  group.connections.allowTo(
    cluster,
    ec2.Port.tcp(MSK_IAM_PORT),
    'Functions to Kafka (SASL/IAM)',
  );
  group.addEgressRule(
    ec2.Peer.anyIpv4(),
    ec2.Port.tcp(443),
    'HTTPS to DynamoDB and S3 gateway endpoints',
  );
  return group;
}

/**
 * An existing cluster's network, imported by id: nothing of it is created or changed
 * but one ingress rule on the cluster's group (9098 from the functions' new group).
 */
function useExisting(
  scope: Construct,
  existing: ExistingNetwork,
): Pick<
  Network,
  'vpc' | 'subnets' | 'clusterSecurityGroup' | 'functionSecurityGroup'
> {
  if (existing.subnetIds.length === 0) {
    throw new Error('an existing network needs at least one subnet');
  }
  // The subnets are given as a list, so the VPC's AZs are never read; Fn::GetAZs
  // satisfies fromVpcAttributes without naming any.
  const vpc = ec2.Vpc.fromVpcAttributes(scope, 'Vpc', {
    vpcId: existing.vpcId,
    availabilityZones: Fn.getAzs(),
  });
  const subnets = existing.subnetIds.map((subnetId) =>
    ec2.Subnet.fromSubnetId(scope, subnetId, subnetId),
  );
  const clusterSecurityGroup = ec2.SecurityGroup.fromSecurityGroupId(
    scope,
    'ClusterSg',
    existing.clusterSecurityGroupId,
  );
  return {
    vpc,
    subnets: { subnets },
    clusterSecurityGroup,
    functionSecurityGroup: functionSecurityGroup(
      scope,
      vpc,
      clusterSecurityGroup,
    ),
  };
}
