/**
 * The alarms of the system, one kind per function: handler errors, consumer offset
 * lag, failed and dead-lettered records per topic, dead-letter arrivals, the outbox
 * relay's iterator age, and charges for orders that do not exist.
 */
import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { ORPHAN_METRICS } from '#commons/observability.ts';
import type { MonitoredConsumer, MonitoredFunction } from '../monitoring.ts';
import type { AlarmSet } from './alarm-set.ts';
import {
  deadLetterArrivalsOf,
  errorsOf,
  offsetLagOf,
  orphanMetricOf,
  PERIOD,
  recordsOf,
} from './metrics.ts';

/**
 * The dead-letter path's lag alarm: any lag (`> 0`) in each of 3 consecutive
 * 5-minute periods. Dead letters are few and the reprocessor only stores them,
 * so lag that lasts 15 minutes is a partition stalled behind one it cannot store.
 */
export const DEAD_LETTER_LAG = { threshold: 0, periods: 3 } as const;

/** One `Errors` alarm per function. */
export function addErrorAlarms(
  alarms: AlarmSet,
  functions: readonly MonitoredFunction[],
): void {
  for (const { name, fn } of functions) {
    alarms.add(
      `Errors-${name}`,
      errorsOf(fn),
      0,
      `${name}: the function failed at least once in 5 minutes`,
    );
  }
}

/**
 * One `OffsetLag` alarm per consumer; returns the lag metrics, labelled for the
 * dashboard.
 */
export function addLagAlarms(
  alarms: AlarmSet,
  consumers: readonly MonitoredConsumer[],
  lagThreshold: number,
): cloudwatch.IMetric[] {
  // Alarm metrics carry no label: a labelled metric renders as a metric-math
  // query in the alarm; the dashboard gets labelled copies.
  return consumers.map((consumer) => {
    const metric = offsetLagOf(consumer.fn);
    if (consumer.path === 'dead-letter') {
      alarms.add(
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
      alarms.add(
        `OffsetLag-${consumer.name}`,
        metric,
        lagThreshold,
        `${consumer.name}: a topic it reads is more than ${lagThreshold} records behind`,
      );
    }
    return metric.with({ label: consumer.name });
  });
}

/**
 * Record-level failure: the consumers report failed records in
 * batchItemFailures and do not throw, so Lambda's Errors stays 0. The metrics
 * are the EMF ones of #commons/kafka-consumer.ts, published per batch with the
 * dimensions {service, topic} only (Powertools adds `service`), so an alarm per
 * topic read. https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html
 */
export function addRecordAlarms(
  alarms: AlarmSet,
  consumers: readonly MonitoredConsumer[],
): void {
  for (const consumer of consumers) {
    for (const topic of consumer.topics) {
      alarms.add(
        `RecordsFailed-${consumer.name}-${topic}`,
        recordsOf('RecordsFailed', consumer.service, topic),
        0,
        `${consumer.name}: records of ${topic} failed in 5 minutes and are being ` +
          'retried (their partition waits); see its logs',
        `RecordsFailed-${topic}-${consumer.name}`,
      );
      alarms.add(
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
}

/**
 * One `DeadLetters` alarm per dead-letter topic; returns the arrival metrics,
 * labelled for the dashboard.
 */
export function addDeadLetterAlarms(
  alarms: AlarmSet,
  deadLetterTopics: readonly string[],
): cloudwatch.IMetric[] {
  return deadLetterTopics.map((topic) => {
    const metric = deadLetterArrivalsOf(topic);
    alarms.add(
      `DeadLetters-${topic}`,
      metric,
      0,
      `${topic}: dead letters arrived; see GET /dead-letters`,
    );
    return metric.with({ label: topic });
  });
}

/**
 * The outbox relay behind: events of acknowledged writes wait to be published
 * (Kafka down, or the relay failing). docs/outbox.md, Operating.
 */
export function addIteratorAgeAlarms(
  alarms: AlarmSet,
  streamConsumers: readonly MonitoredFunction[],
): void {
  for (const { name, fn } of streamConsumers) {
    alarms.add(
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
}

/**
 * Money without an order: refunded automatically, but something produced an
 * OrderPlaced the API never stored, and someone should find out what. Returns the
 * metric, for the dashboard.
 */
export function addOrphanChargesAlarm(alarms: AlarmSet): cloudwatch.Metric {
  const orphanCharges = orphanMetricOf(ORPHAN_METRICS.charges);
  alarms.add(
    'OrphanCharges',
    orphanCharges,
    0,
    'a charge was made for an order that does not exist (refunded automatically); ' +
      'find the OrderPlaced that caused it: see docs/domain.md section 6',
  );
  return orphanCharges;
}
