/**
 * Alarms and a dashboard (docs/domain.md section 8): handler errors, event source
 * mapping offset lag, dead-letter arrivals and charges whose order does not exist
 * alarm to one SNS topic; the dashboard adds invocations, duration and the
 * consumers' record outcomes.
 */
import { Duration, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sns from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';
import { METRICS_NAMESPACE, ORPHAN_METRICS } from '#commons/observability.ts';

/**
 * The Powertools service name of the dead-letter reprocessor
 * (`createMetrics('dlq-reprocessor')` in `functions/dlq-reprocessor.ts`):
 * Powertools publishes it as the `service` dimension of every metric.
 */
export const DLQ_REPROCESSOR_SERVICE = 'dlq-reprocessor';

/**
 * The Powertools service name of the order function (`createMetrics('order')` in
 * `functions/order-events.ts`), which counts the orphan payment outcomes.
 */
export const ORDER_EVENTS_SERVICE = 'order';

/**
 * The dimensions of `OffsetLag` (namespace `AWS/Lambda`) for one event source
 * mapping: Lambda reports it per function and per mapping, the mapping named by
 * its UUID. https://docs.aws.amazon.com/lambda/latest/dg/monitoring-metrics-types.html
 */
export const OFFSET_LAG_DIMENSIONS = {
  functionName: 'FunctionName',
  eventSourceMapping: 'EventSourceMappingUUID',
} as const;

const PERIOD = Duration.minutes(5);

export interface MonitoredFunction {
  /** A short name for alarm ids and widget titles, e.g. `payment`. */
  readonly name: string;
  readonly fn: lambda.IFunction;
}

export interface MonitoredConsumer {
  readonly fn: lambda.IFunction;
  /** The UUID of the Kafka event source mapping (`EventSourceMapping.eventSourceMappingId`). */
  readonly eventSourceMappingId: string;
  /** The topic the mapping reads. */
  readonly topic: string;
}

export interface MonitoringProps {
  /** Every function: one `Errors` alarm each. */
  readonly functions: readonly MonitoredFunction[];
  /** Every Kafka event source mapping: one `OffsetLag` alarm each. */
  readonly consumers: readonly MonitoredConsumer[];
  /** Every `<topic>.dead-letter` topic the reprocessor consumes. */
  readonly deadLetterTopics: readonly string[];
  /**
   * Functions fed by a DynamoDB stream (the outbox relay): one `IteratorAge` alarm
   * each, as an event they have not published yet is a promise not yet kept.
   */
  readonly streamConsumers?: readonly MonitoredFunction[];
  /** Who is told about alarms (an SNS e-mail subscription); nobody when absent. */
  readonly alarmEmail?: string;
  /**
   * An existing SNS topic to notify instead of a new one (e.g. the team's on-call
   * topic); `alarmEmail`, when also given, subscribes to it.
   */
  readonly alarmTopicArn?: string;
  /** Records behind before the lag alarm fires. @default 1000 */
  readonly offsetLagThreshold?: number;
}

/**
 * The alarms and the dashboard of the system. Every alarm notifies
 * `alarmTopic` (on ALARM and on OK) and treats missing data as not breaching:
 * idle functions and topics publish no data points, and idle is healthy.
 *
 * @example
 * ```ts
 * new Monitoring(this, 'Monitoring', {
 *   functions: [{ name: 'payment', fn: payment }],
 *   consumers: [{ fn: payment, eventSourceMappingId: esm.eventSourceMappingId, topic: 'orders' }],
 *   deadLetterTopics: ['orders.dead-letter'],
 *   alarmEmail: config.alarmEmail,
 * });
 * ```
 */
export class Monitoring extends Construct {
  /** The topic every alarm notifies: the one created here, or `alarmTopicArn`. */
  readonly alarmTopic: sns.ITopic;
  readonly alarms: readonly cloudwatch.Alarm[];
  readonly dashboard: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: MonitoringProps) {
    super(scope, id);

    // Publishing only over TLS (aws:SecureTransport), as cdk-nag's SNS3 asks. An
    // existing topic is the team's: its policy is theirs too.
    this.alarmTopic = props.alarmTopicArn
      ? sns.Topic.fromTopicArn(this, 'AlarmTopic', props.alarmTopicArn)
      : new sns.Topic(this, 'AlarmTopic', {
          displayName: 'Kafka orders alarms',
          enforceSSL: true,
        });
    if (props.alarmEmail) {
      this.alarmTopic.addSubscription(new EmailSubscription(props.alarmEmail));
    }

    const alarms: cloudwatch.Alarm[] = [];
    const alarm = (
      alarmId: string,
      metric: cloudwatch.IMetric,
      threshold: number,
      description: string,
      name = alarmId,
    ): cloudwatch.Alarm => {
      const created = new cloudwatch.Alarm(this, alarmId, {
        // `<stack>-<what>-<which>`, e.g. KafkaOrders-dev-DeadLetters-order.placed.v1.dead-letter:
        // the name an operator reads in the e-mail is the one the README's runbook lists.
        alarmName: `${Stack.of(this).stackName}-${name}`,
        metric,
        threshold,
        comparisonOperator:
          cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        datapointsToAlarm: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        alarmDescription: description,
      });
      created.addAlarmAction(new SnsAction(this.alarmTopic));
      created.addOkAction(new SnsAction(this.alarmTopic));
      alarms.push(created);
      return created;
    };

    for (const { name, fn } of props.functions) {
      alarm(
        `Errors-${name}`,
        errorsOf(fn),
        0,
        `${name}: the function failed at least once in 5 minutes`,
      );
    }

    const lagThreshold = props.offsetLagThreshold ?? 1_000;
    // Alarm metrics carry no label: a labelled metric renders as a metric-math
    // query in the alarm; the dashboard gets labelled copies.
    const functionNames = new Map(
      props.functions.map(({ name, fn }) => [fn, name]),
    );
    const lagMetrics = props.consumers.map((consumer) => {
      const metric = offsetLagOf(consumer);
      const consumerName =
        functionNames.get(consumer.fn) ?? consumer.fn.node.id;
      alarm(
        `OffsetLag-${consumer.fn.node.id}-${consumer.topic}`,
        metric,
        lagThreshold,
        `${consumer.topic}: the event source mapping is more than ${lagThreshold} records behind`,
        `OffsetLag-${consumer.topic}-${consumerName}`,
      );
      return metric.with({ label: consumer.topic });
    });

    const arrivalMetrics = props.deadLetterTopics.map((topic) => {
      const metric = deadLetterArrivalsOf(topic);
      alarm(
        `DeadLetters-${topic}`,
        metric,
        0,
        `${topic}: dead letters arrived; see GET /dead-letters`,
      );
      return metric.with({ label: topic });
    });

    // The outbox relay behind: events of acknowledged writes wait to be published
    // (Kafka down, or the relay failing). docs/outbox.md, Operating.
    for (const { name, fn } of props.streamConsumers ?? []) {
      alarm(
        `IteratorAge-${name}`,
        new cloudwatch.Metric({
          namespace: 'AWS/Lambda',
          metricName: 'IteratorAge',
          dimensionsMap: { FunctionName: fn.functionName },
          statistic: 'Maximum',
          period: Duration.minutes(1),
        }),
        60_000,
        `${name}: a change of the table has waited over 60 s to be relayed; ` +
          'acknowledged events are not yet published (docs/outbox.md)',
      );
    }

    // Money without an order: refunded automatically, but something produced an
    // OrderPlaced the API never stored, and someone should find out what.
    const orphanCharges = orphanMetricOf(ORPHAN_METRICS.charges);
    alarm(
      'OrphanCharges',
      orphanCharges,
      0,
      'a charge was made for an order that does not exist (refunded automatically); ' +
        'find the OrderPlaced that caused it: see docs/domain.md section 6',
    );
    this.alarms = alarms;

    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      // The stack's name (KafkaOrders-dev): what the README tells operators to open.
      dashboardName: Stack.of(this).stackName,
      defaultInterval: Duration.hours(3),
    });
    const functionWidgets = (
      title: string,
      metric: (fn: lambda.IFunction, label: string) => cloudwatch.IMetric[],
    ): cloudwatch.GraphWidget =>
      new cloudwatch.GraphWidget({
        title,
        width: 8,
        left: props.functions.flatMap(({ name, fn }) => metric(fn, name)),
      });
    this.dashboard.addWidgets(
      functionWidgets('Invocations', (fn, label) => [
        fn.metricInvocations({ period: PERIOD, label }),
      ]),
      functionWidgets('Errors', (fn, label) => [
        fn.metricErrors({ period: PERIOD, label }),
      ]),
      functionWidgets('Duration (p99)', (fn, label) => [
        fn.metricDuration({ period: PERIOD, statistic: 'p99', label }),
      ]),
    );
    this.dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Offset lag (max)',
        width: 12,
        left: lagMetrics,
        leftAnnotations: [{ value: lagThreshold, label: 'alarm' }],
      }),
      new cloudwatch.GraphWidget({
        title: 'Dead-letter arrivals',
        width: 12,
        left: arrivalMetrics,
      }),
    );
    this.dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Payment outcomes for unknown orders',
        width: 12,
        left: [
          orphanCharges.with({ label: 'charges (refunded)' }),
          orphanMetricOf(ORPHAN_METRICS.failures).with({
            label: 'failed payments',
          }),
        ],
      }),
    );
    this.dashboard.addWidgets(
      ...(
        ['RecordsConsumed', 'RecordsDeadLettered', 'RecordsFailed'] as const
      ).map(
        (metricName) =>
          new cloudwatch.GraphWidget({
            title: `${metricName} by service and topic`,
            width: 8,
            left: [recordsByServiceAndTopic(metricName)],
          }),
      ),
    );
  }
}

function errorsOf(fn: lambda.IFunction): cloudwatch.Metric {
  return fn.metricErrors({
    period: PERIOD,
    statistic: cloudwatch.Stats.SUM,
  });
}

function offsetLagOf(consumer: MonitoredConsumer): cloudwatch.Metric {
  return new cloudwatch.Metric({
    namespace: 'AWS/Lambda',
    metricName: 'OffsetLag',
    dimensionsMap: {
      [OFFSET_LAG_DIMENSIONS.functionName]: consumer.fn.functionName,
      [OFFSET_LAG_DIMENSIONS.eventSourceMapping]: consumer.eventSourceMappingId,
    },
    period: PERIOD,
    statistic: cloudwatch.Stats.MAXIMUM,
  });
}

/**
 * Records the reprocessor consumed from a dead-letter topic: every one is a dead
 * letter that arrived (`#commons/kafka-consumer.ts` publishes `RecordsConsumed`
 * with the `topic` dimension; Powertools adds `service`).
 */
function deadLetterArrivalsOf(topic: string): cloudwatch.Metric {
  return new cloudwatch.Metric({
    namespace: METRICS_NAMESPACE,
    metricName: 'RecordsConsumed',
    dimensionsMap: { service: DLQ_REPROCESSOR_SERVICE, topic },
    period: PERIOD,
    statistic: cloudwatch.Stats.SUM,
  });
}

/**
 * An orphan count of the order function: Powertools publishes it with the
 * `service` dimension only (`singleMetric()` in `functions/order-events.ts`).
 */
function orphanMetricOf(metricName: string): cloudwatch.Metric {
  return new cloudwatch.Metric({
    namespace: METRICS_NAMESPACE,
    metricName,
    dimensionsMap: { service: ORDER_EVENTS_SERVICE },
    period: PERIOD,
    statistic: cloudwatch.Stats.SUM,
  });
}

/**
 * Every `service`/`topic` series of one consumer metric, found by a search
 * expression so new consumers show up without touching the dashboard.
 * https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/using-search-expressions.html
 */
function recordsByServiceAndTopic(metricName: string): cloudwatch.IMetric {
  return new cloudwatch.MathExpression({
    expression: `SEARCH('{${METRICS_NAMESPACE},service,topic} MetricName="${metricName}"', 'Sum', ${PERIOD.toSeconds()})`,
    usingMetrics: {},
    period: PERIOD,
    // A dynamic label per series; CDK would otherwise repeat the expression.
    // https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/graph-dynamic-labels.html
    // biome-ignore lint/suspicious/noTemplateCurlyInString: CloudWatch syntax, not JS
    label: "${PROP('Dim.service')} ${PROP('Dim.topic')}",
  });
}
