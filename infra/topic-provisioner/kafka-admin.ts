/**
 * The kafkajs adapter of the provisioner's {@link TopicAdmin} port: a connected
 * admin client (plaintext locally, IAM on MSK) that describes, creates and grows
 * topics and sets their retention.
 */
import {
  type Admin,
  ConfigResourceTypes,
  Kafka,
  type KafkaConfig as KafkaJsConfig,
  logLevel,
} from 'kafkajs';
import { generateMskAuthToken } from '#commons/msk-iam-token.ts';
import type { TopicAdmin, TopicState } from './plan.ts';

/** A kafkajs-backed {@link TopicAdmin} that is connected and can be closed. */
export interface ConnectedTopicAdmin extends TopicAdmin {
  disconnect(): Promise<void>;
}

/**
 * Connects a kafkajs admin client: plaintext for `auth: 'none'` (local broker), TLS
 * and SASL/OAUTHBEARER signed with the function's role for `auth: 'iam'` (MSK, port
 * 9098; https://docs.aws.amazon.com/msk/latest/developerguide/iam-access-control.html).
 *
 * @example
 * ```ts
 * const admin = await createTopicAdmin({ brokers: ['127.0.0.1:9092'], auth: 'none' });
 * try { await provisionTopics(admin, topics); } finally { await admin.disconnect(); }
 * ```
 */
export async function createTopicAdmin(options: {
  readonly brokers: readonly string[];
  readonly auth: 'none' | 'iam';
  readonly region?: string;
  readonly clientId?: string;
}): Promise<ConnectedTopicAdmin> {
  const base: KafkaJsConfig = {
    clientId: options.clientId ?? 'topic-provisioner',
    brokers: [...options.brokers],
    logLevel: logLevel.NOTHING,
    connectionTimeout: 10_000,
    requestTimeout: 30_000,
  };
  const region = options.region ?? process.env.AWS_REGION ?? 'us-east-1';
  const config: KafkaJsConfig =
    options.auth === 'iam'
      ? {
          ...base,
          ssl: true,
          sasl: {
            mechanism: 'oauthbearer',
            // Signed locally from the role's credentials: no STS call, so the
            // function needs no route out of the VPC.
            oauthBearerProvider: async () => ({
              value: (await generateMskAuthToken({ region })).token,
            }),
          },
        }
      : base;
  const admin = new Kafka(config).admin();
  await admin.connect();
  return kafkaJsTopicAdmin(admin);
}

/** The partitions and `retention.ms` of those of `names` that exist. */
async function describeTopics(
  admin: Admin,
  names: readonly string[],
): Promise<Map<string, TopicState>> {
  // With IAM auth the metadata lists only the topics the role may describe.
  const listed = new Set(await admin.listTopics());
  const present = names.filter((name) => listed.has(name));
  const states = new Map<string, TopicState>();
  if (present.length === 0) return states;
  const [{ topics }, { resources }] = await Promise.all([
    admin.fetchTopicMetadata({ topics: present }),
    admin.describeConfigs({
      includeSynonyms: false,
      resources: present.map((name) => ({
        type: ConfigResourceTypes.TOPIC,
        name,
        configNames: ['retention.ms'],
      })),
    }),
  ]);
  const retentionOf = new Map(
    resources.map((resource) => {
      const value = resource.configEntries.find(
        (entry) => entry.configName === 'retention.ms',
      )?.configValue;
      return [resource.resourceName, value ? Number(value) : undefined];
    }),
  );
  for (const topic of topics) {
    states.set(topic.name, {
      partitions: topic.partitions.length,
      retentionMs: retentionOf.get(topic.name),
    });
  }
  return states;
}

function kafkaJsTopicAdmin(admin: Admin): ConnectedTopicAdmin {
  return {
    describe: (names) => describeTopics(admin, names),

    async create(topics) {
      await admin.createTopics({
        waitForLeaders: true,
        timeout: 30_000,
        // No replication factor: the cluster's default (MSK Serverless: 3, fixed;
        // MSK Provisioned in 2 AZs: 2), so the same code fits every cluster.
        topics: topics.map((topic) => ({
          topic: topic.name,
          numPartitions: topic.partitions,
          configEntries: [
            { name: 'retention.ms', value: String(topic.retentionMs) },
          ],
        })),
      });
    },

    async createPartitions(changes) {
      await admin.createPartitions({
        timeout: 30_000,
        topicPartitions: changes.map((change) => ({
          topic: change.name,
          count: change.partitions,
        })),
      });
    },

    async setRetention(changes) {
      // AlterConfigs (kafkajs has no incremental variant) replaces a topic's dynamic
      // configs with the given set; the provisioner owns these topics and sets only
      // retention.ms, so nothing else is lost.
      await admin.alterConfigs({
        validateOnly: false,
        resources: changes.map((change) => ({
          type: ConfigResourceTypes.TOPIC,
          name: change.name,
          configEntries: [
            { name: 'retention.ms', value: String(change.retentionMs) },
          ],
        })),
      });
    },

    disconnect: () => admin.disconnect(),
  };
}
