/**
 * The schema of a stage's configuration: every setting, its bounds, and what it
 * does (zod, so a typo fails `cdk synth` with a message).
 */
import * as z from 'zod';

const EsmSettings = z.object({
  /** Records per batch (1-10 000). */
  batchSize: z.number().int().min(1).max(10_000),
  /**
   * Whole seconds to gather a batch (0-300), on every mapping off the order path
   * (dead letters, orphan charges). AWS takes whole seconds only.
   */
  maxBatchingWindowSeconds: z.number().int().min(0).max(300),
  /**
   * Whole seconds to gather a batch (0-300) on the order path: the mappings a
   * customer waits on after an API call, `order.placed.v1` and `order.cancelled.v1`
   * into payment, and the payment outcomes (`payment.processed.v1`,
   * `payment.failed.v1`, `payment.refunded.v1`) into order-events. A placed order
   * crosses two of them before it is PAID, so each second here is up to two seconds
   * of waiting; 0 invokes as soon as records are polled, at the price of more, smaller
   * invocations while traffic is low (docs/performance.md, Latency and batching
   * windows).
   */
  orderPathBatchingWindowSeconds: z.number().int().min(0).max(300),
  /** Retries after the first attempt (0-10 000), then the `.dead-letter` topic. */
  retryAttempts: z.number().int().min(0).max(10_000),
  /** Older records go to the dead-letter topic unprocessed (60-604 800 s). */
  maxRecordAgeSeconds: z.number().int().min(60).max(604_800),
  /** Provisioned pollers: needed for retries, bisect and the Kafka destination. */
  minimumPollers: z.number().int().min(1).max(200),
  maximumPollers: z.number().int().min(1).max(2_000),
  bisectBatchOnError: z.boolean(),
  /**
   * The broker outage the mappings must ride out without dead-lettering anything
   * (docs/broker-outages.md). Checked against the retries, the record age and the
   * function timeout; nothing is deployed from it.
   */
  outageToleranceSeconds: z.number().int().min(0),
  /**
   * The generation of the stack's consumer groups, the `-g<n>` suffix of every
   * mapping's `ConsumerGroupId` (`<stack>-<consumer>-<topic>-g1`). Default 1.
   *
   * Bump it in the same deploy as any change that makes CloudFormation replace a
   * mapping (a property marked "Update requires: Replacement", e.g. its topic, its
   * cluster or its starting position, or a renamed construct:
   * https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-lambda-eventsourcemapping.html).
   * CloudFormation creates the new mapping before it deletes the old one, and a
   * consumer group id must be unique among all the account's Kafka event sources
   * (https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-properties-lambda-eventsourcemapping-amazonmanagedkafkaeventsourceconfig.html):
   * with the same id the new mapping cannot be created and the deploy rolls back.
   *
   * A new generation is a new consumer group with no committed offsets, so its
   * mappings start from `TRIM_HORIZON`: they re-read what the topics still retain,
   * which the handlers absorb as repeats (docs/domain.md section 9). Changing the id
   * itself replaces every mapping, so bump it only with such a change.
   */
  consumerGroupGeneration: z.number().int().min(1),
});

export const StageConfig = z.object({
  stage: z.string().regex(/^[a-z][a-z0-9-]{0,15}$/),
  kafka: z.object({
    /**
     * An existing MSK cluster (`-c mskClusterArn=...`); otherwise one is created. It
     * needs `vpcId`, `subnetIds` and `securityGroupId` with it: the functions go into
     * the cluster's network (infra/network.ts, ExistingNetwork).
     */
    clusterArn: z.string().startsWith('arn:').optional(),
    /** The existing cluster's VPC (`-c mskVpcId=vpc-...`). */
    vpcId: z
      .string()
      .regex(/^vpc-[0-9a-f]{8,17}$/)
      .optional(),
    /**
     * The subnets for the functions, in the existing cluster's VPC, with a route to
     * DynamoDB (`-c mskSubnetIds=subnet-a,subnet-b`).
     */
    subnetIds: z
      .array(z.string().regex(/^subnet-[0-9a-f]{8,17}$/))
      .min(1)
      .optional(),
    /** The existing cluster's security group (`-c mskSecurityGroupId=sg-...`). */
    securityGroupId: z
      .string()
      .regex(/^sg-[0-9a-f]{8,17}$/)
      .optional(),
    /** `serverless` (MSK Serverless, IAM auth) or `provisioned` (2 brokers, IAM auth). */
    mode: z.enum(['serverless', 'provisioned']),
    /** Partitions of every topic, dead-letter topics included. */
    partitions: z.number().int().min(1).max(1_000),
    /** How long topics keep records. */
    retentionHours: z.number().int().min(1),
  }),
  esm: EsmSettings,
  functions: z.object({
    memoryMb: z.number().int().min(128).max(10_240),
    /** At most 14 minutes for Kafka-triggered functions. */
    timeoutSeconds: z.number().int().min(1).max(840),
    logRetentionDays: z.number().int().min(1),
    /**
     * Concurrency set aside for the functions fed by Kafka, the orders stream and
     * the schedule, so that a surge elsewhere in the account cannot starve them; and
     * a cap on each. None by default: reserving takes from the account's unreserved
     * pool, which AWS keeps at 100 or more, so a new account (often 10 in all)
     * cannot reserve any
     * (https://docs.aws.amazon.com/lambda/latest/dg/configuration-concurrency.html).
     * A Kafka-fed function needs at least one per partition of each topic it reads
     * (its mappings run one batch per partition at a time); the synth refuses less.
     * The HTTP functions take none: a throttled integration is a 5xx from API
     * Gateway, and the stage's throttle (`api.throttleRate`) answers 429 instead.
     */
    reservedConcurrency: z
      .partialRecord(
        z.enum([
          'order-events',
          'payment',
          'dlq-reprocessor',
          'outbox-relay',
          'dlq-redrive',
        ]),
        z.number().int().min(1),
      )
      .optional(),
  }),
  api: z.object({
    /**
     * JWT issuer and audience for the order routes. Required unless
     * `publicOrderRoutes` is true.
     */
    jwt: z
      .object({ issuer: z.url(), audience: z.array(z.string()).min(1) })
      .optional(),
    /**
     * The stage wants its order routes open to anyone when `jwt` is absent (dev, for
     * trying the system). False in prod: a stage without `jwt` then fails the synth.
     */
    publicOrderRoutes: z.boolean(),
    throttleRate: z.number().positive(),
    throttleBurst: z.number().int().positive(),
  }),
  /**
   * The AWS account and region to deploy to. Default: the CLI's
   * (`CDK_DEFAULT_ACCOUNT`, `CDK_DEFAULT_REGION`); without either the stack is
   * environment-agnostic. With them the VPC's AZs are looked up once and kept in
   * `cdk.context.json` (commit it), so they never move between deploys.
   */
  env: z
    .object({
      account: z.string().regex(/^\d{12}$/),
      region: z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d$/),
    })
    .optional(),
  /**
   * The new VPC's two or more AZs, pinned by name (e.g. `["eu-west-1a",
   * "eu-west-1b"]`), in the stack's region. Not with an existing cluster.
   */
  availabilityZones: z
    .array(z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d[a-z]$/))
    .min(2)
    .optional(),
  /** The reprocessor's schedule for due redrives, in minutes. */
  redriveEveryMinutes: z.number().int().min(1),
  /** An e-mail subscribed to the alarm topic. */
  alarmEmail: z.email().optional(),
  /**
   * An existing SNS topic for the alarms (e.g. the team's on-call topic): no topic
   * is created. `alarmEmail`, when also set, subscribes to this one. A standard
   * topic: names of 1-256 letters, digits, `_` and `-`; FIFO topics (`.fifo`) take
   * no e-mail subscriptions.
   * https://docs.aws.amazon.com/sns/latest/api/API_CreateTopic.html
   * https://docs.aws.amazon.com/sns/latest/dg/fifo-message-delivery.html
   */
  alarmTopicArn: z
    .string()
    .regex(/^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[\w-]{1,256}$/)
    .optional(),
  /**
   * The stage must tell someone about its alarms: `alarmEmail` or `alarmTopicArn`
   * is required (prod). Silent alarms are no alarms.
   */
  requireAlarmRecipient: z.boolean(),
  /** Tables are retained on stack deletion in prod, destroyed in dev. */
  retainData: z.boolean(),
});
export type StageConfig = z.infer<typeof StageConfig>;
