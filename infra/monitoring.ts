/**
 * Alarms and a dashboard (docs/domain.md section 8): handler errors, records that
 * failed or were dead-lettered, consumer offset lag (a low threshold on the
 * dead-letter path), dead-letter arrivals and charges whose order does not exist
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
 * The Powertools service name of the payment function (`createMetrics('payment')`
 * in `functions/payment.ts`).
 */
export const PAYMENT_SERVICE = 'payment';

/**
 * The dimension of the `OffsetLag` alarms (namespace `AWS/Lambda`): the function.
 * AWS documents `OffsetLag` as a performance metric of Kafka event sources,
 * measured at the topic level
 * (https://docs.aws.amazon.com/lambda/latest/dg/monitoring-metrics-types.html),
 * and `FunctionName` as the dimension that aggregates a function's metrics
 * (https://docs.aws.amazon.com/lambda/latest/dg/monitoring-metrics-view.html).
 * No AWS page shows `OffsetLag` published under the pair {FunctionName,
 * EventSourceMappingUUID}, so an alarm on that pair might never see a data point;
 * the maximum over the function covers every mapping (topic) it has.
 */
export const OFFSET_LAG_DIMENSION = 'FunctionName';

const PERIOD = Duration.minutes(5);

export interface MonitoredFunction {
  /** A short name for alarm ids and widget titles, e.g. `payment`. */
  readonly name: string;
  readonly fn: lambda.IFunction;
}

/** A function fed by Kafka event source mappings (one mapping per topic). */
export interface MonitoredConsumer {
  /** A short name for alarm ids and names, e.g. `payment`. */
  readonly name: string;
  readonly fn: lambda.IFunction;
  /**
   * Its Powertools service name: the `service` dimension of the record metrics
   * `#commons/kafka-consumer.ts` publishes (with `topic`), e.g. `payment`.
   */
  readonly service: string;
  /** The topics its mappings read. */
  readonly topics: readonly string[];
  /**
   * `dead-letter` for the reprocessor of the dead-letter topics: any lag that lasts
   * is a poison dead letter holding its partition (retried forever), so its lag
   * alarm has a low threshold. @default 'order'
   */
  readonly path?: 'order' | 'dead-letter';
}

export interface MonitoringProps {
  /** Every function: one `Errors` alarm each. */
  readonly functions: readonly MonitoredFunction[];
  /**
   * Every Kafka-fed function: one `OffsetLag` alarm each, and a `RecordsFailed`
   * and a `RecordsDeadLettered` alarm per topic it reads.
   */
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
  /** Records behind before the lag alarm of the order path fires. @default 1000 */
  readonly offsetLagThreshold?: number;
}

/**
 * The dead-letter path's lag alarm: any lag (`> 0`) in each of 3 consecutive
 * 5-minute periods. Dead letters are few and the reprocessor only stores them,
 * so lag that lasts 15 minutes is a partition stalled behind one it cannot store.
 */
export const DEAD_LETTER_LAG = { threshold: 0, periods: 3 } as const;

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
      evaluationPeriods = 1,
    ): cloudwatch.Alarm => {
      const created = new cloudwatch.Alarm(this, alarmId, {
        // `<stack>-<what>-<which>`, e.g. KafkaOrders-dev-DeadLetters-order.placed.v1.dead-letter:
        // the name an operator reads in the e-mail is the one the README's runbook lists.
        alarmName: `${Stack.of(this).stackName}-${name}`,
        metric,
        threshold,
        comparisonOperator:
          cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods,
        datapointsToAlarm: evaluationPeriods,
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
    const lagMetrics = props.consumers.map((consumer) => {
      const metric = offsetLagOf(consumer.fn);
      if (consumer.path === 'dead-letter') {
        alarm(
          `OffsetLag-${consumer.name}`,
          metric,
          DEAD_LETTER_LAG.threshold,
          `${consumer.name}: a dead-letter topic has been behind for ` +
            `${DEAD_LETTER_LAG.periods * PERIOD.toMinutes()} minutes: a dead letter ` +
            'the reprocessor cannot store holds its partition (its logs name it)',
          `OffsetLag-${consumer.name}`,
          DEAD_LETTER_LAG.periods,
        );
      } else {
        alarm(
          `OffsetLag-${consumer.name}`,
          metric,
          lagThreshold,
          `${consumer.name}: a topic it reads is more than ${lagThreshold} records behind`,
        );
      }
      return metric.with({ label: consumer.name });
    });

    // Record-level failure: the consumers report failed records in
    // batchItemFailures and do not throw, so Lambda's Errors stays 0. The metrics
    // are the EMF ones of #commons/kafka-consumer.ts, published per batch with the
    // dimensions {service, topic} only (Powertools adds `service`), so an alarm per
    // topic read. https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html
    for (const consumer of props.consumers) {
      for (const topic of consumer.topics) {
        alarm(
          `RecordsFailed-${consumer.name}-${topic}`,
          recordsOf('RecordsFailed', consumer.service, topic),
          0,
          `${consumer.name}: records of ${topic} failed in 5 minutes and are being ` +
            'retried (their partition waits); see its logs',
          `RecordsFailed-${topic}-${consumer.name}`,
        );
        alarm(
          `RecordsDeadLettered-${consumer.name}-${topic}`,
          recordsOf('RecordsDeadLettered', consumer.service, topic),
          0,
          consumer.path === 'dead-letter'
            ? `${consumer.name}: a dead letter of ${topic} could not be read and was parked; see GET /dead-letters?status=PARKED`
            : `${consumer.name}: records of ${topic} were dead-lettered as poison; see GET /dead-letters`,
          `RecordsDeadLettered-${topic}-${consumer.name}`,
        );
      }
    }

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
        leftAnnotations: [{ value: lagThreshold, label: 'alarm (order path)' }],
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

function offsetLagOf(fn: lambda.IFunction): cloudwatch.Metric {
  return new cloudwatch.Metric({
    namespace: 'AWS/Lambda',
    metricName: 'OffsetLag',
    dimensionsMap: { [OFFSET_LAG_DIMENSION]: fn.functionName },
    period: PERIOD,
    statistic: cloudwatch.Stats.MAXIMUM,
  });
}

/**
 * One record outcome of one consumer on one topic, as `#commons/kafka-consumer.ts`
 * publishes it: `RecordsConsumed`, `RecordsDeadLettered` or `RecordsFailed`.
 */
function recordsOf(
  metricName: 'RecordsDeadLettered' | 'RecordsFailed',
  service: string,
  topic: string,
): cloudwatch.Metric {
  return new cloudwatch.Metric({
    namespace: METRICS_NAMESPACE,
    metricName,
    dimensionsMap: { service, topic },
    period: PERIOD,
    statistic: cloudwatch.Stats.SUM,
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
