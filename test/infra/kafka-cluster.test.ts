import { Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import type * as msk from 'aws-cdk-lib/aws-msk';
import { describe, expect, it } from 'vitest';
import type { StageConfig } from '#infra/config.ts';
import {
  BROKER_INSTANCE_TYPE,
  clusterNameFor,
  KAFKA_VERSION,
  KafkaCluster,
} from '#infra/kafka-cluster.ts';
import { Network } from '#infra/network.ts';
import { testApp } from './test-app.ts';

const EXISTING_ARN =
  'arn:aws:kafka:eu-west-1:123456789012:cluster/orders/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0-s1';

function build(
  kafka: Partial<StageConfig['kafka']> = {},
  stackName = 'KafkaOrders-dev',
) {
  const stack = new Stack(testApp(), stackName);
  const network = new Network(stack, 'Network');
  const cluster = new KafkaCluster(stack, 'Kafka', {
    network,
    config: {
      mode: 'serverless',
      partitions: 3,
      retentionHours: 72,
      ...kafka,
    },
    stage: 'dev',
  });
  return { stack, network, cluster, template: Template.fromStack(stack) };
}

/**
 * Evaluates the intrinsic functions CDK renders for token ARNs, with the given values
 * for `Fn::GetAtt` and `Ref`, so a test sees the string CloudFormation would make.
 */
function evaluate(value: unknown, refs: Record<string, string>): unknown {
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) return value.map((item) => evaluate(item, refs));
  if (value === null || typeof value !== 'object') return value;
  const [[fn, args]] = Object.entries(value) as [[string, unknown]];
  const list = (input: unknown) => evaluate(input, refs) as unknown[];
  switch (fn) {
    case 'Fn::Join': {
      const [delimiter, items] = args as [string, unknown];
      return list(items).join(delimiter);
    }
    case 'Fn::Select': {
      const [index, items] = args as [number, unknown];
      return list(items)[index];
    }
    case 'Fn::Split': {
      const [delimiter, source] = args as [string, unknown];
      return String(evaluate(source, refs)).split(delimiter);
    }
    case 'Fn::GetAtt':
      return refs[(args as string[]).join('.')];
    case 'Ref':
      return refs[args as string];
    default:
      throw new Error(`cannot evaluate ${fn}`);
  }
}

describe('KafkaCluster', () => {
  describe('serverless', () => {
    it('creates an MSK Serverless cluster with IAM auth in the isolated subnets', () => {
      // Prepare
      const { template, network, stack } = build({ mode: 'serverless' });
      const subnets = network.vpc.isolatedSubnets.map((subnet) =>
        stack.resolve(subnet.subnetId),
      );

      // Assess
      template.resourceCountIs('AWS::MSK::ServerlessCluster', 1);
      template.resourceCountIs('AWS::MSK::Cluster', 0);
      template.hasResourceProperties('AWS::MSK::ServerlessCluster', {
        ClusterName: 'KafkaOrders-dev',
        ClientAuthentication: { Sasl: { Iam: { Enabled: true } } },
        VpcConfigs: [
          {
            SubnetIds: subnets,
            SecurityGroups: [
              stack.resolve(network.clusterSecurityGroup.securityGroupId),
            ],
          },
        ],
      });
    });

    it('exposes the new cluster ARN', () => {
      // Prepare
      const { cluster, stack } = build({ mode: 'serverless' });

      // Act
      const arn = stack.resolve(cluster.clusterArn);

      // Assess
      expect(arn).toEqual({
        'Fn::GetAtt': [
          stack.getLogicalId(cluster.resource as msk.CfnServerlessCluster),
          'Arn',
        ],
      });
    });
  });

  describe('provisioned', () => {
    it('creates 2 small brokers on Kafka 3.9 with IAM auth only and TLS everywhere', () => {
      // Act
      const { template, network, stack } = build({ mode: 'provisioned' });

      // Assess
      template.resourceCountIs('AWS::MSK::ServerlessCluster', 0);
      template.hasResourceProperties('AWS::MSK::Cluster', {
        ClusterName: 'KafkaOrders-dev',
        KafkaVersion: KAFKA_VERSION,
        NumberOfBrokerNodes: 2,
        BrokerNodeGroupInfo: {
          InstanceType: BROKER_INSTANCE_TYPE,
          ClientSubnets: network.vpc.isolatedSubnets.map((subnet) =>
            stack.resolve(subnet.subnetId),
          ),
          SecurityGroups: [
            stack.resolve(network.clusterSecurityGroup.securityGroupId),
          ],
        },
        ClientAuthentication: {
          Sasl: { Iam: { Enabled: true } },
          Unauthenticated: { Enabled: false },
        },
        EncryptionInfo: {
          EncryptionInTransit: { ClientBroker: 'TLS', InCluster: true },
        },
      });
      expect(KAFKA_VERSION).toMatch(/^3\.9\.x/);
    });

    it('sends broker logs to CloudWatch with a bounded retention', () => {
      // Act
      const { template } = build({ mode: 'provisioned' });

      // Assess
      const groups = template.findResources('AWS::Logs::LogGroup', {
        Properties: { RetentionInDays: 30 },
      });
      template.hasResourceProperties('AWS::MSK::Cluster', {
        LoggingInfo: {
          BrokerLogs: {
            CloudWatchLogs: {
              Enabled: true,
              LogGroup: { Ref: Match.anyValue() },
            },
          },
        },
      });
      const cluster = Object.values(
        template.findResources('AWS::MSK::Cluster'),
      )[0];
      const logGroup =
        cluster?.Properties.LoggingInfo.BrokerLogs.CloudWatchLogs.LogGroup.Ref;
      expect(Object.keys(groups)).toContain(logGroup);
    });
  });

  describe('existing cluster', () => {
    it('creates no cluster and uses the given ARN as is', () => {
      // Act
      const { template, cluster } = build({ clusterArn: EXISTING_ARN });

      // Assess
      template.resourceCountIs('AWS::MSK::ServerlessCluster', 0);
      template.resourceCountIs('AWS::MSK::Cluster', 0);
      expect(cluster.clusterArn).toBe(EXISTING_ARN);
      expect(cluster.clusterName).toBeUndefined();
      expect(cluster.resource).toBeUndefined();
    });

    it('derives concrete topic and group ARNs at synth time', () => {
      // Prepare
      const { cluster } = build({ clusterArn: EXISTING_ARN });

      // Act
      const topic = cluster.topicArn('order.placed.v1');
      const group = cluster.groupArn('payment-*');

      // Assess
      expect(topic).toBe(
        'arn:aws:kafka:eu-west-1:123456789012:topic/orders/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0-s1/order.placed.v1',
      );
      expect(group).toBe(
        'arn:aws:kafka:eu-west-1:123456789012:group/orders/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0-s1/payment-*',
      );
    });

    it('rejects an ARN that is not an MSK cluster ARN', () => {
      // Act + Assess
      expect(() =>
        build({ clusterArn: 'arn:aws:kafka:eu-west-1:123456789012:topic/x' }),
      ).toThrow(/not an MSK cluster ARN/);
    });
  });

  describe('ARNs of a new cluster (tokens)', () => {
    it.each([
      ['topicArn', 'order.placed.v1', 'topic'],
      ['topicArn', '*', 'topic'],
      ['groupArn', 'order-events', 'group'],
    ] as const)(
      '%s(%s) renders to the MSK IAM ARN form',
      (method, name, kind) => {
        // Prepare
        const { cluster, stack } = build({ mode: 'serverless' });
        const clusterId = stack.getLogicalId(
          cluster.resource as msk.CfnServerlessCluster,
        );
        const arn =
          'arn:aws:kafka:us-east-1:111122223333:cluster/KafkaOrders-dev/abcd-1234-s2';

        // Act
        const rendered = stack.resolve(cluster[method](name));

        // Assess
        expect(evaluate(rendered, { [`${clusterId}.Arn`]: arn })).toBe(
          `arn:aws:kafka:us-east-1:111122223333:${kind}/KafkaOrders-dev/abcd-1234-s2/${name}`,
        );
      },
    );
  });

  describe('bootstrap brokers', () => {
    it('reads BootstrapBrokerStringSaslIam with GetBootstrapBrokers at deploy time', () => {
      // Prepare
      const { cluster, stack, template } = build({ clusterArn: EXISTING_ARN });
      const lookups = template.findResources('Custom::MskBootstrapBrokers');
      const [lookupId] = Object.keys(lookups);

      // Act
      const brokers = stack.resolve(cluster.bootstrapBrokers);
      const call = JSON.parse(
        lookups[lookupId as string]?.Properties.Create as string,
      );

      // Assess
      expect(brokers).toEqual({
        'Fn::GetAtt': [lookupId, 'BootstrapBrokerStringSaslIam'],
      });
      expect(call).toEqual(
        expect.objectContaining({
          service: 'Kafka',
          action: 'getBootstrapBrokers',
          parameters: { ClusterArn: EXISTING_ARN },
          physicalResourceId: { id: EXISTING_ARN },
        }),
      );
    });

    it('may call GetBootstrapBrokers on this cluster only', () => {
      // Act
      const { template } = build({ clusterArn: EXISTING_ARN });

      // Assess
      template.hasResourceProperties('AWS::IAM::Policy', {
        PolicyDocument: {
          Statement: [
            {
              Action: 'kafka:GetBootstrapBrokers',
              Effect: 'Allow',
              Resource: EXISTING_ARN,
            },
          ],
        },
      });
    });

    it('looks up a new cluster after it is created', () => {
      // Act
      const { template, cluster, stack } = build({ mode: 'provisioned' });

      // Assess
      const clusterId = stack.getLogicalId(cluster.resource as msk.CfnCluster);
      const lookup = Object.values(
        template.findResources('Custom::MskBootstrapBrokers'),
      )[0];
      expect(JSON.stringify(lookup?.Properties.Create)).toContain(clusterId);
    });
  });

  describe('clusterNameFor', () => {
    it.each([
      ['KafkaOrders-dev', 'dev', 'KafkaOrders-dev'],
      ['KafkaOrders', 'prod', 'KafkaOrders-prod'],
      ['Kafka_Orders.x', undefined, 'Kafka-Orders-x'],
    ])('names %s (stage %s) %s', (stackName, stage, expected) => {
      expect(clusterNameFor(stackName, stage)).toBe(expected);
    });

    it('keeps long names within 64 characters and keeps the stage', () => {
      // Act
      const name = clusterNameFor('A'.repeat(100), 'staging');

      // Assess
      expect(name).toHaveLength(64);
      expect(name.endsWith('-staging')).toBe(true);
    });
  });
});
