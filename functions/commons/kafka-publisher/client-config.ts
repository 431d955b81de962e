/**
 * The kafkajs client configuration of a publisher: brokers and TLS, its timeouts
 * and bounded retries, SASL/OAUTHBEARER with MSK IAM tokens, and kafkajs's log
 * lines sent to the publisher's logger.
 */
import {
  type KafkaConfig as KafkaJsConfig,
  type LogEntry,
  logLevel,
  type RetryOptions,
} from 'kafkajs';
import type { KafkaBudget, KafkaConfig } from '../config.ts';
import { generateMskAuthToken } from '../msk-iam-token.ts';
import type { DiscoveredBrokers } from './broker-discovery.ts';
import type {
  KafkaLogSink,
  KafkaPublisherOptions,
} from './publisher-options.ts';

/** kafkajs retries of connects and sends unless the options say otherwise. */
export const DEFAULT_RETRY: RetryOptions = {
  retries: 2,
  initialRetryTime: 100,
  maxRetryTime: 1000,
};

// kafkajs warns on every producer that bounded retries "may invalidate EoS guarantees".
// Bounded retries are deliberate here (a request must not hang for 30 s), so the
// warning is expected and would only add noise to every cold start.
const EXPECTED_WARNING = /Limiting retries for the idempotent producer/;

function logCreatorFor(sink: KafkaLogSink) {
  return () =>
    ({ namespace, level, log }: LogEntry): void => {
      const { message, timestamp: _timestamp, ...rest } = log;
      const extra = { kafkajs: { namespace, ...rest } };
      if (level === logLevel.ERROR) sink.error(message, extra);
      else if (level === logLevel.WARN && !EXPECTED_WARNING.test(message)) {
        sink.warn(message, extra);
      } else if (level === logLevel.INFO) sink.info(message, extra);
      else sink.debug(message, extra);
    };
}

/**
 * The kafkajs client configuration for the brokers found, made by the publisher
 * of `config` and `options`, with the budget's timeouts and, with IAM auth, tokens
 * signed for `region`.
 */
export function kafkaClientConfig(
  config: KafkaConfig,
  options: KafkaPublisherOptions,
  budget: KafkaBudget,
  region: string,
): (brokers: DiscoveredBrokers) => KafkaJsConfig {
  const generateAuthToken = options.generateAuthToken ?? generateMskAuthToken;

  return ({ brokers, tls }: DiscoveredBrokers): KafkaJsConfig => {
    const base: KafkaJsConfig = {
      clientId: config.clientId,
      brokers,
      ssl: tls,
      connectionTimeout:
        options.connectionTimeout ?? budget.connectionTimeoutMs,
      requestTimeout: options.requestTimeout ?? budget.requestTimeoutMs,
      retry: options.retry ?? DEFAULT_RETRY,
      ...(options.logger
        ? { logLevel: logLevel.WARN, logCreator: logCreatorFor(options.logger) }
        : { logLevel: logLevel.NOTHING }),
    };
    if (config.auth !== 'iam') return base;
    return {
      ...base,
      ssl: true,
      sasl: {
        mechanism: 'oauthbearer',
        // Called for every new broker connection and re-authentication; the token is
        // signed locally from the role's credentials, valid 15 minutes.
        oauthBearerProvider: async () => ({
          value: (await generateAuthToken({ region })).token,
        }),
      },
    };
  };
}
