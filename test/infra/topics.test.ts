import { type CfnElement, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { CONSUMED_TOPICS, deadLetterTopic, TOPICS } from '#domain/events.ts';
import type { StageConfig } from '#infra/config.ts';
import { KafkaCluster } from '#infra/kafka-cluster.ts';
import { Network } from '#infra/network.ts';
import { KafkaTopics, topicsFor } from '#infra/topics.ts';
import { testApp } from './test-app.ts';

const KAFKA: StageConfig['kafka'] = {
  mode: 'serverless',
  partitions: 3,
  retentionHours: 72,
};

function build(topics = topicsFor(KAFKA), app = testApp()) {
  const stack = new Stack(app, 'KafkaOrders-dev');
  const network = new Network(stack, 'Network');
  const cluster = new KafkaCluster(stack, 'Kafka', { network, config: KAFKA });
  const construct = new KafkaTopics(stack, 'Topics', {
    cluster,
    network,
    topics,
  });
  return { stack, network, cluster, topics: construct };
}

describe('topicsFor', () => {
  it('lists every event topic and a dead-letter topic per consumed topic', () => {
    // Act
    const topics = topicsFor({ ...KAFKA, partitions: 6, retentionHours: 168 });

    // Assess
    expect(topics.map((topic) => topic.name).sort()).toEqual(
      [
        ...Object.values(TOPICS),
        ...CONSUMED_TOPICS.map(deadLetterTopic),
      ].sort(),
    );
    for (const topic of topics) {
      expect(topic).toMatchObject({ partitions: 6, retentionMs: 604_800_000 });
    }
  });
});

describe('KafkaTopics', () => {
  // One synthesis for the suite, without bundling (bundles.test.ts bundles).
  let built: ReturnType<typeof build>;
  let template: Template;
  const id = (element: CfnElement) => built.stack.getLogicalId(element);

  beforeAll(() => {
    built = build();
    template = Template.fromStack(built.stack);
  });

  it('has one custom resource listing every topic with its partitions and retention', () => {
    // Prepare
    const expected = topicsFor(KAFKA).map((topic) => ({
      Name: topic.name,
      Partitions: topic.partitions,
      RetentionMs: topic.retentionMs,
    }));

    // Assess
    template.resourceCountIs('Custom::KafkaTopics', 1);
    template.hasResourceProperties('Custom::KafkaTopics', {
      ServiceToken: Match.anyValue(),
      ClusterArn: built.stack.resolve(built.cluster.clusterArn),
      Topics: expected,
    });
    expect(expected).toHaveLength(13);
  });

  it('runs the provisioner on Node 24, arm64, for at most 5 minutes', () => {
    // Assess
    template.hasResourceProperties('AWS::Lambda::Function', {
      Handler: 'index.handler',
      Runtime: 'nodejs24.x',
      Architectures: ['arm64'],
      Timeout: 300,
      Environment: {
        Variables: {
          KAFKA_BROKERS: built.stack.resolve(built.cluster.bootstrapBrokers),
          KAFKA_AUTH: 'iam',
        },
      },
    });
  });

  it('runs the provisioner in the isolated subnets with the function security group', () => {
    // Prepare
    const { network, stack } = built;

    // Assess
    template.hasResourceProperties('AWS::Lambda::Function', {
      Runtime: 'nodejs24.x',
      VpcConfig: {
        SecurityGroupIds: [
          stack.resolve(network.functionSecurityGroup.securityGroupId),
        ],
        SubnetIds: network.vpc.isolatedSubnets.map((subnet) =>
          stack.resolve(subnet.subnetId),
        ),
      },
    });
  });

  it('keeps the provisioner logs for a bounded time', () => {
    // Prepare
    const fn = built.topics.provisioner.node.defaultChild as CfnElement;
    const resources = template.toJSON().Resources;

    // Act
    const logGroup = resources[id(fn)].Properties.LoggingConfig.LogGroup.Ref;

    // Assess
    expect(resources[logGroup]).toMatchObject({
      Type: 'AWS::Logs::LogGroup',
      Properties: { RetentionInDays: 7 },
    });
  });

  it('grants the kafka-cluster actions on the cluster and the listed topics only', () => {
    // Prepare
    const fn = built.topics.provisioner;
    const roleId = id(fn.role?.node.defaultChild as CfnElement);
    const policies = template.findResources('AWS::IAM::Policy', {
      Properties: { Roles: [{ Ref: roleId }] },
    });

    // Act
    const statements = Object.values(policies).flatMap(
      (policy) => policy.Properties.PolicyDocument.Statement,
    );
    const kafkaStatements = statements.filter((statement) =>
      [statement.Action]
        .flat()
        .some((action: string) => action.startsWith('kafka-cluster:')),
    );

    // Assess
    const actions = kafkaStatements.flatMap((statement) => statement.Action);
    expect(actions.sort()).toEqual(
      [
        'kafka-cluster:AlterTopic',
        'kafka-cluster:AlterTopicDynamicConfiguration',
        'kafka-cluster:Connect',
        'kafka-cluster:CreateTopic',
        'kafka-cluster:DescribeCluster',
        'kafka-cluster:DescribeTopic',
        'kafka-cluster:DescribeTopicDynamicConfiguration',
      ].sort(),
    );
    for (const statement of kafkaStatements) {
      expect([statement.Resource].flat()).not.toContain('*');
    }
    const topicStatement = kafkaStatements.find((statement) =>
      statement.Action.includes('kafka-cluster:CreateTopic'),
    );
    expect(topicStatement.Resource).toEqual(
      topicsFor(KAFKA).map((topic) =>
        built.stack.resolve(built.cluster.topicArn(topic.name)),
      ),
    );
  });

  it('provisions topics once the security group rules let it in', () => {
    // Prepare
    const { network } = built;
    const resources = template.toJSON().Resources;

    // Act
    const resource =
      resources[id(built.topics.resource.node.defaultChild as CfnElement)];

    // Assess
    expect(resource.DependsOn).toEqual(
      expect.arrayContaining(
        Object.keys(template.findResources('AWS::EC2::SecurityGroupIngress')),
      ),
    );
    expect(resource.DependsOn).toContain(
      id(network.clusterSecurityGroup.node.defaultChild as CfnElement),
    );
  });

  it('refuses an empty or duplicated topic list', () => {
    // Act + Assess
    expect(() => build([])).toThrow(/needs topics/);
    const topic = { name: 'a', partitions: 1, retentionMs: 1000 };
    expect(() => build([topic, topic])).toThrow(/must be unique/);
  });
});
