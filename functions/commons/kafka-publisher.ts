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
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import type {
  GetBootstrapBrokersCommand,
  GetBootstrapBrokersCommandOutput,
} from '@aws-sdk/client-kafka';
import {
  type Admin,
  Kafka,
  type KafkaConfig as KafkaJsConfig,
  type LogEntry,
  logLevel,
  type Message,
  Partitioners,
  type Producer,
  type ProducerConfig,
  type RetryOptions,
} from 'kafkajs';
import {
  CONTENT_TYPE_JSON,
  DomainEvent,
  HEADERS,
  TOPIC_OF,
} from '#domain/events.ts';
import { TransientError } from '#domain/failures.ts';
import {
  DEFAULT_BUDGETS,
  type KafkaBudget,
  type KafkaConfig,
} from './config.ts';
import { generateMskAuthToken } from './msk-iam-token.ts';

/** A record to send as is: the dead-letter reprocessor redrives bytes, not events. */
export interface OutgoingMessage {
  readonly key: Buffer | string | null;
  readonly value: Buffer | string;
  readonly headers: Readonly<Record<string, string | Buffer>>;
}

/**
 * Where events go. Handlers depend on this port, never on kafkajs, so tests can hand
 * them a fake and the circuit breaker can wrap any implementation.
 *
 * @example
 * ```ts
 * await publisher.publish([orderPlaced]);
 * ```
 */
export interface EventPublisher {
  /** Validates every event, then sends all of them (acks from all in-sync replicas). */
  publish(events: readonly DomainEvent[]): Promise<void>;
  /** Sends raw records to one topic (acks from all in-sync replicas). */
  send(topic: string, messages: readonly OutgoingMessage[]): Promise<void>;
  /** Closes the connection; the next call connects again. */
  disconnect(): Promise<void>;
  /**
   * Connects now (reusing the connection when there is one), for readiness checks;
   * rejects with {@link KafkaUnavailableError} when Kafka cannot be reached.
   */
  connect?(): Promise<void>;
  /**
   * Asks a broker for the cluster's metadata: a round trip, so it fails against a
   * broker that accepts connections but does not answer (frozen, overloaded), which
   * `connect` on a kept connection cannot see. Rejects with
   * {@link KafkaUnavailableError}.
   */
  ping?(): Promise<void>;
}

/**
 * Kafka could not take the records (connect, discovery, auth or send failed). Transient:
 * the HTTP path answers 503 and the consumers let the event source mapping retry.
 *
 * @example
 * ```ts
 * if (error instanceof KafkaUnavailableError) return serviceUnavailable();
 * ```
 */
export class KafkaUnavailableError extends TransientError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'KafkaUnavailableError';
  }
}

/**
 * An event broke the contract, so nothing was sent. A bug in the producer, not an
 * outage: it does not count toward opening the circuit breaker.
 *
 * @example
 * ```ts
 * await expect(publisher.publish([broken])).rejects.toThrow(InvalidEventError);
 * ```
 */
export class InvalidEventError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'InvalidEventError';
  }
}

/**
 * The MSK cluster has no bootstrap broker string for the configured auth (e.g. IAM auth
 * is not enabled on it).
 *
 * @example
 * ```ts
 * throw new BootstrapBrokersNotFoundError('no BootstrapBrokerStringSaslIam');
 * ```
 */
export class BootstrapBrokersNotFoundError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'BootstrapBrokersNotFoundError';
  }
}

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

/** The `@aws-sdk/client-kafka` client, or a fake answering GetBootstrapBrokers. */
export interface BootstrapBrokersClient {
  send(
    command: GetBootstrapBrokersCommand,
  ): Promise<GetBootstrapBrokersCommandOutput>;
}

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

/** What discovery found: broker addresses and whether they speak TLS. */
export interface DiscoveredBrokers {
  readonly brokers: string[];
  readonly tls: boolean;
}

const DEFAULT_RETRY: RetryOptions = {
  retries: 2,
  initialRetryTime: 100,
  maxRetryTime: 1000,
};

function regionOf(clusterArn: string | undefined, fallback: string): string {
  // arn:aws:kafka:<region>:<account>:cluster/...: the cluster's own region wins.
  return clusterArn?.split(':')[3] || fallback;
}

function splitBrokers(list: string): string[] {
  return list
    .split(',')
    .map((broker) => broker.trim())
    .filter(Boolean);
}

/**
 * Asks MSK for the bootstrap brokers of a cluster: the SASL/IAM string (port 9098) with
 * IAM auth, else TLS, else plaintext.
 *
 * @example
 * ```ts
 * const { brokers } = await discoverBrokers(new KafkaClient({}), arn, 'iam');
 * ```
 */
export async function discoverBrokers(
  client: BootstrapBrokersClient,
  clusterArn: string,
  auth: KafkaConfig['auth'],
): Promise<DiscoveredBrokers> {
  // Loaded on demand: functions given KAFKA_BROKERS never pay for the SDK client.
  const { GetBootstrapBrokersCommand } = await import('@aws-sdk/client-kafka');
  const output = await client.send(
    new GetBootstrapBrokersCommand({ ClusterArn: clusterArn }),
  );
  if (auth === 'iam') {
    const brokers = splitBrokers(output.BootstrapBrokerStringSaslIam ?? '');
    if (brokers.length === 0) {
      throw new BootstrapBrokersNotFoundError(
        `cluster ${clusterArn} has no BootstrapBrokerStringSaslIam: is IAM auth enabled?`,
      );
    }
    return { brokers, tls: true };
  }
  const tls = splitBrokers(output.BootstrapBrokerStringTls ?? '');
  if (tls.length > 0) return { brokers: tls, tls: true };
  const plain = splitBrokers(output.BootstrapBrokerString ?? '');
  if (plain.length > 0) return { brokers: plain, tls: false };
  throw new BootstrapBrokersNotFoundError(
    `cluster ${clusterArn} has neither BootstrapBrokerStringTls nor BootstrapBrokerString`,
  );
}

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

function toKafkaMessage(message: OutgoingMessage): Message {
  return {
    key: message.key,
    value: message.value,
    headers: { ...message.headers },
  };
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

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
  let discovery: Promise<DiscoveredBrokers> | undefined;
  let connection: Promise<ProducerLike> | undefined;

  const resolveBrokers = (): Promise<DiscoveredBrokers> => {
    if (config.brokers?.length) {
      return Promise.resolve({ brokers: [...config.brokers], tls: false });
    }
    const clusterArn = config.clusterArn;
    if (!clusterArn) {
      return Promise.reject(
        new BootstrapBrokersNotFoundError('set brokers or clusterArn'),
      );
    }
    discovery ??= (async () => {
      const client =
        options.discoveryClient ??
        new (await import('@aws-sdk/client-kafka')).KafkaClient({ region });
      return discoverBrokers(client, clusterArn, config.auth);
    })().catch((error: unknown) => {
      discovery = undefined;
      throw error;
    });
    return discovery;
  };

  const generateAuthToken = options.generateAuthToken ?? generateMskAuthToken;

  const clientConfig = ({ brokers, tls }: DiscoveredBrokers): KafkaJsConfig => {
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

  const open = async (): Promise<ProducerLike> => {
    const producer = kafkaFactory(
      clientConfig(await resolveBrokers()),
    ).producer({
      idempotent: true,
      // One request in flight keeps the order of an order's events on retries.
      maxInFlightRequests: 1,
      // Topics are made by the infrastructure; a typo must fail, not create one.
      allowAutoTopicCreation: false,
      // Java's murmur2 partitioner, as Java clients and MSK tools use: one orderId,
      // one partition, whoever produces (and kafkajs warns when it is left implicit).
      createPartitioner: Partitioners.DefaultPartitioner,
      retry: options.retry ?? DEFAULT_RETRY,
    });
    try {
      await producer.connect();
    } catch (error) {
      await producer.disconnect().catch(() => {});
      throw error;
    }
    return producer;
  };

  const connected = (): Promise<ProducerLike> => {
    connection ??= open().catch((error: unknown) => {
      connection = undefined;
      throw error;
    });
    return connection;
  };

  /** Forgets `pending` (unless a concurrent call already did) and closes it. */
  const drop = (pending: Promise<ProducerLike>, producer: ProducerLike) => {
    if (connection !== pending) return;
    connection = undefined;
    void producer.disconnect().catch(() => {});
  };

  const attempt = async (
    what: string,
    act: (producer: ProducerLike) => Promise<unknown>,
    expiry: { expired: boolean; onExpiry?: () => void },
  ): Promise<void> => {
    const pending = connected();
    let producer: ProducerLike;
    try {
      producer = await pending;
    } catch (error) {
      throw new KafkaUnavailableError(
        `cannot connect to Kafka: ${messageOf(error)}`,
        { cause: error },
      );
    }
    if (expiry.expired) return; // the caller has its answer; send nothing late
    // A send that outlives the deadline leaves a producer in an unknown state.
    expiry.onExpiry = () => drop(pending, producer);
    try {
      await act(producer);
    } catch (error) {
      // Start the next call from a clean connection rather than a half-broken one.
      drop(pending, producer);
      throw new KafkaUnavailableError(
        `Kafka did not take ${what}: ${messageOf(error)}`,
        { cause: error },
      );
    }
  };

  /**
   * Connects (or reuses the connection) and acts, within the publish deadline. A
   * connect still under way when the deadline passes goes on, for the next call to
   * use; a send under way is abandoned with its producer. An abandoned send may still
   * reach the broker: the deadline bounds the wait, not the outcome (docs/timeouts.md).
   */
  const run = async (
    what: string,
    act: (producer: ProducerLike) => Promise<unknown>,
  ): Promise<void> => {
    const expiry: { expired: boolean; onExpiry?: () => void } = {
      expired: false,
    };
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => {
        expiry.expired = true;
        expiry.onExpiry?.();
        reject(
          new KafkaUnavailableError(
            `Kafka did not take ${what} within ${budget.publishTimeoutMs} ms`,
          ),
        );
      }, budget.publishTimeoutMs);
    });
    try {
      await Promise.race([attempt(what, act, expiry), deadline]);
    } finally {
      clearTimeout(timer);
    }
  };

  let admin: Promise<AdminLike | undefined> | undefined;
  let pinging: Promise<void> | undefined;

  const openAdmin = async (): Promise<AdminLike | undefined> => {
    const client = kafkaFactory(clientConfig(await resolveBrokers()));
    if (!client.admin) return undefined;
    const created = client.admin();
    try {
      await created.connect();
    } catch (error) {
      await created.disconnect().catch(() => {});
      throw error;
    }
    return created;
  };

  const ping = async (): Promise<void> => {
    admin ??= openAdmin().catch((error: unknown) => {
      admin = undefined;
      throw error;
    });
    const pending = admin;
    let client: AdminLike | undefined;
    try {
      client = await pending;
    } catch (error) {
      throw new KafkaUnavailableError(
        `cannot connect to Kafka: ${messageOf(error)}`,
        { cause: error },
      );
    }
    if (!client) {
      await run('a connection', async () => {});
      return;
    }
    try {
      await client.describeCluster();
    } catch (error) {
      if (admin === pending) {
        admin = undefined;
        void client.disconnect().catch(() => {});
      }
      throw new KafkaUnavailableError(
        `Kafka did not answer a metadata request: ${messageOf(error)}`,
        { cause: error },
      );
    }
  };

  return {
    async publish(events) {
      if (events.length === 0) return;
      const byTopic = new Map<string, Message[]>();
      for (const event of events) {
        const parsed = DomainEvent.safeParse(event);
        if (!parsed.success) {
          throw new InvalidEventError(
            `refusing to publish an invalid ${String(event?.eventType)} event: ${parsed.error.message}`,
            { cause: parsed.error },
          );
        }
        const valid = parsed.data;
        const topic = TOPIC_OF[valid.eventType];
        const messages = byTopic.get(topic) ?? [];
        messages.push({
          key: valid.data.orderId,
          value: JSON.stringify(valid),
          headers: {
            [HEADERS.eventType]: valid.eventType,
            [HEADERS.correlationId]: valid.correlationId,
            [HEADERS.contentType]: CONTENT_TYPE_JSON,
          },
        });
        byTopic.set(topic, messages);
      }
      await run(`${events.length} event(s)`, (producer) =>
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
      await run(`${messages.length} record(s) for ${topic}`, (producer) =>
        producer.send({
          topic,
          acks: -1,
          messages: messages.map(toKafkaMessage),
        }),
      );
    },

    async connect() {
      await run('a connection', async () => {});
    },

    ping() {
      // One round trip at a time: probes that come while one hangs share it.
      pinging ??= ping().finally(() => {
        pinging = undefined;
      });
      return pinging;
    },

    async disconnect() {
      const currentAdmin = admin;
      admin = undefined;
      void currentAdmin?.then((client) => client?.disconnect()).catch(() => {});
      const current = connection;
      connection = undefined;
      if (!current) return;
      let producer: ProducerLike;
      try {
        producer = await current;
      } catch {
        return; // never connected: nothing to close
      }
      try {
        await producer.disconnect();
      } catch (error) {
        throw new KafkaUnavailableError(
          `cannot disconnect from Kafka: ${messageOf(error)}`,
          { cause: error },
        );
      }
    },
  };
}
