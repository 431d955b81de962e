/**
 * The alarms of the monitoring construct: each named after the stack, notifying
 * one SNS topic on ALARM and on OK, and treating missing data as not breaching.
 */
import { Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type { Construct } from 'constructs';

/**
 * Creates alarms in one scope and keeps them, in the order they were made.
 *
 * @example
 * ```ts
 * const alarms = new AlarmSet(this, topic);
 * alarms.add('Errors-payment', errorsOf(fn), 0, 'payment failed');
 * ```
 */
export class AlarmSet {
  readonly alarms: cloudwatch.Alarm[] = [];
  readonly #scope: Construct;
  readonly #topic: sns.ITopic;

  constructor(scope: Construct, topic: sns.ITopic) {
    this.#scope = scope;
    this.#topic = topic;
  }

  /** An alarm on `metric > threshold` for `evaluationPeriods` periods in a row. */
  add(
    alarmId: string,
    metric: cloudwatch.IMetric,
    threshold: number,
    description: string,
    name = alarmId,
    evaluationPeriods = 1,
  ): cloudwatch.Alarm {
    const created = new cloudwatch.Alarm(this.#scope, alarmId, {
      // `<stack>-<what>-<which>`, e.g. KafkaOrders-dev-DeadLetters-order.placed.v1.dead-letter:
      // the name an operator reads in the e-mail is the one the README's runbook lists.
      alarmName: `${Stack.of(this.#scope).stackName}-${name}`,
      metric,
      threshold,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods,
      datapointsToAlarm: evaluationPeriods,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      alarmDescription: description,
    });
    created.addAlarmAction(new SnsAction(this.#topic));
    created.addOkAction(new SnsAction(this.#topic));
    this.alarms.push(created);
    return created;
  }
}
