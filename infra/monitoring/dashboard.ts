/**
 * The dashboard of the system, named after the stack: invocations, errors and
 * duration per function, offset lag, dead-letter arrivals, orphan payment outcomes
 * and the consumers' record outcomes.
 */
import { Duration, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type { Construct } from 'constructs';
import { ORPHAN_METRICS } from '#commons/observability.ts';
import type { MonitoredFunction } from '../monitoring.ts';
import { orphanMetricOf, PERIOD, recordsByServiceAndTopic } from './metrics.ts';

/** What the dashboard shows besides the functions' own metrics. */
export interface DashboardMetrics {
  readonly functions: readonly MonitoredFunction[];
  /** Offset lag per consumer, labelled. */
  readonly lagMetrics: readonly cloudwatch.IMetric[];
  /** The order path's lag alarm threshold, drawn as an annotation. */
  readonly lagThreshold: number;
  /** Dead-letter arrivals per topic, labelled. */
  readonly arrivalMetrics: readonly cloudwatch.IMetric[];
  /** The orphan charges the alarm watches. */
  readonly orphanCharges: cloudwatch.Metric;
}

/**
 * Creates the dashboard (construct id `Dashboard`) in `scope`.
 *
 * @example
 * ```ts
 * this.dashboard = createDashboard(this, { functions, lagMetrics, lagThreshold, arrivalMetrics, orphanCharges });
 * ```
 */
export function createDashboard(
  scope: Construct,
  metrics: DashboardMetrics,
): cloudwatch.Dashboard {
  const dashboard = new cloudwatch.Dashboard(scope, 'Dashboard', {
    // The stack's name (KafkaOrders-dev): what the README tells operators to open.
    dashboardName: Stack.of(scope).stackName,
    defaultInterval: Duration.hours(3),
  });
  const functionWidgets = (
    title: string,
    metric: (fn: lambda.IFunction, label: string) => cloudwatch.IMetric[],
  ): cloudwatch.GraphWidget =>
    new cloudwatch.GraphWidget({
      title,
      width: 8,
      left: metrics.functions.flatMap(({ name, fn }) => metric(fn, name)),
    });
  dashboard.addWidgets(
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
  dashboard.addWidgets(
    new cloudwatch.GraphWidget({
      title: 'Offset lag (max)',
      width: 12,
      left: [...metrics.lagMetrics],
      leftAnnotations: [
        { value: metrics.lagThreshold, label: 'alarm (order path)' },
      ],
    }),
    new cloudwatch.GraphWidget({
      title: 'Dead-letter arrivals',
      width: 12,
      left: [...metrics.arrivalMetrics],
    }),
  );
  addOutcomeWidgets(dashboard, metrics.orphanCharges);
  return dashboard;
}

/** Orphan payment outcomes, and the consumers' record outcomes by service and topic. */
function addOutcomeWidgets(
  dashboard: cloudwatch.Dashboard,
  orphanCharges: cloudwatch.Metric,
): void {
  dashboard.addWidgets(
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
  dashboard.addWidgets(
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
