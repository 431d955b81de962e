import { type CfnElement, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as logs from 'aws-cdk-lib/aws-logs';
import { describe, expect, it } from 'vitest';
import { MSK_IAM_PORT, Network } from '#infra/network.ts';
import { testApp } from './test-app.ts';

function build(props?: ConstructorParameters<typeof Network>[2]) {
  const stack = new Stack(testApp(), 'NetworkTest');
  const network = new Network(stack, 'Network', props);
  return {
    stack,
    network,
    template: Template.fromStack(stack),
    id: (group: ec2.ISecurityGroup) =>
      stack.getLogicalId(group.node.defaultChild as CfnElement),
  };
}

describe('Network', () => {
  it('has 2 isolated subnets and no NAT gateway, internet gateway or public subnet', () => {
    // Act
    const { template } = build();

    // Assess
    template.resourceCountIs('AWS::EC2::Subnet', 2);
    template.allResourcesProperties('AWS::EC2::Subnet', {
      MapPublicIpOnLaunch: false,
      Tags: Match.arrayWith([
        { Key: 'aws-cdk:subnet-type', Value: 'Isolated' },
      ]),
    });
    template.resourceCountIs('AWS::EC2::NatGateway', 0);
    template.resourceCountIs('AWS::EC2::InternetGateway', 0);
    template.resourceCountIs('AWS::EC2::EIP', 0);
    template.resourcePropertiesCountIs(
      'AWS::EC2::Route',
      { DestinationCidrBlock: '0.0.0.0/0' },
      0,
    );
  });

  it('spreads the subnets over two availability zones', () => {
    // Act
    const { template } = build();

    // Assess
    for (const index of [0, 1]) {
      template.hasResourceProperties('AWS::EC2::Subnet', {
        AvailabilityZone: { 'Fn::Select': [index, { 'Fn::GetAZs': '' }] },
      });
    }
  });

  it('has free gateway endpoints for DynamoDB and S3 on every subnet, and no interface endpoint', () => {
    // Prepare
    const { template, network, stack } = build();
    const routeTables = network.vpc.isolatedSubnets.map((subnet) =>
      stack.resolve(subnet.routeTable.routeTableId),
    );

    // Assess
    for (const service of ['dynamodb', 's3']) {
      template.hasResourceProperties('AWS::EC2::VPCEndpoint', {
        VpcEndpointType: 'Gateway',
        ServiceName: {
          'Fn::Join': [
            '',
            ['com.amazonaws.', { Ref: 'AWS::Region' }, `.${service}`],
          ],
        },
        RouteTableIds: routeTables,
      });
    }
    template.resourcePropertiesCountIs(
      'AWS::EC2::VPCEndpoint',
      { VpcEndpointType: 'Interface' },
      0,
    );
  });

  it('lets the functions and the cluster itself reach Kafka on 9098', () => {
    // Prepare
    const { template, network, id } = build();
    const clusterSg = id(network.clusterSecurityGroup);
    const functionSg = id(network.functionSecurityGroup);

    // Act
    const ingress = template.findResources('AWS::EC2::SecurityGroupIngress');

    // Assess
    const rules = Object.values(ingress).map((rule) => rule.Properties);
    expect(rules).toHaveLength(2);
    for (const source of [functionSg, clusterSg]) {
      expect(rules).toContainEqual(
        expect.objectContaining({
          GroupId: { 'Fn::GetAtt': [clusterSg, 'GroupId'] },
          SourceSecurityGroupId: { 'Fn::GetAtt': [source, 'GroupId'] },
          IpProtocol: 'tcp',
          FromPort: MSK_IAM_PORT,
          ToPort: MSK_IAM_PORT,
        }),
      );
    }
  });

  it('lets the functions out only to Kafka and to HTTPS', () => {
    // Prepare
    const { template, network, id } = build();
    const clusterSg = id(network.clusterSecurityGroup);
    const functionSg = id(network.functionSecurityGroup);

    // Act
    const group = template.findResources('AWS::EC2::SecurityGroup')[functionSg];

    // Assess
    expect(group?.Properties.SecurityGroupEgress).toEqual([
      expect.objectContaining({
        CidrIp: '0.0.0.0/0',
        IpProtocol: 'tcp',
        FromPort: 443,
        ToPort: 443,
      }),
    ]);
    template.hasResourceProperties('AWS::EC2::SecurityGroupEgress', {
      GroupId: { 'Fn::GetAtt': [functionSg, 'GroupId'] },
      DestinationSecurityGroupId: { 'Fn::GetAtt': [clusterSg, 'GroupId'] },
      FromPort: MSK_IAM_PORT,
      ToPort: MSK_IAM_PORT,
    });
    template.resourceCountIs('AWS::EC2::SecurityGroupEgress', 1);
  });

  it('opens no port to the internet', () => {
    // Act
    const { template } = build();

    // Assess
    const groups = Object.values(
      template.findResources('AWS::EC2::SecurityGroup'),
    );
    for (const group of groups) {
      expect(group.Properties.SecurityGroupIngress).toBeUndefined();
    }
  });

  it('logs all VPC traffic to a log group with a bounded retention', () => {
    // Act
    const { template } = build();

    // Assess
    const logGroups = template.findResources('AWS::Logs::LogGroup', {
      Properties: { RetentionInDays: 30 },
    });
    const [logGroup] = Object.keys(logGroups);
    expect(logGroup).toBeDefined();
    template.hasResourceProperties('AWS::EC2::FlowLog', {
      ResourceType: 'VPC',
      TrafficType: 'ALL',
      LogDestinationType: 'cloud-watch-logs',
      LogGroupName: { Ref: logGroup },
    });
  });

  it('takes the flow-log retention from its props', () => {
    // Act
    const { template } = build({
      flowLogRetention: logs.RetentionDays.ONE_WEEK,
    });

    // Assess
    template.hasResourceProperties('AWS::Logs::LogGroup', {
      RetentionInDays: 7,
    });
  });

  it('offers the isolated subnets for functions and the cluster', () => {
    // Prepare
    const { network } = build();

    // Act
    const selected = network.vpc.selectSubnets(network.subnets);

    // Assess
    expect(selected.subnetIds).toHaveLength(2);
    expect(selected.subnets).toEqual(network.vpc.isolatedSubnets);
  });
});
