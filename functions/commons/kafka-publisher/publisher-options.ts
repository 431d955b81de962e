/**
 * How a Kafka publisher is made: its options, and the seams of kafkajs and AWS it
 * uses, each injectable so tests can observe or replace it.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import type {
  Admin,
  KafkaConfig as KafkaJsConfig,
  Producer,
  ProducerConfig,
  RetryOptions,
} from 'kafkajs';
import type { KafkaBudget } from '../config.ts';
import type { generateMskAuthToken } from '../msk-iam-token.ts';
import type { BootstrapBrokersClient } from './broker-discovery.ts';

/** The part of a kafkajs producer the adapter uses; a test fake implements just this. */
export type ProducerLike = Pick<
  Producer,
  'connect' | 'disconnect' | 'send' | 'sendBatch'
>;

/** The part of a kafkajs admin client `ping` uses. */
export type AdminLike = Pick<
  Admin,
  'connect' | 'disconnect' | 'describeCluster'
>;

/**
 * Makes the kafkajs client; injectable so tests can observe or replace it. Without
 * `admin`, `ping` falls back to `connect`.
 */
export type KafkaFactory = (config: KafkaJsConfig) => {
  producer(config?: ProducerConfig): ProducerLike;
  admin?(): AdminLike;
};

/** {@link generateMskAuthToken} (signs with the role's credentials), or a fake. */
export type AuthTokenGenerator = (options: {
  region: string;
}) => Promise<{ token: string; expiryTime: number }>;

/** Where kafkajs log lines go: a Powertools Logger fits. */
export type KafkaLogSink = Pick<Logger, 'debug' | 'info' | 'warn' | 'error'>;

/** Options of {@link createKafkaPublisher}; every field has a Lambda-friendly default. */
export interface KafkaPublisherOptions {
  /** kafkajs log lines go here (WARN and up); without it they are dropped. */
  readonly logger?: KafkaLogSink;
  readonly kafkaFactory?: KafkaFactory;
  /** Used only with `config.clusterArn`; default: a `KafkaClient` for the ARN's region. */
  readonly discoveryClient?: BootstrapBrokersClient;
  /** Used only with `config.auth === 'iam'`; default: {@link generateMskAuthToken}. */
  readonly generateAuthToken?: AuthTokenGenerator;
  /**
   * The publish deadline and kafkajs's timeouts; default: the HTTP functions' budget
   * (`DEFAULT_BUDGETS.api.kafka`).
   */
  readonly budget?: KafkaBudget;
  /** Milliseconds to open a TCP (and TLS) connection to a broker; overrides the budget. */
  readonly connectionTimeout?: number;
  /** Milliseconds a request may take; overrides the budget. */
  readonly requestTimeout?: number;
  /**
   * kafkajs retries of connects and sends. Default: 2 retries, 100 ms doubling, so a
   * dead broker fails in seconds and the HTTP path can answer 503 (kafkajs's own
   * default keeps retrying for about 30 s).
   */
  readonly retry?: RetryOptions;
}
