/**
 * The publisher's `ping`: a metadata request to the cluster through a kafkajs
 * admin client kept for it, so a broker that accepts connections but does not
 * answer is seen; one round trip at a time.
 */
import type { KafkaConfig as KafkaJsConfig } from 'kafkajs';
import { messageOf } from '#commons/guards.ts';
import type { DiscoveredBrokers } from './broker-discovery.ts';
import { KafkaUnavailableError } from './errors.ts';
import type { AdminLike, KafkaFactory } from './publisher-options.ts';

/** `ping` asks for the cluster's metadata; `close` lets go of the admin client. */
export interface MetadataPing {
  ping(): Promise<void>;
  close(): void;
}

/**
 * The metadata ping of a publisher: an admin client made by `kafkaFactory` from
 * `clientConfig` of the brokers `resolveBrokers` finds. A factory without `admin`
 * pings with `connect` instead.
 */
export function metadataPing(
  kafkaFactory: KafkaFactory,
  clientConfig: (brokers: DiscoveredBrokers) => KafkaJsConfig,
  resolveBrokers: () => Promise<DiscoveredBrokers>,
  connect: () => Promise<void>,
): MetadataPing {
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
      await connect();
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
    ping() {
      // One round trip at a time: probes that come while one hangs share it.
      pinging ??= ping().finally(() => {
        pinging = undefined;
      });
      return pinging;
    },

    close() {
      const currentAdmin = admin;
      admin = undefined;
      void currentAdmin?.then((client) => client?.disconnect()).catch(() => {});
    },
  };
}
