import { Stack } from 'aws-cdk-lib';
import { Capture, Match, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { beforeAll, describe, expect, it } from 'vitest';
import { STAGE_DEFAULTS, type StageConfig } from '../../infra/config.ts';
import {
  KafkaConsumerFunction,
  type KafkaConsumerFunctionProps,
} from '../../infra/kafka-consumer-function.ts';
import type { KafkaClusterRef } from '../../infra/kafka-event-sources.ts';
import { OrdersFunction } from '../../infra/orders-function.ts';
import { testApp } from './test-app.ts';

const ARN_HEAD = 'arn:aws:kafka:eu-west-1:111122223333';
const CLUSTER_PATH = 'orders/0a1b2c3d-4e5f-6789-abcd-ef0123456789-s1';
const CLUSTER_ARN = `${ARN_HEAD}:cluster/${CLUSTER_PATH}`;
const BROKERS = 'boot-abc.c1.kafka-serverless.eu-west-1.amazonaws.com:9098';
const topicArn = (name: string) => `${ARN_HEAD}:topic/${CLUSTER_PATH}/${name}`;
const groupArn = (name: string) => `${ARN_HEAD}:group/${CLUSTER_PATH}/${name}`;

/** A stand-in for the project's KafkaCluster construct. */
const cluster: KafkaClusterRef = {
  clusterArn: CLUSTER_ARN,
  bootstrapBrokers: BROKERS,
  topicArn,
  groupArn,
};

const dev = STAGE_DEFAULTS.dev as Omit<StageConfig, 'stage'>;
const esm: StageConfig['esm'] = {
  ...dev.esm,
  batchSize: 50,
  maxBatchingWindowSeconds: 2,
  retryAttempts: 4,
  maxRecordAgeSeconds: 1_800,
  minimumPollers: 1,
  maximumPollers: 3,
  bisectBatchOnError: true,
};
const functions: StageConfig['functions'] = {
  memoryMb: 768,
  timeoutSeconds: 90,
  logRetentionDays: 14,
};

const PLACED = 'order.placed.v1';
const FAILED_DLT = 'payment.failed.v1.dead-letter';

function testStack(): { stack: Stack; vpc: ec2.Vpc; sg: ec2.SecurityGroup } {
  const stack = new Stack(testApp(), 'Test');
  const vpc = new ec2.Vpc(stack, 'Vpc', {
    natGateways: 0,
    subnetConfiguration: [
      { name: 'isolated', subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
    ],
  });
  const sg = new ec2.SecurityGroup(stack, 'FunctionSg', { vpc });
  return { stack, vpc, sg };
}

function consumerProps(
  overrides: Partial<KafkaConsumerFunctionProps> = {},
): KafkaConsumerFunctionProps {
  return {
    entry: 'payment.ts',
    description: 'Charges placed orders',
    environment: { PAYMENTS_TABLE: 'payments-test' },
    cluster,
    subscriptions: [
      {
        topic: PLACED,
        consumerGroupId: 'payment-order-placed',
        onFailure: 'dead-letter-topic',
      },
      {
        topic: FAILED_DLT,
        consumerGroupId: 'payment-failed-dead-letters',
        onFailure: 'none',
      },
    ],
    esm,
    functions,
    ...overrides,
  };
}

type Mapping = { Properties: Record<string, unknown> };

/** The mapping of a topic; fails when there is not exactly one. */
function mappingOf(template: Template, topic: string): Mapping {
  const found = Object.values(
    template.findResources('AWS::Lambda::EventSourceMapping', {
      Properties: { Topics: [topic] },
    }),
  ) as Mapping[];
  expect(found).toHaveLength(1);
  return found[0] as Mapping;
}

/** Every kafka-cluster action of every inline policy, with its resources. */
function kafkaGrants(template: Template): Map<string, string[]> {
  const grants = new Map<string, string[]>();
  const policies = Object.values(template.findResources('AWS::IAM::Policy'));
  for (const policy of policies) {
    const statements = policy.Properties.PolicyDocument.Statement as {
      Action: string | string[];
      Resource: unknown;
      Effect: string;
    }[];
    for (const statement of statements) {
      const actions = [statement.Action].flat();
      const resources = [statement.Resource].flat() as string[];
      for (const action of actions.filter((a) =>
        a.startsWith('kafka-cluster:'),
      )) {
        expect(statement.Effect).toBe('Allow');
        grants.set(action, [...(grants.get(action) ?? []), ...resources]);
      }
    }
  }
  for (const [action, resources] of grants) {
    grants.set(action, [...new Set(resources)].sort());
  }
  return grants;
}

describe('KafkaConsumerFunction', () => {
  let template: Template;
  let consumer: KafkaConsumerFunction;
  let stack: Stack;
  let vpc: ec2.Vpc;
  let sg: ec2.SecurityGroup;

  beforeAll(() => {
    // Prepare
    ({ stack, vpc, sg } = testStack());

    // Act
    consumer = new KafkaConsumerFunction(
      stack,
      'Payment',
      consumerProps({ network: { vpc, functionSecurityGroup: sg } }),
    );
    consumer.allowProducingTo([
      'payment.processed.v1',
      'payment.failed.v1',
      'payment.processed.v1',
    ]);
    consumer.allowProducingTo(['payment.processed.v1']);
    template = Template.fromStack(stack);
  });

  describe('event source mappings', () => {
    it('makes one mapping per subscription, on the cluster', () => {
      template.resourceCountIs('AWS::Lambda::EventSourceMapping', 2);
      template.allResourcesProperties('AWS::Lambda::EventSourceMapping', {
        EventSourceArn: CLUSTER_ARN,
        FunctionName: { Ref: Match.anyValue() },
      });
      expect(consumer.eventSources).toHaveLength(2);
      expect(consumer.consumerGroupIds).toEqual([
        'payment-order-placed',
        'payment-failed-dead-letters',
      ]);
      expect(consumer.deadLetterTopics).toEqual([`${PLACED}.dead-letter`]);
    });

    it.each([
      [PLACED, 'payment-order-placed'],
      [FAILED_DLT, 'payment-failed-dead-letters'],
    ])('reads %s from the oldest record as group %s', (topic, group) => {
      const { Properties } = mappingOf(template, topic);
      expect(Properties).toMatchObject({
        Topics: [topic],
        AmazonManagedKafkaEventSourceConfig: { ConsumerGroupId: group },
        StartingPosition: 'TRIM_HORIZON',
      });
    });

    it.each([PLACED, FAILED_DLT])(
      'batches, bisects and reports partial failures on %s, in provisioned mode',
      (topic) => {
        const { Properties } = mappingOf(template, topic);
        expect(Properties).toMatchObject({
          BatchSize: 50,
          MaximumBatchingWindowInSeconds: 2,
          BisectBatchOnFunctionError: true,
          FunctionResponseTypes: ['ReportBatchItemFailures'],
          ProvisionedPollerConfig: { MinimumPollers: 1, MaximumPollers: 3 },
        });
      },
    );

    it.each([PLACED, FAILED_DLT])(
      'publishes event, error and Kafka metrics and WARN system logs on %s',
      (topic) => {
        const { Properties } = mappingOf(template, topic);
        // The three values CloudFormation allows, in any order.
        expect(
          (Properties.MetricsConfig as { Metrics: string[] }).Metrics.sort(),
        ).toEqual(['ErrorCount', 'EventCount', 'KafkaMetrics']);
        expect(Properties.LoggingConfig).toEqual({ SystemLogLevel: 'WARN' });
      },
    );

    it("takes a subscription's own batching window over the stage's", () => {
      // Prepare
      const { stack: own } = testStack();

      // Act
      new KafkaConsumerFunction(
        own,
        'Payment',
        consumerProps({
          subscriptions: [
            {
              topic: PLACED,
              consumerGroupId: 'payment-order-placed',
              onFailure: 'dead-letter-topic',
              maxBatchingWindowSeconds: 0,
            },
            {
              topic: FAILED_DLT,
              consumerGroupId: 'payment-failed-dead-letters',
              onFailure: 'none',
            },
          ],
        }),
      );
      const ownTemplate = Template.fromStack(own);

      // Assess: 0 is written, not left out (absent, AWS waits 0.5 s).
      expect(mappingOf(ownTemplate, PLACED).Properties).toMatchObject({
        MaximumBatchingWindowInSeconds: 0,
      });
      expect(mappingOf(ownTemplate, FAILED_DLT).Properties).toMatchObject({
        MaximumBatchingWindowInSeconds: 2,
      });
    });

    it('gives up after the retries or the record age, to <topic>.dead-letter', () => {
      const { Properties } = mappingOf(template, PLACED);
      expect(Properties).toMatchObject({
        MaximumRetryAttempts: 4,
        MaximumRecordAgeInSeconds: 1_800,
        DestinationConfig: {
          OnFailure: { Destination: `kafka://${PLACED}.dead-letter` },
        },
      });
    });

    it('retries forever and never ages out without a destination', () => {
      const { Properties } = mappingOf(template, FAILED_DLT);
      expect(Properties).not.toHaveProperty('MaximumRetryAttempts');
      expect(Properties).not.toHaveProperty('MaximumRecordAgeInSeconds');
      expect(Properties).not.toHaveProperty('DestinationConfig');
    });
  });

  describe('function', () => {
    it('runs the handler on Node.js 24, arm64, with the stage memory and timeout', () => {
      template.hasResourceProperties('AWS::Lambda::Function', {
        Runtime: 'nodejs24.x',
        Architectures: ['arm64'],
        Handler: 'index.handler',
        MemorySize: 768,
        Timeout: 90,
        Description: 'Charges placed orders',
      });
    });

    it('gets the Kafka settings beside its own environment, and nothing else', () => {
      template.hasResourceProperties('AWS::Lambda::Function', {
        Environment: {
          Variables: Match.exact({
            PAYMENTS_TABLE: 'payments-test',
            KAFKA_AUTH: 'iam',
            KAFKA_BROKERS: BROKERS,
          }),
        },
      });
    });

    it('runs in the isolated subnets with the function security group', () => {
      template.hasResourceProperties('AWS::Lambda::Function', {
        VpcConfig: {
          SubnetIds: stack.resolve(
            vpc.isolatedSubnets.map((subnet) => subnet.subnetId),
          ),
          SecurityGroupIds: [stack.resolve(sg.securityGroupId)],
        },
      });
    });

    it('logs to its own log group with the stage retention', () => {
      // Prepare
      const logGroup = new Capture();

      // Assess
      template.hasResourceProperties('AWS::Lambda::Function', {
        LoggingConfig: { LogGroup: { Ref: logGroup } },
      });
      template.hasResource('AWS::Logs::LogGroup', {
        Properties: { RetentionInDays: 14 },
        DeletionPolicy: 'Retain',
      });
      expect(
        template.findResources('AWS::Logs::LogGroup')[logGroup.asString()],
      ).toBeDefined();
    });
  });

  describe('Kafka IAM', () => {
    it('connects to the cluster, reads its dynamic configuration and produces idempotently, on the cluster ARN', () => {
      const grants = kafkaGrants(template);
      expect(grants.get('kafka-cluster:Connect')).toEqual([CLUSTER_ARN]);
      expect(grants.get('kafka-cluster:DescribeCluster')).toEqual([
        CLUSTER_ARN,
      ]);
      expect(
        grants.get('kafka-cluster:DescribeClusterDynamicConfiguration'),
      ).toEqual([CLUSTER_ARN]);
      expect(grants.get('kafka-cluster:WriteDataIdempotently')).toEqual([
        CLUSTER_ARN,
      ]);
    });

    it('reads only the subscribed topics', () => {
      expect(kafkaGrants(template).get('kafka-cluster:ReadData')).toEqual(
        [topicArn(PLACED), topicArn(FAILED_DLT)].sort(),
      );
    });

    it('joins only its consumer groups', () => {
      const grants = kafkaGrants(template);
      const groups = [
        groupArn('payment-order-placed'),
        groupArn('payment-failed-dead-letters'),
      ].sort();
      expect(grants.get('kafka-cluster:DescribeGroup')).toEqual(groups);
      expect(grants.get('kafka-cluster:AlterGroup')).toEqual(groups);
    });

    it('writes to its dead-letter topic and the topics it produces to, once each', () => {
      const written = [
        topicArn(`${PLACED}.dead-letter`),
        topicArn('payment.failed.v1'),
        topicArn('payment.processed.v1'),
      ].sort();
      const grants = kafkaGrants(template);
      expect(grants.get('kafka-cluster:WriteData')).toEqual(written);
      expect(grants.get('kafka-cluster:DescribeTopic')).toEqual(
        [...written, topicArn(PLACED), topicArn(FAILED_DLT)].sort(),
      );
    });

    it('grants only these actions, none on a wildcard resource', () => {
      const grants = kafkaGrants(template);
      expect([...grants.keys()].sort()).toEqual([
        'kafka-cluster:AlterGroup',
        'kafka-cluster:Connect',
        'kafka-cluster:DescribeCluster',
        'kafka-cluster:DescribeClusterDynamicConfiguration',
        'kafka-cluster:DescribeGroup',
        'kafka-cluster:DescribeTopic',
        'kafka-cluster:ReadData',
        'kafka-cluster:WriteData',
        'kafka-cluster:WriteDataIdempotently',
      ]);
      for (const resources of grants.values()) {
        for (const resource of resources) {
          expect(resource).not.toContain('*');
        }
      }
    });
  });
});

describe('KafkaConsumerFunction rejects at synth', () => {
  it('a dead-letter destination that is a source topic of the function', () => {
    // Prepare
    const { stack } = testStack();
    const props = consumerProps({
      subscriptions: [
        {
          topic: PLACED,
          consumerGroupId: 'a',
          onFailure: 'dead-letter-topic',
        },
        {
          topic: `${PLACED}.dead-letter`,
          consumerGroupId: 'b',
          onFailure: 'none',
        },
      ],
    });

    // Act
    const act = () => new KafkaConsumerFunction(stack, 'Loop', props);

    // Assess
    expect(act).toThrow(
      `Loop: the dead-letter destination ${PLACED}.dead-letter of ${PLACED} is a source topic of the same function`,
    );
  });

  it('a dead-letter topic of a dead-letter topic', () => {
    const { stack } = testStack();
    const props = consumerProps({
      subscriptions: [
        {
          topic: FAILED_DLT,
          consumerGroupId: 'a',
          onFailure: 'dead-letter-topic',
        },
      ],
    });

    expect(() => new KafkaConsumerFunction(stack, 'Dlt', props)).toThrow(
      /is a dead-letter topic; consume it with onFailure 'none'/,
    );
  });

  it('a consumer group used twice', () => {
    const { stack } = testStack();
    const props = consumerProps({
      subscriptions: [
        { topic: 'a', consumerGroupId: 'g', onFailure: 'none' },
        { topic: 'b', consumerGroupId: 'g', onFailure: 'none' },
      ],
    });

    expect(() => new KafkaConsumerFunction(stack, 'Twice', props)).toThrow(
      'Twice: consumer group g twice',
    );
  });

  it('no subscription', () => {
    const { stack } = testStack();
    const props = consumerProps({ subscriptions: [] });

    expect(() => new KafkaConsumerFunction(stack, 'None', props)).toThrow(
      /at least one subscription/,
    );
  });

  it('Kafka settings in the given environment', () => {
    const { stack } = testStack();
    const props = consumerProps({ environment: { KAFKA_BROKERS: 'x:9092' } });

    expect(() => new KafkaConsumerFunction(stack, 'Env', props)).toThrow(
      'Env: KAFKA_BROKERS is set from the cluster; remove it',
    );
  });
});

describe('OrdersFunction', () => {
  it('calls the named export and stays out of a VPC without a network', () => {
    // Prepare
    const stack = new Stack(testApp(), 'Admin');

    // Act
    new OrdersFunction(stack, 'Admin', {
      entry: 'dlq-reprocessor.ts',
      handler: 'adminHandler',
      description: 'Dead-letter admin routes',
      functions,
      tracing: true,
    });

    // Assess
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::Lambda::Function', {
      Handler: 'index.adminHandler',
      TracingConfig: { Mode: 'Active' },
      VpcConfig: Match.absent(),
    });
  });

  it.each([
    ['../infra/app.ts', /is not under functions\//],
    ['missing.ts', /functions\/missing.ts does not exist/],
  ])('rejects the entry %s', (entry, message) => {
    const stack = new Stack(testApp(), 'Bad');

    expect(
      () =>
        new OrdersFunction(stack, 'Bad', {
          entry,
          description: 'bad',
          functions,
        }),
    ).toThrow(message);
  });

  it('rejects a handler that is not an export name', () => {
    const stack = new Stack(testApp(), 'Bad');

    expect(
      () =>
        new OrdersFunction(stack, 'Bad', {
          entry: 'payment.ts',
          handler: 'index.handler',
          description: 'bad',
          functions,
        }),
    ).toThrow(/handler must be an export name/);
  });

  it('rejects a log retention CloudWatch Logs does not offer', () => {
    const stack = new Stack(testApp(), 'Bad');

    expect(
      () =>
        new OrdersFunction(stack, 'Bad', {
          entry: 'payment.ts',
          description: 'bad',
          functions: { ...functions, logRetentionDays: 10 },
        }),
    ).toThrow(/logRetentionDays 10 is not a CloudWatch Logs retention/);
  });
});
