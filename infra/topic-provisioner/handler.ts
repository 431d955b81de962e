/**
 * The topic provisioner: the `onEvent` handler of the `Custom::KafkaTopics` resource
 * (`infra/topics.ts`). On Create and Update it makes the cluster's topics match the
 * resource's properties: it creates missing topics, raises partition counts that are
 * lower than asked (never lowers them: Kafka cannot), and sets `retention.ms`. On
 * Delete it does nothing: topics hold the system's data, and removing a stack (or
 * replacing the resource) must not destroy it.
 *
 * Why a custom resource: `AWS::MSK::Topic` exists for MSK Provisioned only, not for
 * MSK Serverless, so the Kafka admin API over IAM is the one way that works for both
 * (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-msk-topic.html).
 *
 * The handler is thin: {@link planTopics} decides (pure, unit-tested),
 * {@link provisionTopics} applies a plan through the small {@link TopicAdmin} port and
 * {@link createTopicAdmin} is its kafkajs adapter.
 */

import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import {
  type Admin,
  ConfigResourceTypes,
  Kafka,
  type KafkaConfig as KafkaJsConfig,
  logLevel,
} from 'kafkajs';
import * as z from 'zod';
import { KafkaConfig, loadConfig } from '#commons/config.ts';
import { generateMskAuthToken } from '#commons/msk-iam-token.ts';

/** What a topic should look like. */
export interface TopicSpec {
  readonly name: string;
  readonly partitions: number;
  readonly retentionMs: number;
}

/** What a topic looks like now; `retentionMs` is undefined when unknown. */
export interface TopicState {
  readonly partitions: number;
  readonly retentionMs: number | undefined;
}

/** What {@link planTopics} decided. */
export interface TopicPlan {
  /** Topics that do not exist yet. */
  readonly create: readonly TopicSpec[];
  /** Existing topics with fewer partitions than asked: raised to `partitions`. */
  readonly grow: readonly { name: string; partitions: number }[];
  /** Existing topics whose `retention.ms` differs from the spec. */
  readonly retention: readonly { name: string; retentionMs: number }[];
  /**
   * Existing topics with more partitions than asked: left alone, since Kafka cannot
   * remove partitions (and the key-to-partition mapping would change anyway).
   */
  readonly keepMorePartitions: readonly {
    name: string;
    partitions: number;
    requested: number;
  }[];
}

/**
 * Decides what to do to bring the existing topics to the specs. Pure: no I/O.
 *
 * @example
 * ```ts
 * const plan = planTopics(
 *   [{ name: 'order.placed.v1', partitions: 6, retentionMs: 259_200_000 }],
 *   new Map([['order.placed.v1', { partitions: 3, retentionMs: 259_200_000 }]]),
 * );
 * plan.grow; // [{ name: 'order.placed.v1', partitions: 6 }]
 * ```
 */
export function planTopics(
  desired: readonly TopicSpec[],
  existing: ReadonlyMap<string, TopicState>,
): TopicPlan {
  const create: TopicSpec[] = [];
  const grow: { name: string; partitions: number }[] = [];
  const retention: { name: string; retentionMs: number }[] = [];
  const keepMorePartitions: TopicPlan['keepMorePartitions'][number][] = [];
  for (const spec of desired) {
    const state = existing.get(spec.name);
    if (!state) {
      create.push(spec);
      continue;
    }
    if (state.partitions < spec.partitions) {
      grow.push({ name: spec.name, partitions: spec.partitions });
    } else if (state.partitions > spec.partitions) {
      keepMorePartitions.push({
        name: spec.name,
        partitions: state.partitions,
        requested: spec.partitions,
      });
    }
    if (state.retentionMs !== spec.retentionMs) {
      retention.push({ name: spec.name, retentionMs: spec.retentionMs });
    }
  }
  return { create, grow, retention, keepMorePartitions };
}

/**
 * The admin operations the provisioner needs; kafkajs behind it in Lambda, a fake in
 * unit tests.
 */
export interface TopicAdmin {
  /** The state of those of `names` that exist; missing topics are absent. */
  describe(names: readonly string[]): Promise<Map<string, TopicState>>;
  /** Creates topics (and waits for their partition leaders). */
  create(topics: readonly TopicSpec[]): Promise<void>;
  /** Raises partition counts to the given totals. */
  createPartitions(
    changes: readonly { name: string; partitions: number }[],
  ): Promise<void>;
  /** Sets `retention.ms` of existing topics. */
  setRetention(
    changes: readonly { name: string; retentionMs: number }[],
  ): Promise<void>;
}

/**
 * Describes the topics, plans and applies the plan. Idempotent: a second run with the
 * same specs finds nothing to do.
 *
 * @example
 * ```ts
 * const plan = await provisionTopics(admin, topics);
 * ```
 */
export async function provisionTopics(
  admin: TopicAdmin,
  desired: readonly TopicSpec[],
): Promise<TopicPlan> {
  const existing = await admin.describe(desired.map((topic) => topic.name));
  const plan = planTopics(desired, existing);
  if (plan.create.length > 0) await admin.create(plan.create);
  if (plan.grow.length > 0) await admin.createPartitions(plan.grow);
  if (plan.retention.length > 0) await admin.setRetention(plan.retention);
  return plan;
}

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

// CloudFormation hands custom resources every scalar as a string, so numbers are
// coerced (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/crpg-ref-requests.html).
const TopicSpecSchema = z.object({
  Name: z
    .string()
    .regex(/^[A-Za-z0-9._-]{1,249}$/, 'must be a legal Kafka topic name'),
  Partitions: z.coerce.number().int().min(1),
  RetentionMs: z.coerce.number().int().min(-1),
});

/** The custom resource's properties (besides `ServiceToken`). */
export const TopicsProperties = z.object({
  /** Changes with the cluster, so a new cluster gets its topics (an Update). */
  ClusterArn: z.string().optional(),
  Topics: z
    .array(TopicSpecSchema)
    .min(1)
    .refine(
      (topics) =>
        new Set(topics.map((topic) => topic.Name)).size === topics.length,
      'topic names must be unique',
    )
    .transform((topics) =>
      topics.map(
        (topic): TopicSpec => ({
          name: topic.Name,
          partitions: topic.Partitions,
          retentionMs: topic.RetentionMs,
        }),
      ),
    ),
});

/** The response of a Provider framework `onEvent` handler. */
export interface ProvisionerResponse {
  readonly PhysicalResourceId: string;
  readonly Data: Record<string, string>;
}

const PHYSICAL_ID = 'kafka-topics';

function names(list: readonly { name: string }[]): string {
  return list.map((item) => item.name).join(',');
}

/**
 * The `onEvent` handler of the Provider framework
 * (https://docs.aws.amazon.com/cdk/api/v2/docs/aws-cdk-lib.custom_resources-readme.html#handling-lifecycle-events-onevent).
 * Brokers come from `KAFKA_BROKERS`, the auth mode from `KAFKA_AUTH`.
 *
 * @example
 * ```ts
 * await handler({ RequestType: 'Create', ResourceProperties: { ServiceToken, Topics }, ... });
 * ```
 */
export const handler = async (
  event: CloudFormationCustomResourceEvent,
): Promise<ProvisionerResponse> => {
  if (event.RequestType === 'Delete') {
    // Topics hold data: deleting the stack or replacing this resource keeps them.
    return { PhysicalResourceId: event.PhysicalResourceId, Data: {} };
  }
  const physicalResourceId =
    event.RequestType === 'Update' ? event.PhysicalResourceId : PHYSICAL_ID;
  const { Topics: topics } = TopicsProperties.parse(event.ResourceProperties);
  const { kafka } = loadConfig({ kafka: KafkaConfig });
  if (!kafka.brokers) {
    throw new Error('KAFKA_BROKERS is not set: the provisioner needs brokers');
  }
  const admin = await createTopicAdmin({
    brokers: kafka.brokers,
    auth: kafka.auth,
    region: kafka.region,
    clientId: kafka.clientId,
  });
  try {
    const plan = await provisionTopics(admin, topics);
    console.log(JSON.stringify({ message: 'topics provisioned', plan }));
    return {
      PhysicalResourceId: physicalResourceId,
      Data: {
        Created: names(plan.create),
        Grown: names(plan.grow),
        RetentionSet: names(plan.retention),
        KeptMorePartitions: names(plan.keepMorePartitions),
      },
    };
  } finally {
    await admin.disconnect();
  }
};
