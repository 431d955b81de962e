import { type CfnElement, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import type { IConstruct } from 'constructs';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  CONSUMED_TOPICS,
  deadLetterTopic,
  TOPICS,
} from '../../functions/domain/events.ts';
import { guaranteedOutageSeconds } from '../../functions/domain/outage-policy.ts';
import { buildApp } from '../../infra/app.ts';
import { OrdersFunction } from '../../infra/orders-function.ts';
import type { OrdersStack } from '../../infra/orders-stack.ts';
import { EXISTING_CLUSTER } from '../../infra/variants.ts';
import { testApp } from './test-app.ts';

/** The topics a customer waits on after an API call (infra/orders-stack.ts). */
const ORDER_PATH: readonly string[] = [
  TOPICS.orderPlaced,
  TOPICS.orderCancelled,
  TOPICS.paymentProcessed,
  TOPICS.paymentFailed,
  TOPICS.paymentRefunded,
];

type Resources = Record<
  string,
  { Type: string; Properties: Record<string, unknown> }
>;

function ofType(template: Template, type: string) {
  return Object.values(template.toJSON().Resources as Resources).filter(
    (resource) => resource.Type === type,
  );
}

/** Each of our functions' log group, by function logical id, with its DeletionPolicy. */
function functionLogGroups(
  template: Template,
  ours: ReadonlySet<string>,
): Map<string, string | undefined> {
  const resources = template.toJSON().Resources as Record<
    string,
    {
      Type: string;
      DeletionPolicy?: string;
      Properties: { LoggingConfig?: { LogGroup?: { Ref?: string } } };
    }
  >;
  const groups = new Map<string, string | undefined>();
  for (const id of ours) {
    const ref = resources[id]?.Properties.LoggingConfig?.LogGroup?.Ref;
    if (ref) groups.set(id, resources[ref]?.DeletionPolicy);
  }
  return groups;
}

/** Timeout of each HTTP function (behind the API), by logical id prefix. */
function httpFunctionTimeouts(template: Template): number[] {
  return ofType(template, 'AWS::Lambda::Function')
    .filter((fn) =>
      /Order HTTP API|Dead-letter admin API/.test(
        String(fn.Properties.Description),
      ),
    )
    .map((fn) => Number(fn.Properties.Timeout));
}

describe('the stack (dev, a new MSK Serverless cluster)', () => {
  let template: Template;
  /** Logical ids of our functions: the NodejsFunctions, not CDK's own helpers. */
  let ours: Set<string>;

  beforeAll(() => {
    // Act: the real app, cdk-nag included: an unacknowledged finding throws here.
    const { app, stack } = buildApp(testApp({ stage: 'dev' }));
    app.synth();
    template = Template.fromStack(stack);
    ours = new Set(
      stack.node
        .findAll()
        .filter((construct) => construct instanceof NodejsFunction)
        .map((fn) => stack.getLogicalId(fn.node.defaultChild as CfnElement)),
    );
  });

  it("deletes the functions' log groups with the stack, as it does the dev tables", () => {
    const groups = functionLogGroups(template, ours);
    expect(groups.size).toBe(ours.size);
    expect(new Set(groups.values())).toEqual(new Set(['Delete']));
  });

  it("stops the HTTP functions before API Gateway's 30 s integration timeout", () => {
    const timeouts = httpFunctionTimeouts(template);
    expect(timeouts).toEqual([29, 29]);
  });

  it('creates an MSK Serverless cluster with IAM auth and every topic', () => {
    template.resourceCountIs('AWS::MSK::ServerlessCluster', 1);
    template.hasResourceProperties('AWS::MSK::ServerlessCluster', {
      ClientAuthentication: { Sasl: { Iam: { Enabled: true } } },
    });
    const topics = ofType(template, 'Custom::KafkaTopics');
    expect(topics).toHaveLength(1);
    const names = (
      (topics[0]?.Properties.Topics ?? []) as { Name: string }[]
    ).map((t) => t.Name);
    expect(names.sort()).toEqual(
      [
        ...Object.values(TOPICS),
        ...CONSUMED_TOPICS.map(deadLetterTopic),
      ].sort(),
    );
  });

  it('maps each consumed topic once, with the settings of the stage', () => {
    // Prepare
    const mappings = ofType(template, 'AWS::Lambda::EventSourceMapping').filter(
      (m) => m.Properties.Topics !== undefined,
    );
    const byTopic = new Map(
      mappings.map((m) => [(m.Properties.Topics as string[])[0], m.Properties]),
    );

    // Assess: payment outcomes to order; orders and orphan charges to payment;
    // dead letters to dlq.
    expect(mappings).toHaveLength(12);
    for (const topic of CONSUMED_TOPICS) {
      expect(byTopic.get(topic)).toMatchObject({
        StartingPosition: 'TRIM_HORIZON',
        BatchSize: 100,
        MaximumRetryAttempts: 3,
        MaximumRecordAgeInSeconds: 3600,
        BisectBatchOnFunctionError: true,
        FunctionResponseTypes: ['ReportBatchItemFailures'],
        ProvisionedPollerConfig: {
          MinimumPollers: 1,
          MaximumPollers: 3,
          PollerGroupName: 'KafkaOrders-dev',
        },
        DestinationConfig: {
          OnFailure: { Destination: `kafka://${deadLetterTopic(topic)}` },
        },
      });
    }
    for (const topic of CONSUMED_TOPICS.map(deadLetterTopic)) {
      const mapping = byTopic.get(topic);
      // Dead letters are retried until stored: no destination, no retry limit.
      expect(mapping).toMatchObject({
        FunctionResponseTypes: ['ReportBatchItemFailures'],
      });
      expect(mapping).not.toHaveProperty('DestinationConfig');
      expect(mapping).not.toHaveProperty('MaximumRetryAttempts');
      expect(mapping).not.toHaveProperty('MaximumRecordAgeInSeconds');
    }
    const groups = mappings.map(
      (m) =>
        (
          m.Properties.AmazonManagedKafkaEventSourceConfig as {
            ConsumerGroupId: string;
          }
        ).ConsumerGroupId,
    );
    expect(new Set(groups).size).toBe(12);
    expect(groups).toContain(
      `KafkaOrders-dev-payment-${TOPICS.orderPlaced}-g1`,
    );
    expect(groups).toContain(
      `KafkaOrders-dev-payment-${TOPICS.paymentOrphaned}-g1`,
    );
  });

  it('turns on metrics and WARN system logs on every Kafka mapping', () => {
    // Prepare
    const mappings = ofType(template, 'AWS::Lambda::EventSourceMapping').filter(
      (m) => m.Properties.Topics !== undefined,
    );

    // Assess
    expect(mappings).toHaveLength(12);
    for (const { Properties } of mappings) {
      expect(Properties).toMatchObject({
        MetricsConfig: {
          Metrics: expect.arrayContaining([
            'EventCount',
            'ErrorCount',
            'KafkaMetrics',
          ]),
        },
        LoggingConfig: { SystemLogLevel: 'WARN' },
      });
    }
  });

  it.each([
    ['OrderEvents', 'kafka-cluster:WriteData'],
    ['Payment', 'kafka-cluster:ReadData'],
  ])('lets %s use %s on the orphan charges topic', (functionId, action) => {
    // Prepare
    const policies = ofType(template, 'AWS::IAM::Policy').filter((policy) =>
      JSON.stringify(policy.Properties.Roles).includes(
        `${functionId}FunctionServiceRole`,
      ),
    );

    // Act
    const statements = policies.flatMap(
      (policy) =>
        (policy.Properties.PolicyDocument as { Statement: unknown[] })
          .Statement,
    );

    // Assess
    expect(
      statements.some((statement) => {
        const text = JSON.stringify(statement);
        return text.includes(action) && text.includes(TOPICS.paymentOrphaned);
      }),
    ).toBe(true);
  });

  it("invokes the order path at once and batches the rest for 1 s (dev's windows)", () => {
    // Prepare
    const windows = Object.fromEntries(
      ofType(template, 'AWS::Lambda::EventSourceMapping')
        .filter((m) => m.Properties.Topics !== undefined)
        .map((m) => [
          (m.Properties.Topics as string[])[0],
          m.Properties.MaximumBatchingWindowInSeconds,
        ]),
    );

    // Assess: the window is set on every mapping (absent, AWS would wait 0.5 s),
    // 0 from OrderPlaced or OrderCancelled to the order's outcome.
    expect(windows).toEqual({
      ...Object.fromEntries(ORDER_PATH.map((topic) => [topic, 0])),
      [TOPICS.paymentOrphaned]: 1,
      ...Object.fromEntries(
        CONSUMED_TOPICS.map((topic) => [deadLetterTopic(topic), 1]),
      ),
    });
  });

  it('rides out a 60 s broker outage on every mapping that can give up (docs/broker-outages.md)', () => {
    // Prepare
    const resources = template.toJSON().Resources as Resources;
    const limited = ofType(template, 'AWS::Lambda::EventSourceMapping').filter(
      (m) => m.Properties.DestinationConfig !== undefined,
    );

    // Assess: the consumers' in-invocation waits alone cover the outage, whatever
    // the ESM's (undocumented) pacing, and the record age never cuts them short.
    expect(limited).toHaveLength(CONSUMED_TOPICS.length);
    for (const { Properties } of limited) {
      const fn = (Properties.FunctionName as { Ref: string }).Ref;
      const timeoutSeconds = resources[fn]?.Properties.Timeout as number;
      const retryAttempts = Properties.MaximumRetryAttempts as number;
      expect(
        guaranteedOutageSeconds({ retryAttempts, timeoutSeconds }),
      ).toBeGreaterThanOrEqual(60);
      expect(Properties.MaximumRecordAgeInSeconds).toBeGreaterThanOrEqual(
        60 + (retryAttempts + 1) * timeoutSeconds,
      );
    }
  });

  it("relays the outbox from the orders table's stream, in order, never skipping a record", () => {
    // Prepare
    const resources = template.toJSON().Resources as Resources;
    const [ordersId] = Object.entries(resources).find(
      ([id, r]) =>
        r.Type === 'AWS::DynamoDB::GlobalTable' && id.startsWith('DataOrders'),
    ) ?? [''];
    const relays = ofType(template, 'AWS::Lambda::EventSourceMapping').filter(
      (m) => m.Properties.Topics === undefined,
    );

    // Assess
    expect(resources[ordersId]?.Properties.StreamSpecification).toEqual({
      StreamViewType: 'NEW_AND_OLD_IMAGES',
    });
    expect(relays).toHaveLength(1);
    const relay = relays[0]?.Properties ?? {};
    expect(relay).toMatchObject({
      EventSourceArn: { 'Fn::GetAtt': [ordersId, 'StreamArn'] },
      StartingPosition: 'TRIM_HORIZON',
      MaximumRetryAttempts: -1,
      BisectBatchOnFunctionError: false,
      ParallelizationFactor: 1,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
    });
    expect(relay.MaximumRecordAgeInSeconds).toBeUndefined();
    const fn = (relay.FunctionName as { Ref: string }).Ref;
    expect(resources[fn]?.Properties.Handler).toBe('index.handler');
    expect(fn).toMatch(/^OutboxRelay/);
    // The relay may publish what the API and order-events put in outboxes.
    const policies = ofType(template, 'AWS::IAM::Policy').filter((p) =>
      JSON.stringify(p.Properties.Roles).includes('OutboxRelay'),
    );
    const text = JSON.stringify(policies);
    for (const topic of [
      TOPICS.orderPlaced,
      TOPICS.orderCancelled,
      TOPICS.shippingRequested,
    ]) {
      expect(text).toContain(topic);
    }
    expect(text).toContain('dynamodb:GetRecords');
    // A relay that falls behind is an alarm.
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'IteratorAge',
      Dimensions: [{ Name: 'FunctionName', Value: { Ref: fn } }],
      Threshold: 60_000,
    });
  });

  it('never grants a Kafka data-plane action on every resource', () => {
    for (const policy of ofType(template, 'AWS::IAM::Policy')) {
      const document = policy.Properties.PolicyDocument as {
        Statement: { Action: string | string[]; Resource: unknown }[];
      };
      for (const statement of document.Statement) {
        const actions = [statement.Action].flat();
        if (!actions.some((a) => a.startsWith('kafka-cluster:'))) continue;
        expect([statement.Resource].flat()).not.toContain('*');
      }
    }
  });

  it('gives every function of ours Node.js 24 on arm64, in the VPC, without source maps', () => {
    const functions = Object.entries(
      template.findResources('AWS::Lambda::Function') as Resources,
    )
      .filter(([id]) => ours.has(id))
      .map(([, fn]) => fn);
    // order-api, outbox-relay, order-events, payment, dlq-reprocessor, -redrive,
    // -admin, topics.
    expect(functions).toHaveLength(8);
    for (const fn of functions) {
      expect(fn.Properties.Runtime).toBe('nodejs24.x');
    }
    for (const fn of functions) {
      expect(fn.Properties.Architectures).toEqual(['arm64']);
      expect(fn.Properties).toHaveProperty('VpcConfig');
      // No map ships (infra/bundling.ts), so nothing asks Node to read one.
      const variables = (
        fn.Properties.Environment as { Variables?: Record<string, string> }
      )?.Variables;
      expect(variables ?? {}).not.toHaveProperty('NODE_OPTIONS');
    }
  });

  it('schedules the redrive of due dead letters every minute', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(1 minute)',
      Targets: Match.arrayWith([Match.objectLike({ Arn: Match.anyValue() })]),
    });
  });

  it('routes the order API and the IAM-authorized admin API', () => {
    const routes = ofType(template, 'AWS::ApiGatewayV2::Route').map((r) => [
      r.Properties.RouteKey,
      r.Properties.AuthorizationType ?? 'NONE',
    ]);
    expect(Object.fromEntries(routes)).toEqual({
      'POST /orders': 'NONE',
      'GET /orders/{orderId}': 'NONE',
      'GET /orders/{orderId}/events': 'NONE',
      'POST /orders/{orderId}/cancel': 'NONE',
      'GET /health': 'NONE',
      'GET /health/live': 'NONE',
      'GET /health/ready': 'NONE',
      'GET /dead-letters': 'AWS_IAM',
      'GET /dead-letters/{id}': 'AWS_IAM',
      'POST /dead-letters/{id}/redrive': 'AWS_IAM',
      'POST /dead-letters/redrive': 'AWS_IAM',
      'POST /dead-letters/{id}/discard': 'AWS_IAM',
    });
  });

  it('outputs the API URL, the cluster, the dashboard and the alarm topic', () => {
    const outputs = Object.keys(template.toJSON().Outputs ?? {});
    expect(outputs).toEqual(
      expect.arrayContaining([
        'ApiUrl',
        'ClusterArn',
        'BootstrapBrokers',
        'DashboardUrl',
        'AlarmTopicArn',
      ]),
    );
  });

  it('names the dashboard and every alarm after the stack, as the README lists them', () => {
    template.hasResourceProperties('AWS::CloudWatch::Dashboard', {
      DashboardName: 'KafkaOrders-dev',
    });
    const names = Object.values(
      template.findResources('AWS::CloudWatch::Alarm'),
    ).map((alarm) => alarm.Properties.AlarmName as string);
    expect(names).toEqual(
      expect.arrayContaining([
        'KafkaOrders-dev-Errors-payment',
        'KafkaOrders-dev-DeadLetters-order.placed.v1.dead-letter',
        'KafkaOrders-dev-IteratorAge-outbox-relay',
        'KafkaOrders-dev-OrphanCharges',
        'KafkaOrders-dev-OffsetLag-payment',
        'KafkaOrders-dev-OffsetLag-dlq-reprocessor',
        'KafkaOrders-dev-RecordsFailed-order.placed.v1-payment',
        'KafkaOrders-dev-RecordsDeadLettered-order.placed.v1-payment',
        'KafkaOrders-dev-RecordsFailed-order.placed.v1.dead-letter-dlq-reprocessor',
      ]),
    );
    expect(names.every((name) => name.startsWith('KafkaOrders-dev-'))).toBe(
      true,
    );
  });
});

/** The cdk-nag rules acknowledged on a construct (`Validations.acknowledge`). */
function acknowledgedOn(construct: IConstruct): string[] {
  return construct.node.metadata
    .filter(({ type }) => type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
    .flatMap(({ data }) => Object.keys(data as Record<string, string>));
}

/** The order routes: every route but the health checks and the admin routes. */
const ORDER_ROUTE = /^(POST|GET) \/orders/;

describe('the stack (prod, an existing cluster, a JWT authorizer)', () => {
  let template: Template;
  let stack: OrdersStack;
  const clusterArn =
    'arn:aws:kafka:eu-west-1:111122223333:cluster/orders/0f1e2d3c-4b5a-6978-8695-a4b3c2d1e0f9-s2';

  beforeAll(() => {
    const built = buildApp(
      testApp({
        stage: 'prod',
        ...EXISTING_CLUSTER,
        mskClusterArn: clusterArn,
        stages: {
          prod: {
            api: {
              jwt: {
                issuer: 'https://auth.example.com/',
                audience: ['orders'],
              },
            },
            alarmEmail: 'oncall@example.com',
          },
        },
      }),
    );
    built.app.synth();
    stack = built.stack;
    template = Template.fromStack(stack);
  });

  it("keeps the functions' log groups when the stack goes, as it keeps the tables", () => {
    // The order and payment functions; the topic provisioner and the cluster lookup
    // (custom resources) keep nothing worth keeping and delete theirs.
    const business = new Set(
      stack.node
        .findAll()
        .filter((construct) => construct instanceof OrdersFunction)
        .map((fn) => stack.getLogicalId(fn.node.defaultChild as CfnElement)),
    );
    const groups = functionLogGroups(template, business);
    expect(groups.size).toBe(7);
    expect(new Set(groups.values())).toEqual(new Set(['Retain']));
  });

  it('creates no cluster and scopes Kafka permissions to the given one', () => {
    template.resourceCountIs('AWS::MSK::ServerlessCluster', 0);
    template.resourceCountIs('AWS::MSK::Cluster', 0);
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Action: ['kafka-cluster:DescribeTopic', 'kafka-cluster:ReadData'],
            Resource: Match.arrayWith([
              `arn:aws:kafka:eu-west-1:111122223333:topic/orders/0f1e2d3c-4b5a-6978-8695-a4b3c2d1e0f9-s2/${TOPICS.orderPlaced}`,
            ]),
          }),
        ]),
      },
    });
  });

  it('puts the order routes behind the JWT authorizer, health aside', () => {
    const routes = Object.fromEntries(
      ofType(template, 'AWS::ApiGatewayV2::Route').map((r) => [
        r.Properties.RouteKey,
        r.Properties.AuthorizationType ?? 'NONE',
      ]),
    );
    expect(routes['POST /orders']).toBe('JWT');
    expect(routes['POST /orders/{orderId}/cancel']).toBe('JWT');
    expect(routes['GET /health']).toBe('NONE');
    expect(routes['GET /health/live']).toBe('NONE');
    expect(routes['GET /health/ready']).toBe('NONE');
    expect(routes['GET /dead-letters']).toBe('AWS_IAM');
  });

  it('puts every order route behind the JWT authorizer of the configured issuer', () => {
    const orderRoutes = ofType(template, 'AWS::ApiGatewayV2::Route').filter(
      (r) => ORDER_ROUTE.test(r.Properties.RouteKey as string),
    );
    expect(orderRoutes.length).toBeGreaterThanOrEqual(2);
    for (const { Properties } of orderRoutes) {
      expect(Properties.AuthorizationType, String(Properties.RouteKey)).toBe(
        'JWT',
      );
    }
    template.hasResourceProperties('AWS::ApiGatewayV2::Authorizer', {
      AuthorizerType: 'JWT',
      JwtConfiguration: {
        Issuer: 'https://auth.example.com/',
        Audience: ['orders'],
      },
    });
  });

  it('acknowledges no public order route to cdk-nag (APIG4)', () => {
    const acknowledged = stack.api.api.node.children
      .filter((route) => !route.node.id.startsWith('GET--health'))
      .flatMap(acknowledgedOn);
    expect(acknowledged.filter((id) => id.includes('APIG4'))).toEqual([]);
  });

  it('subscribes the alarm e-mail to the alarm topic', () => {
    template.resourceCountIs('AWS::SNS::Topic', 1);
    template.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: 'oncall@example.com',
      TopicArn: { Ref: Match.stringLikeRegexp('^MonitoringAlarmTopic') },
    });
  });

  it("batches the order path for the stage's window, 1 s", () => {
    const windows = ofType(template, 'AWS::Lambda::EventSourceMapping')
      .filter((m) =>
        ORDER_PATH.includes(
          (m.Properties.Topics as string[] | undefined)?.[0] ?? '',
        ),
      )
      .map((m) => m.Properties.MaximumBatchingWindowInSeconds);
    expect(windows).toEqual(ORDER_PATH.map(() => 1));
  });

  it('keeps the tables on stack deletion', () => {
    const tables = Object.values(template.toJSON().Resources as Resources)
      .filter((r) => r.Type === 'AWS::DynamoDB::GlobalTable')
      .map((r) => r as unknown as { DeletionPolicy?: string });
    expect(tables.length).toBe(4);
    for (const table of tables) expect(table.DeletionPolicy).toBe('Retain');
  });
});

describe('the stack (dev, the order path window set in cdk.json)', () => {
  it('uses esm.orderPathBatchingWindowSeconds on the order path only', () => {
    // Prepare
    const { app, stack } = buildApp(
      testApp({
        stage: 'dev',
        stages: { dev: { esm: { orderPathBatchingWindowSeconds: 7 } } },
      }),
    );

    // Act
    app.synth();
    const mappings = ofType(
      Template.fromStack(stack),
      'AWS::Lambda::EventSourceMapping',
    ).filter((m) => m.Properties.Topics !== undefined);

    // Assess
    for (const { Properties } of mappings) {
      const [topic] = Properties.Topics as string[];
      expect(Properties.MaximumBatchingWindowInSeconds, topic).toBe(
        ORDER_PATH.includes(topic ?? '') ? 7 : 1,
      );
    }
    expect(mappings).toHaveLength(12);
  });
});

describe('the stack (prod, public order routes, an existing alarm topic)', () => {
  const alarmTopicArn = 'arn:aws:sns:eu-west-1:111122223333:oncall';
  let template: Template;
  let stack: OrdersStack;

  beforeAll(() => {
    // Act: cdk-nag runs; the public order routes must be acknowledged, or this throws.
    const built = buildApp(
      testApp({
        stage: 'prod',
        stages: { prod: { api: { publicOrderRoutes: true }, alarmTopicArn } },
      }),
    );
    built.app.synth();
    stack = built.stack;
    template = Template.fromStack(stack);
  });

  it('leaves the order routes public, each acknowledged to cdk-nag (APIG4)', () => {
    const routes = ofType(template, 'AWS::ApiGatewayV2::Route').filter((r) =>
      ORDER_ROUTE.test(r.Properties.RouteKey as string),
    );
    expect(routes.map((r) => r.Properties.AuthorizationType)).toEqual(
      routes.map(() => 'NONE'),
    );
    const orderRoutes = stack.api.api.node.children.filter((route) =>
      route.node.id.includes('orders'),
    );
    expect(orderRoutes.length).toBeGreaterThanOrEqual(2);
    for (const route of orderRoutes) {
      expect(acknowledgedOn(route).join(), route.node.id).toContain('APIG4');
    }
  });

  it('creates no alarm topic: every alarm notifies the given one', () => {
    template.resourceCountIs('AWS::SNS::Topic', 0);
    template.allResourcesProperties('AWS::CloudWatch::Alarm', {
      AlarmActions: [alarmTopicArn],
      OKActions: [alarmTopicArn],
    });
    expect(template.toJSON().Outputs.AlarmTopicArn.Value).toBe(alarmTopicArn);
  });
});

describe('the stack (prod, missing settings)', () => {
  it.each([
    ['api.jwt', { alarmEmail: 'oncall@example.com' }],
    [
      'alarmEmail',
      {
        api: {
          jwt: { issuer: 'https://auth.example.com/', audience: ['orders'] },
        },
      },
    ],
  ])('refuses to synthesize without %s, in one line', (setting, prod) => {
    // Act
    const build = () =>
      buildApp(testApp({ stage: 'prod', stages: { prod } })).app.synth();

    // Assess
    expect(build).toThrow(
      new RegExp(
        `^invalid configuration for stage prod: [^\\n]* \\(at ${setting.replace('.', '\\.')}\\)$`,
      ),
    );
  });
});

describe('the stack (dev, the consumer group generation bumped in cdk.json)', () => {
  /** ConsumerGroupId of every Kafka mapping, by logical id. */
  function groupsOf(context: Record<string, unknown>): Map<string, string> {
    const { app, stack } = buildApp(testApp(context));
    app.synth();
    const resources = Template.fromStack(stack).findResources(
      'AWS::Lambda::EventSourceMapping',
    );
    return new Map(
      Object.entries(resources)
        .filter(([, m]) => m.Properties.Topics !== undefined)
        .map(([logicalId, m]) => [
          logicalId,
          m.Properties.AmazonManagedKafkaEventSourceConfig
            .ConsumerGroupId as string,
        ]),
    );
  }

  it('gives every replaced mapping a group id that no current mapping holds', () => {
    // Prepare
    const current = groupsOf({ stage: 'dev' });

    // Act
    const bumped = groupsOf({
      stage: 'dev',
      stages: { dev: { esm: { consumerGroupGeneration: 2 } } },
    });

    // Assess: the same mappings, each with a new id: CloudFormation creates the
    // new mapping while the old one still holds its id.
    expect([...bumped.keys()].sort()).toEqual([...current.keys()].sort());
    expect(current.size).toBe(12);
    for (const [logicalId, group] of bumped) {
      const old = current.get(logicalId) ?? '';
      expect(old).toMatch(/-g1$/);
      expect(group).toBe(old.replace(/-g1$/, '-g2'));
      expect([...current.values()]).not.toContain(group);
    }
  });
});
