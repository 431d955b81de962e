/**
 * Alarms and a dashboard (docs/domain.md section 8): handler errors, records that
 * failed or were dead-lettered, consumer offset lag (a low threshold on the
 * dead-letter path), dead-letter arrivals and charges whose order does not exist
 * alarm to one SNS topic; the dashboard adds invocations, duration and the
 * consumers' record outcomes.
 */
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sns from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';
import { AlarmSet } from './monitoring/alarm-set.ts';
import { createDashboard } from './monitoring/dashboard.ts';
import {
  addDeadLetterAlarms,
  addErrorAlarms,
  addIteratorAgeAlarms,
  addLagAlarms,
  addOrphanChargesAlarm,
  addRecordAlarms,
} from './monitoring/system-alarms.ts';

export {
  DLQ_REPROCESSOR_SERVICE,
  OFFSET_LAG_DIMENSION,
  ORDER_EVENTS_SERVICE,
  PAYMENT_SERVICE,
} from './monitoring/metrics.ts';
export { DEAD_LETTER_LAG } from './monitoring/system-alarms.ts';

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

    const alarms = new AlarmSet(this, this.alarmTopic);
    addErrorAlarms(alarms, props.functions);
    const lagThreshold = props.offsetLagThreshold ?? 1_000;
    const lagMetrics = addLagAlarms(alarms, props.consumers, lagThreshold);
    addRecordAlarms(alarms, props.consumers);
    const arrivalMetrics = addDeadLetterAlarms(alarms, props.deadLetterTopics);
    addIteratorAgeAlarms(alarms, props.streamConsumers ?? []);
    const orphanCharges = addOrphanChargesAlarm(alarms);
    this.alarms = alarms.alarms;

    this.dashboard = createDashboard(this, {
      functions: props.functions,
      lagMetrics,
      lagThreshold,
      arrivalMetrics,
      orphanCharges,
    });
  }
}
