import { Stack } from 'aws-cdk-lib';
import { Capture, Match, Template } from 'aws-cdk-lib/assertions';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { describe, expect, it } from 'vitest';
import { Monitoring, type MonitoringProps } from '../../infra/monitoring.ts';

function synth(overrides: Partial<MonitoringProps> = {}): {
  template: Template;
  monitoring: Monitoring;
} {
  const stack = new Stack();
  const fn = (id: string) =>
    new lambda.Function(stack, id, {
      runtime: lambda.Runtime.NODEJS_24_X,
      handler: 'index.handler',
      code: lambda.Code.fromInline('exports.handler = async () => ({});'),
    });
  const orderApi = fn('OrderApi');
  const payment = fn('Payment');
  const reprocessor = fn('Reprocessor');
  const monitoring = new Monitoring(stack, 'Monitoring', {
    functions: [
      { name: 'order-api', fn: orderApi },
      { name: 'payment', fn: payment },
      { name: 'dlq-reprocessor', fn: reprocessor },
    ],
    consumers: [
      {
        name: 'payment',
        fn: payment,
        service: 'payment',
        topics: ['orders', 'orders.cancelled'],
      },
      {
        name: 'dlq-reprocessor',
        fn: reprocessor,
        service: 'dlq-reprocessor',
        topics: ['orders.dead-letter', 'payments.dead-letter'],
        path: 'dead-letter',
      },
    ],
    deadLetterTopics: ['orders.dead-letter', 'payments.dead-letter'],
    ...overrides,
  });
  return { template: Template.fromStack(stack), monitoring };
}

const ALARM_DEFAULTS = {
  ComparisonOperator: 'GreaterThanThreshold',
  EvaluationPeriods: 1,
  DatapointsToAlarm: 1,
  TreatMissingData: 'notBreaching',
  Period: 300,
};

describe('Monitoring', () => {
  it('creates one alarm per function, consumer, consumed topic outcome and dead-letter topic, and one for orphan charges', () => {
    // Act
    const { template, monitoring } = synth();

    // Assess: Errors 3, OffsetLag 2, RecordsFailed and RecordsDeadLettered 4
    // each, DeadLetters 2, OrphanCharges 1.
    template.resourceCountIs('AWS::CloudWatch::Alarm', 3 + 2 + 4 + 4 + 2 + 1);
    expect(monitoring.alarms).toHaveLength(16);
  });

  it('alarms on one or more charges whose order does not exist', () => {
    // Act
    const { template } = synth();

    // Assess: Sum > 0 over 5 minutes, i.e. a single orphan charge alarms.
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      ...ALARM_DEFAULTS,
      Namespace: 'KafkaOrders',
      MetricName: 'OrphanCharges',
      Statistic: 'Sum',
      Threshold: 0,
      Dimensions: [{ Name: 'service', Value: 'order' }],
    });
  });

  it('does not alarm on failed payments of unknown orders: no money moved', () => {
    // Act
    const { template } = synth();

    // Assess
    const alarms = Object.values(
      template.findResources('AWS::CloudWatch::Alarm'),
    );
    expect(alarms.map((alarm) => alarm.Properties.MetricName)).not.toContain(
      'OrphanPaymentFailures',
    );
  });

  it.each([['OrderApi'], ['Payment'], ['Reprocessor']])(
    'alarms on any Errors of %s over 5 minutes',
    (functionId) => {
      // Act
      const { template } = synth();

      // Assess
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        ...ALARM_DEFAULTS,
        Namespace: 'AWS/Lambda',
        MetricName: 'Errors',
        Statistic: 'Sum',
        Threshold: 0,
        Dimensions: [
          {
            Name: 'FunctionName',
            Value: { Ref: Match.stringLikeRegexp(`^${functionId}`) },
          },
        ],
      });
    },
  );

  it('alarms on the maximum OffsetLag of an order-path consumer over 1000 records, by function', () => {
    // Act
    const { template } = synth();

    // Assess
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      ...ALARM_DEFAULTS,
      Namespace: 'AWS/Lambda',
      MetricName: 'OffsetLag',
      Statistic: 'Maximum',
      Threshold: 1000,
      Dimensions: [
        {
          Name: 'FunctionName',
          Value: { Ref: Match.stringLikeRegexp('^Payment') },
        },
      ],
    });
  });

  it('alarms on any OffsetLag of the dead-letter reprocessor that lasts three 5-minute periods', () => {
    // Act
    const { template } = synth();

    // Assess: a poison dead letter retried forever holds its partition.
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      ...ALARM_DEFAULTS,
      Namespace: 'AWS/Lambda',
      MetricName: 'OffsetLag',
      Statistic: 'Maximum',
      Threshold: 0,
      EvaluationPeriods: 3,
      DatapointsToAlarm: 3,
      Dimensions: [
        {
          Name: 'FunctionName',
          Value: { Ref: Match.stringLikeRegexp('^Reprocessor') },
        },
      ],
    });
  });

  it('uses no dimension AWS does not document for OffsetLag', () => {
    // Act
    const { template } = synth();

    // Assess
    const lagAlarms = Object.values(
      template.findResources('AWS::CloudWatch::Alarm', {
        Properties: { MetricName: 'OffsetLag' },
      }),
    );
    expect(lagAlarms).toHaveLength(2);
    for (const alarm of lagAlarms) {
      expect(
        (alarm.Properties.Dimensions as { Name: string }[]).map(
          (dimension) => dimension.Name,
        ),
      ).toEqual(['FunctionName']);
    }
  });

  it('takes the order-path offset lag threshold from props, not the dead-letter one', () => {
    // Act
    const { template } = synth({ offsetLagThreshold: 250 });

    // Assess
    const thresholds = Object.values(
      template.findResources('AWS::CloudWatch::Alarm', {
        Properties: { MetricName: 'OffsetLag' },
      }),
    ).map((alarm) => alarm.Properties.Threshold);
    expect(thresholds.sort()).toEqual([0, 250]);
  });

  it.each([
    ['payment', 'orders'],
    ['payment', 'orders.cancelled'],
    ['dlq-reprocessor', 'orders.dead-letter'],
    ['dlq-reprocessor', 'payments.dead-letter'],
  ])(
    'alarms on any failed or dead-lettered record of %s on %s over 5 minutes',
    (service, topic) => {
      // Act
      const { template } = synth();

      // Assess: the dimensions the consumer module publishes, {service, topic}.
      for (const metricName of ['RecordsFailed', 'RecordsDeadLettered']) {
        template.hasResourceProperties('AWS::CloudWatch::Alarm', {
          ...ALARM_DEFAULTS,
          Namespace: 'KafkaOrders',
          MetricName: metricName,
          Statistic: 'Sum',
          Threshold: 0,
          Dimensions: [
            { Name: 'service', Value: service },
            { Name: 'topic', Value: topic },
          ],
        });
      }
    },
  );

  it.each([['orders.dead-letter'], ['payments.dead-letter']])(
    'alarms on dead letters arriving on %s',
    (topic) => {
      // Act
      const { template } = synth();

      // Assess
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        ...ALARM_DEFAULTS,
        Namespace: 'KafkaOrders',
        MetricName: 'RecordsConsumed',
        Statistic: 'Sum',
        Threshold: 0,
        Dimensions: [
          { Name: 'service', Value: 'dlq-reprocessor' },
          { Name: 'topic', Value: topic },
        ],
      });
    },
  );

  it('notifies the alarm topic on ALARM and OK from every alarm', () => {
    // Prepare
    const { template } = synth();
    const topicRef = {
      Ref: Match.stringLikeRegexp('^MonitoringAlarmTopic'),
    };

    // Act
    const alarms = Object.values(
      template.findResources('AWS::CloudWatch::Alarm'),
    );

    // Assess
    template.resourceCountIs('AWS::SNS::Topic', 1);
    template.allResourcesProperties('AWS::CloudWatch::Alarm', {
      AlarmActions: [topicRef],
      OKActions: [topicRef],
    });
    expect(alarms).toHaveLength(16);
  });

  it('only accepts TLS publishing on the alarm topic', () => {
    // Act
    const { template } = synth();

    // Assess
    template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Deny',
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          }),
        ]),
      },
    });
  });

  it('subscribes the alarm e-mail when configured', () => {
    // Act
    const { template } = synth({ alarmEmail: 'oncall@example.com' });

    // Assess
    template.resourceCountIs('AWS::SNS::Subscription', 1);
    template.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: 'oncall@example.com',
      TopicArn: { Ref: Match.stringLikeRegexp('^MonitoringAlarmTopic') },
    });
  });

  it('notifies an existing topic instead of creating one when given its ARN', () => {
    // Prepare
    const arn = 'arn:aws:sns:eu-west-1:111122223333:oncall';

    // Act
    const { template, monitoring } = synth({ alarmTopicArn: arn });

    // Assess
    template.resourceCountIs('AWS::SNS::Topic', 0);
    template.resourceCountIs('AWS::SNS::TopicPolicy', 0);
    template.allResourcesProperties('AWS::CloudWatch::Alarm', {
      AlarmActions: [arn],
      OKActions: [arn],
    });
    expect(monitoring.alarmTopic.topicArn).toBe(arn);
  });

  it('subscribes the alarm e-mail to the existing topic when both are given', () => {
    // Prepare
    const arn = 'arn:aws:sns:eu-west-1:111122223333:oncall';

    // Act
    const { template } = synth({
      alarmTopicArn: arn,
      alarmEmail: 'oncall@example.com',
    });

    // Assess
    template.resourceCountIs('AWS::SNS::Subscription', 1);
    template.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: 'oncall@example.com',
      TopicArn: arn,
    });
  });

  it('subscribes nobody without an alarm e-mail', () => {
    // Act
    const { template } = synth();

    // Assess
    template.resourceCountIs('AWS::SNS::Subscription', 0);
  });

  it('builds a dashboard with function, lag, dead-letter and record widgets', () => {
    // Prepare
    const body = new Capture();

    // Act
    const { template } = synth();
    template.hasResourceProperties('AWS::CloudWatch::Dashboard', {
      DashboardBody: body,
    });

    // Assess
    template.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
    const text = JSON.stringify(body.asObject());
    for (const expected of [
      'Invocations',
      'Errors',
      'Duration',
      'Offset lag',
      'Dead-letter arrivals',
      'RecordsConsumed',
      'RecordsDeadLettered',
      'RecordsFailed',
      'OffsetLag',
      'OrphanCharges',
      'OrphanPaymentFailures',
    ]) {
      expect(text, expected).toContain(expected);
    }
  });
});
