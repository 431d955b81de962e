/**
 * The CloudWatch metrics the alarms and the dashboard watch: Lambda's own, and the
 * EMF metrics the functions publish through Powertools, by service and topic.
 */
import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import { METRICS_NAMESPACE } from '#commons/observability.ts';

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

/** The period of every alarm and widget. */
export const PERIOD = Duration.minutes(5);

export function errorsOf(fn: lambda.IFunction): cloudwatch.Metric {
  return fn.metricErrors({
    period: PERIOD,
    statistic: cloudwatch.Stats.SUM,
  });
}

export function offsetLagOf(fn: lambda.IFunction): cloudwatch.Metric {
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
export function recordsOf(
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
export function deadLetterArrivalsOf(topic: string): cloudwatch.Metric {
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
export function orphanMetricOf(metricName: string): cloudwatch.Metric {
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
export function recordsByServiceAndTopic(
  metricName: string,
): cloudwatch.IMetric {
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
