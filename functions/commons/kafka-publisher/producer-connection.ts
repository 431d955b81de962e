/**
 * The publisher's producer: one idempotent kafkajs producer, connected on first
 * use and kept across invocations, and the deadline every use of it runs within
 * (docs/timeouts.md). A failed connect is not remembered; a failed or abandoned
 * send drops the producer, so the next call starts from a fresh connection.
 */
import {
  type KafkaConfig as KafkaJsConfig,
  Partitioners,
  type RetryOptions,
} from 'kafkajs';
import { messageOf } from '#commons/guards.ts';
import type { KafkaBudget } from '../config.ts';
import type { DiscoveredBrokers } from './broker-discovery.ts';
import { KafkaUnavailableError } from './errors.ts';
import type { KafkaFactory, ProducerLike } from './publisher-options.ts';

/**
 * A kept producer connection: `run` connects (or reuses the connection) and acts
 * within the publish deadline; `disconnect` closes it, and the next `run` connects
 * again.
 */
export interface ProducerConnection {
  run(
    what: string,
    act: (producer: ProducerLike) => Promise<unknown>,
  ): Promise<void>;
  disconnect(): Promise<void>;
}

/**
 * The producer connection of a publisher: clients made by `kafkaFactory` from
 * `clientConfig` of the brokers `resolveBrokers` finds, with kafkajs retries
 * `retry`, and the budget's publish deadline.
 */
export function producerConnection(
  kafkaFactory: KafkaFactory,
  clientConfig: (brokers: DiscoveredBrokers) => KafkaJsConfig,
  resolveBrokers: () => Promise<DiscoveredBrokers>,
  retry: RetryOptions,
  budget: KafkaBudget,
): ProducerConnection {
  let connection: Promise<ProducerLike> | undefined;

  const open = async (): Promise<ProducerLike> =>
    openProducer(kafkaFactory(clientConfig(await resolveBrokers())), retry);

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
    expiry: Expiry,
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

  return {
    run: (what, act) =>
      withinDeadline(what, budget.publishTimeoutMs, (expiry) =>
        attempt(what, act, expiry),
      ),
    async disconnect() {
      const current = connection;
      connection = undefined;
      if (current) await closeProducer(current);
    },
  };
}

/** Whether the deadline of a use has passed, and what to do when it does. */
interface Expiry {
  expired: boolean;
  onExpiry?: () => void;
}

/** Makes the publisher's idempotent producer on `client` and connects it. */
async function openProducer(
  client: ReturnType<KafkaFactory>,
  retry: RetryOptions,
): Promise<ProducerLike> {
  const producer = client.producer({
    idempotent: true,
    // One request in flight keeps the order of an order's events on retries.
    maxInFlightRequests: 1,
    // Topics are made by the infrastructure; a typo must fail, not create one.
    allowAutoTopicCreation: false,
    // Java's murmur2 partitioner, as Java clients and MSK tools use: one orderId,
    // one partition, whoever produces (and kafkajs warns when it is left implicit).
    createPartitioner: Partitioners.DefaultPartitioner,
    retry,
  });
  try {
    await producer.connect();
  } catch (error) {
    await producer.disconnect().catch(() => {});
    throw error;
  }
  return producer;
}

/**
 * Connects (or reuses the connection) and acts, within the publish deadline. A
 * connect still under way when the deadline passes goes on, for the next call to
 * use; a send under way is abandoned with its producer. An abandoned send may still
 * reach the broker: the deadline bounds the wait, not the outcome (docs/timeouts.md).
 */
async function withinDeadline(
  what: string,
  timeoutMs: number,
  attempt: (expiry: Expiry) => Promise<void>,
): Promise<void> {
  const expiry: Expiry = {
    expired: false,
  };
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => {
      expiry.expired = true;
      expiry.onExpiry?.();
      reject(
        new KafkaUnavailableError(
          `Kafka did not take ${what} within ${timeoutMs} ms`,
        ),
      );
    }, timeoutMs);
  });
  try {
    await Promise.race([attempt(expiry), deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/** Closes a kept producer; one that never connected has nothing to close. */
async function closeProducer(current: Promise<ProducerLike>): Promise<void> {
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
}
