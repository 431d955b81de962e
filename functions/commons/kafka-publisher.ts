/**
 * The Kafka publisher: a port ({@link EventPublisher}) and its kafkajs adapter. The
 * adapter is made once per Lambda container (module scope), connects lazily on first use
 * and keeps the connection across invocations. Brokers come from the configuration or,
 * on MSK, are discovered once from the cluster ARN; MSK IAM auth signs SASL/OAUTHBEARER
 * tokens with the function's role.
 *
 * Every publish has a deadline (docs/timeouts.md): against a frozen broker it fails
 * with {@link KafkaUnavailableError} when its budget is spent, whatever kafkajs's own
 * timeouts and retries would still do.
 *
 * This file wires the adapter and is the publisher's public API; its parts are
 * files of ./kafka-publisher/: event-publisher.ts (the port), errors.ts,
 * publisher-options.ts, broker-discovery.ts, client-config.ts,
 * producer-connection.ts, admin-ping.ts and event-messages.ts.
 */
import { Kafka } from 'kafkajs';
import { DEFAULT_BUDGETS, type KafkaConfig } from './config.ts';
import { metadataPing } from './kafka-publisher/admin-ping.ts';
import { brokerSource, regionOf } from './kafka-publisher/broker-discovery.ts';
import {
  DEFAULT_RETRY,
  kafkaClientConfig,
} from './kafka-publisher/client-config.ts';
import type { KafkaUnavailableError } from './kafka-publisher/errors.ts';
import {
  eventMessagesByTopic,
  toKafkaMessage,
} from './kafka-publisher/event-messages.ts';
import type { EventPublisher } from './kafka-publisher/event-publisher.ts';
import { producerConnection } from './kafka-publisher/producer-connection.ts';
import type {
  KafkaFactory,
  KafkaPublisherOptions,
} from './kafka-publisher/publisher-options.ts';

export {
  type BootstrapBrokersClient,
  type DiscoveredBrokers,
  discoverBrokers,
} from './kafka-publisher/broker-discovery.ts';
export {
  BootstrapBrokersNotFoundError,
  InvalidEventError,
  KafkaUnavailableError,
} from './kafka-publisher/errors.ts';
export type {
  EventPublisher,
  OutgoingMessage,
} from './kafka-publisher/event-publisher.ts';
export type {
  AdminLike,
  AuthTokenGenerator,
  KafkaFactory,
  KafkaLogSink,
  KafkaPublisherOptions,
  ProducerLike,
} from './kafka-publisher/publisher-options.ts';

/**
 * The kafkajs adapter of {@link EventPublisher}. Construction does no I/O: the first
 * `publish` or `send` discovers brokers (once, if `clusterArn` is set), connects an
 * idempotent producer and keeps it for later invocations. A failed discovery or connect
 * is not remembered, so the next call tries again; a failed send drops the producer so
 * the next call starts from a fresh connection. Every failure of Kafka surfaces as
 * {@link KafkaUnavailableError}.
 *
 * @example
 * ```ts
 * // module scope: one producer per container
 * const publisher = createKafkaPublisher(config.kafka, { logger });
 * export const handler = async () => publisher.publish([event]);
 * ```
 */
export function createKafkaPublisher(
  config: KafkaConfig,
  options: KafkaPublisherOptions = {},
): EventPublisher {
  const kafkaFactory: KafkaFactory =
    options.kafkaFactory ?? ((kafkaConfig) => new Kafka(kafkaConfig));
  const budget = options.budget ?? DEFAULT_BUDGETS.api.kafka;
  const region = regionOf(config.clusterArn, config.region);
  const resolveBrokers = brokerSource(config, options.discoveryClient, region);
  const clientConfig = kafkaClientConfig(config, options, budget, region);
  const connection = producerConnection(
    kafkaFactory,
    clientConfig,
    resolveBrokers,
    options.retry ?? DEFAULT_RETRY,
    budget,
  );
  const metadata = metadataPing(
    kafkaFactory,
    clientConfig,
    resolveBrokers,
    () => connection.run('a connection', async () => {}),
  );

  return {
    async publish(events) {
      if (events.length === 0) return;
      const byTopic = eventMessagesByTopic(events);
      await connection.run(`${events.length} event(s)`, (producer) =>
        producer.sendBatch({
          acks: -1,
          topicMessages: [...byTopic].map(([topic, messages]) => ({
            topic,
            messages,
          })),
        }),
      );
    },

    async send(topic, messages) {
      if (messages.length === 0) return;
      await connection.run(
        `${messages.length} record(s) for ${topic}`,
        (producer) =>
          producer.send({
            topic,
            acks: -1,
            messages: messages.map(toKafkaMessage),
          }),
      );
    },

    async connect() {
      await connection.run('a connection', async () => {});
    },

    ping() {
      return metadata.ping();
    },

    async disconnect() {
      metadata.close();
      await connection.disconnect();
    },
  };
}
