/**
 * The monitoring of the orders stack: which functions it watches, and which of
 * them are Kafka consumers with the Powertools service their record metrics carry.
 */
import type { Stack } from 'aws-cdk-lib';
import {
  CONSUMED_TOPICS,
  deadLetterTopic,
} from '../../functions/domain/events.ts';
import type { StageConfig } from '../config.ts';
import {
  DLQ_REPROCESSOR_SERVICE,
  ORDER_EVENTS_SERVICE,
  PAYMENT_SERVICE,
} from '../monitoring/metrics.ts';
import { type MonitoredConsumer, Monitoring } from '../monitoring.ts';
import type { StackFunctions } from './stack-functions.ts';

/**
 * Creates the stack's alarms and dashboard (construct id `Monitoring`) over every
 * function.
 *
 * @example
 * ```ts
 * const monitoring = addMonitoring(this, config, { ...orders, payment, ...deadLetters });
 * ```
 */
export function addMonitoring(
  stack: Stack,
  config: StageConfig,
  {
    orderApi,
    outboxRelay,
    orderEvents,
    payment,
    reprocessor,
    redrive,
    admin,
  }: StackFunctions,
): Monitoring {
  // The Kafka-fed functions, each with the Powertools service its record metrics carry.
  const consumers: MonitoredConsumer[] = [
    {
      name: 'order-events',
      fn: orderEvents.fn,
      service: ORDER_EVENTS_SERVICE,
      topics: orderEvents.topics,
    },
    {
      name: 'payment',
      fn: payment.fn,
      service: PAYMENT_SERVICE,
      topics: payment.topics,
    },
    {
      name: 'dlq-reprocessor',
      fn: reprocessor.fn,
      service: DLQ_REPROCESSOR_SERVICE,
      topics: reprocessor.topics,
      path: 'dead-letter',
    },
  ];
  return new Monitoring(stack, 'Monitoring', {
    functions: [
      { name: 'order-api', fn: orderApi },
      { name: 'outbox-relay', fn: outboxRelay },
      { name: 'order-events', fn: orderEvents.fn },
      { name: 'payment', fn: payment.fn },
      { name: 'dlq-reprocessor', fn: reprocessor.fn },
      { name: 'dlq-redrive', fn: redrive },
      { name: 'dlq-admin', fn: admin },
    ],
    consumers,
    deadLetterTopics: CONSUMED_TOPICS.map(deadLetterTopic),
    streamConsumers: [{ name: 'outbox-relay', fn: outboxRelay }],
    ...(config.alarmEmail ? { alarmEmail: config.alarmEmail } : {}),
    ...(config.alarmTopicArn ? { alarmTopicArn: config.alarmTopicArn } : {}),
  });
}
