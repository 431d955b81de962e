/**
 * Broker discovery: the configured brokers, or, on MSK, the bootstrap brokers of
 * the cluster ARN, asked of MSK once per publisher (a failed discovery is not
 * remembered, so the next call asks again).
 */
import type {
  GetBootstrapBrokersCommand,
  GetBootstrapBrokersCommandOutput,
} from '@aws-sdk/client-kafka';
import type { KafkaConfig } from '../config.ts';
import { BootstrapBrokersNotFoundError } from './errors.ts';

/** The `@aws-sdk/client-kafka` client, or a fake answering GetBootstrapBrokers. */
export interface BootstrapBrokersClient {
  send(
    command: GetBootstrapBrokersCommand,
  ): Promise<GetBootstrapBrokersCommandOutput>;
}

/** What discovery found: broker addresses and whether they speak TLS. */
export interface DiscoveredBrokers {
  readonly brokers: string[];
  readonly tls: boolean;
}

/** The region to sign and discover in: the cluster ARN's own, else `fallback`. */
export function regionOf(
  clusterArn: string | undefined,
  fallback: string,
): string {
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

/**
 * The publisher's broker source: the configured brokers, else those discovered
 * from `config.clusterArn` (with `discoveryClient`, default a `KafkaClient` for
 * `region`), discovered once and kept; a failed discovery is forgotten.
 */
export function brokerSource(
  config: KafkaConfig,
  discoveryClient: BootstrapBrokersClient | undefined,
  region: string,
): () => Promise<DiscoveredBrokers> {
  let discovery: Promise<DiscoveredBrokers> | undefined;
  return (): Promise<DiscoveredBrokers> => {
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
        discoveryClient ??
        new (await import('@aws-sdk/client-kafka')).KafkaClient({ region });
      return discoverBrokers(client, clusterArn, config.auth);
    })().catch((error: unknown) => {
      discovery = undefined;
      throw error;
    });
    return discovery;
  };
}
