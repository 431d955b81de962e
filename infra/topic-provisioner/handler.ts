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
 * The handler is thin: `planTopics` decides (pure, unit-tested) and
 * `provisionTopics` applies a plan through the small `TopicAdmin` port (both in
 * `./plan.ts`); `createTopicAdmin` is its kafkajs adapter (`./kafka-admin.ts`).
 */

import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import * as z from 'zod';
import { KafkaConfig, loadConfig } from '#commons/config.ts';
import { createTopicAdmin } from './kafka-admin.ts';
import { provisionTopics, type TopicSpec } from './plan.ts';

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
