import { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { buildApp } from '../../infra/app.ts';
import { EXISTING_CLUSTER, VARIANTS } from '../../infra/variants.ts';
import { testApp } from './test-app.ts';

type Resource = { Type: string; Properties: Record<string, unknown> };

/** Synthesizes a variant (cdk-nag included: an unacknowledged finding throws). */
function synth(context: Readonly<Record<string, unknown>>) {
  const { app, stack } = buildApp(testApp({ ...context }));
  const assembly = app.synth();
  const template = Template.fromStack(stack);
  const resources = Object.values(
    template.toJSON().Resources as Record<string, Resource>,
  );
  return { assembly, stack, template, resources };
}

const ofType = (resources: readonly Resource[], type: string) =>
  resources.filter((resource) => resource.Type === type);

/** Every function that talks to Kafka: the ones given the brokers. */
function kafkaFacing(resources: readonly Resource[]): Resource[] {
  return ofType(resources, 'AWS::Lambda::Function').filter((fn) => {
    const variables = (
      fn.Properties.Environment as { Variables?: Record<string, unknown> }
    )?.Variables;
    return variables?.KAFKA_BROKERS !== undefined;
  });
}

describe.each(VARIANTS)('the $name variant', ({ context, cluster }) => {
  const built = synth(context);

  it('synthesizes without context lookups or unacknowledged cdk-nag findings', () => {
    expect(built.assembly.manifest.missing ?? []).toEqual([]);
  });

  it('has the cluster it asks for', () => {
    const { resources } = built;
    expect(ofType(resources, 'AWS::MSK::ServerlessCluster')).toHaveLength(
      cluster === 'serverless' ? 1 : 0,
    );
    expect(ofType(resources, 'AWS::MSK::Cluster')).toHaveLength(
      cluster === 'provisioned' ? 1 : 0,
    );
    expect(ofType(resources, 'AWS::EC2::VPC')).toHaveLength(
      cluster === 'existing' ? 0 : 1,
    );
  });

  it('puts every Kafka-facing function in the VPC with the functions security group', () => {
    const functions = kafkaFacing(built.resources);
    // The seven functions of ours and the topic provisioner.
    expect(functions).toHaveLength(8);
    for (const fn of functions) {
      const vpc = fn.Properties.VpcConfig as {
        SubnetIds: unknown[];
        SecurityGroupIds: unknown[];
      };
      expect(vpc.SubnetIds.length).toBeGreaterThanOrEqual(2);
      expect(vpc.SecurityGroupIds).toHaveLength(1);
    }
  });

  it('turns on metrics and WARN system logs on every Kafka mapping, each with its own group id', () => {
    const mappings = ofType(
      built.resources,
      'AWS::Lambda::EventSourceMapping',
    ).filter((mapping) => mapping.Properties.Topics);
    expect(mappings.length).toBe(12);
    const groups = mappings.map(
      (mapping) =>
        (
          mapping.Properties.AmazonManagedKafkaEventSourceConfig as {
            ConsumerGroupId: string;
          }
        ).ConsumerGroupId,
    );
    expect(new Set(groups).size).toBe(groups.length);
    for (const { Properties } of mappings) {
      expect(Properties.MetricsConfig).toBeDefined();
      expect(Properties.LoggingConfig).toEqual({ SystemLogLevel: 'WARN' });
    }
  });
});

describe('an existing cluster', () => {
  const variant = VARIANTS.find(({ name }) => name === 'prod-existing');
  const { resources, template } = synth(variant?.context ?? {});
  const subnets = EXISTING_CLUSTER.mskSubnetIds.split(',');

  it('creates no VPC, subnet, gateway endpoint or cluster', () => {
    for (const type of [
      'AWS::EC2::VPC',
      'AWS::EC2::Subnet',
      'AWS::EC2::VPCEndpoint',
      'AWS::EC2::FlowLog',
      'AWS::MSK::ServerlessCluster',
      'AWS::MSK::Cluster',
    ]) {
      expect(ofType(resources, type), type).toHaveLength(0);
    }
  });

  it('puts every Kafka-facing function in the given subnets, in a new group of the given VPC', () => {
    for (const fn of kafkaFacing(resources)) {
      expect(
        (fn.Properties.VpcConfig as { SubnetIds: unknown[] }).SubnetIds,
      ).toEqual(subnets);
    }
    template.resourceCountIs('AWS::EC2::SecurityGroup', 1);
    template.hasResourceProperties('AWS::EC2::SecurityGroup', {
      VpcId: EXISTING_CLUSTER.mskVpcId,
    });
  });

  it("opens the cluster's security group to the functions on 9098, and changes nothing else of it", () => {
    const rules = ofType(resources, 'AWS::EC2::SecurityGroupIngress').filter(
      (rule) => rule.Properties.GroupId === EXISTING_CLUSTER.mskSecurityGroupId,
    );
    expect(rules).toHaveLength(1);
    expect(rules[0]?.Properties).toMatchObject({
      FromPort: 9098,
      ToPort: 9098,
      IpProtocol: 'tcp',
      SourceSecurityGroupId: { 'Fn::GetAtt': [expect.any(String), 'GroupId'] },
    });
    template.hasResourceProperties('AWS::EC2::SecurityGroupEgress', {
      DestinationSecurityGroupId: EXISTING_CLUSTER.mskSecurityGroupId,
      FromPort: 9098,
    });
  });
});

describe('a production stage with its account, region, AZs and reserved concurrency', () => {
  const variant = VARIANTS.find(({ name }) => name === 'prod-provisioned');
  const { stack, resources, template } = synth(variant?.context ?? {});

  it('is bound to its account and region', () => {
    expect(stack.account).toBe('111122223333');
    expect(stack.region).toBe('eu-west-1');
  });

  it('pins the subnets to the named AZs, one broker in each', () => {
    const zones = ofType(resources, 'AWS::EC2::Subnet').map(
      (subnet) => subnet.Properties.AvailabilityZone,
    );
    expect(zones.sort()).toEqual(['eu-west-1a', 'eu-west-1b']);
    template.hasResourceProperties('AWS::MSK::Cluster', {
      NumberOfBrokerNodes: 2,
    });
  });

  it('reserves the configured concurrency, and none for the HTTP functions', () => {
    const reserved = Object.fromEntries(
      ofType(resources, 'AWS::Lambda::Function')
        .filter((fn) => fn.Properties.ReservedConcurrentExecutions)
        .map((fn) => [
          String(fn.Properties.Description).split(':')[0],
          fn.Properties.ReservedConcurrentExecutions,
        ]),
    );
    expect(reserved).toEqual({
      'Charges placed orders; refunds cancelled ones and orphan charges, once': 20,
      'Folds payment outcomes into orders': 20,
      'Stores dead letters and schedules the retryable ones': 50,
    });
  });
});

describe('reserved concurrency below what the mappings run at once', () => {
  it('refuses to synthesize, naming the function and the figure it needs', () => {
    // dev: 3 partitions, so payment's 3 topics run up to 9 batches at once.
    const build = () =>
      buildApp(
        testApp({
          stages: {
            dev: { functions: { reservedConcurrency: { payment: 8 } } },
          },
        }),
      );
    expect(build).toThrow(
      'functions.reservedConcurrency.payment is 8, under the 9 invocations its mappings may run at once (3 topics x 3 partitions): raise it or leave it out',
    );
  });
});
