/**
 * Configuration by stage, from `cdk.json` context (`-c stage=prod` picks one). Every
 * setting has a documented default here; `cdk.json` and `-c` override them. Validated
 * with zod so a typo fails `cdk synth` with a message, not a broken deployment.
 */
import * as z from 'zod';
import { guaranteedOutageSeconds } from '#domain/outage-policy.ts';

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

/**
 * {@link StageConfig} with the checks across settings: a secured stage names who may
 * call the order routes and who hears its alarms; the retry policy must ride out the
 * stage's broker outage (docs/broker-outages.md, The policy).
 */
const CheckedStageConfig = StageConfig.superRefine((config, issues) => {
  if (!config.api.jwt && !config.api.publicOrderRoutes) {
    issues.addIssue({
      code: 'custom',
      path: ['api', 'jwt'],
      message: `api.jwt (issuer and audience) is required in ${config.stage}, or api.publicOrderRoutes: true; without either the order routes would be public`,
    });
  }
  if (
    config.requireAlarmRecipient &&
    !config.alarmEmail &&
    !config.alarmTopicArn
  ) {
    issues.addIssue({
      code: 'custom',
      path: ['alarmEmail'],
      message: `alarmEmail or alarmTopicArn is required in ${config.stage}; without either nobody hears the alarms`,
    });
  }
  existingClusterChecks(config, issues);
  // docs/broker-outages.md, "The policy": the consumers' in-invocation waits alone
  // must cover the outage, as AWS does not document its retry pacing.
  const { esm, functions } = config;
  const covered = guaranteedOutageSeconds({
    retryAttempts: esm.retryAttempts,
    timeoutSeconds: functions.timeoutSeconds,
  });
  if (covered < esm.outageToleranceSeconds) {
    issues.addIssue({
      code: 'custom',
      path: ['esm', 'retryAttempts'],
      message: `${esm.retryAttempts} retries with a ${functions.timeoutSeconds} s function timeout ride out ${covered} s of broker outage, not the ${esm.outageToleranceSeconds} s of outageToleranceSeconds: raise the retries or the timeout`,
    });
  }
  // A record may wait out the outage unfetched, then use all its attempts: the age
  // limit must not cut them short.
  const longestWait =
    esm.outageToleranceSeconds +
    (esm.retryAttempts + 1) * functions.timeoutSeconds;
  if (esm.maxRecordAgeSeconds < longestWait) {
    issues.addIssue({
      code: 'custom',
      path: ['esm', 'maxRecordAgeSeconds'],
      message: `${esm.maxRecordAgeSeconds} s would expire records that are still within their retries: at least outageToleranceSeconds + (retryAttempts + 1) x timeoutSeconds = ${longestWait} s`,
    });
  }
});

/**
 * An existing cluster brings its network: the VPC, the subnets for the functions and
 * the cluster's security group are all required with it, and none without it.
 */
function existingClusterChecks(
  config: StageConfig,
  issues: z.RefinementCtx,
): void {
  const { kafka } = config;
  const network = {
    vpcId: kafka.vpcId,
    subnetIds: kafka.subnetIds,
    securityGroupId: kafka.securityGroupId,
  };
  const given = Object.keys(network).filter(
    (key) => network[key as keyof typeof network] !== undefined,
  );
  if (kafka.clusterArn) {
    const missing = Object.keys(network).filter((key) => !given.includes(key));
    if (missing.length > 0) {
      issues.addIssue({
        code: 'custom',
        path: ['kafka', missing[0] as string],
        message: `an existing cluster (kafka.clusterArn) needs its network: ${missing.map((key) => `kafka.${key}`).join(', ')} missing (-c mskVpcId=vpc-... -c mskSubnetIds=subnet-a,subnet-b -c mskSecurityGroupId=sg-...; aws kafka describe-cluster-v2 --cluster-arn <arn> shows them)`,
      });
    }
    if (config.availabilityZones) {
      issues.addIssue({
        code: 'custom',
        path: ['availabilityZones'],
        message:
          "availabilityZones is for a new VPC; with an existing cluster the functions go into kafka.subnetIds, in those subnets' AZs",
      });
    }
    const region = kafka.clusterArn.split(':')[3];
    if (config.env && region !== config.env.region) {
      issues.addIssue({
        code: 'custom',
        path: ['kafka', 'clusterArn'],
        message: `the cluster is in ${region}, the stack in ${config.env.region}: Lambda reads an MSK cluster of its own region only`,
      });
    }
  } else if (given.length > 0) {
    issues.addIssue({
      code: 'custom',
      path: ['kafka', given[0] as string],
      message: `${given.map((key) => `kafka.${key}`).join(', ')} only go with an existing cluster (kafka.clusterArn); a new cluster gets a new VPC`,
    });
  }
  const zones = config.availabilityZones ?? [];
  const region = config.env?.region;
  const foreign = zones.filter(
    (zone) => region !== undefined && zone.slice(0, -1) !== region,
  );
  if (foreign.length > 0) {
    issues.addIssue({
      code: 'custom',
      path: ['availabilityZones'],
      message: `${foreign.join(', ')} not in the stack's region ${region}`,
    });
  }
}

/** The defaults of each stage; `cdk.json` context `stages.<stage>` overrides them. */
export const STAGE_DEFAULTS: Readonly<
  Record<string, Omit<StageConfig, 'stage'>>
> = {
  dev: {
    kafka: { mode: 'serverless', partitions: 3, retentionHours: 72 },
    esm: {
      batchSize: 100,
      maxBatchingWindowSeconds: 1,
      // Interactive: POST /orders -> PAID without a batching wait.
      orderPathBatchingWindowSeconds: 0,
      retryAttempts: 3,
      maxRecordAgeSeconds: 3_600,
      minimumPollers: 1,
      maximumPollers: 3,
      bisectBatchOnError: true,
      outageToleranceSeconds: 60,
      consumerGroupGeneration: 1,
    },
    functions: { memoryMb: 512, timeoutSeconds: 60, logRetentionDays: 7 },
    api: { throttleRate: 50, throttleBurst: 100, publicOrderRoutes: true },
    redriveEveryMinutes: 1,
    requireAlarmRecipient: false,
    retainData: false,
  },
  prod: {
    kafka: { mode: 'serverless', partitions: 6, retentionHours: 168 },
    esm: {
      batchSize: 100,
      maxBatchingWindowSeconds: 1,
      // The smallest window AWS allows: up to 100 records an invocation from 100
      // orders/s on, for at most 1 s a hop (docs/performance.md, Latency and
      // batching windows).
      orderPathBatchingWindowSeconds: 1,
      retryAttempts: 10,
      maxRecordAgeSeconds: 86_400,
      minimumPollers: 1,
      maximumPollers: 6,
      bisectBatchOnError: true,
      outageToleranceSeconds: 60,
      consumerGroupGeneration: 1,
    },
    functions: { memoryMb: 1_024, timeoutSeconds: 60, logRetentionDays: 30 },
    // No defaults for api.jwt and alarmEmail: each team brings its own (cdk.json
    // stages.prod), and the synth fails without them.
    api: { throttleRate: 500, throttleBurst: 1_000, publicOrderRoutes: false },
    redriveEveryMinutes: 1,
    requireAlarmRecipient: true,
    retainData: true,
  },
};

/**
 * The configuration of a stage: defaults, then `stages.<stage>` from context, then
 * `mskClusterArn` from context.
 *
 * @example
 * ```ts
 * const config = stageConfig((key) => app.node.tryGetContext(key));
 * ```
 */
export function stageConfig(context: (key: string) => unknown): StageConfig {
  const stage = String(context('stage') ?? 'dev');
  const defaults = STAGE_DEFAULTS[stage] ?? STAGE_DEFAULTS.dev;
  const overrides = (
    context('stages') as Record<string, unknown> | undefined
  )?.[stage] as Partial<StageConfig> | undefined;
  const merged = {
    ...defaults,
    ...overrides,
    stage,
    kafka: {
      ...defaults?.kafka,
      ...overrides?.kafka,
      ...existingClusterContext(context),
    },
    esm: { ...defaults?.esm, ...overrides?.esm },
    functions: { ...defaults?.functions, ...overrides?.functions },
    api: { ...defaults?.api, ...overrides?.api },
  };
  const result = CheckedStageConfig.safeParse(merged);
  if (!result.success) {
    throw new Error(
      `invalid configuration for stage ${stage}: ${oneLine(result.error)}`,
    );
  }
  return result.data;
}

/**
 * The existing cluster and its network from `-c` context: `mskClusterArn`,
 * `mskVpcId`, `mskSubnetIds` (comma-separated, or a list in cdk.json) and
 * `mskSecurityGroupId`.
 */
function existingClusterContext(
  context: (key: string) => unknown,
): Partial<StageConfig['kafka']> {
  const text = (key: string) => {
    const value = context(key);
    return typeof value === 'string' && value !== '' ? value : undefined;
  };
  const subnets = context('mskSubnetIds');
  const subnetIds =
    typeof subnets === 'string'
      ? subnets
          .split(',')
          .map((id) => id.trim())
          .filter((id) => id !== '')
      : subnets;
  const given = {
    clusterArn: text('mskClusterArn'),
    vpcId: text('mskVpcId'),
    subnetIds,
    securityGroupId: text('mskSecurityGroupId'),
  };
  return Object.fromEntries(
    Object.entries(given).filter(([, value]) => value !== undefined),
  );
}

/**
 * Every issue on one line, `<message> (at <path>)`, joined by `; `: what `cdk synth`
 * prints is the one line that names the setting to fix.
 */
function oneLine(error: z.ZodError): string {
  return error.issues
    .map(({ message, path }) =>
      path.length > 0
        ? `${message} (at ${path.map(String).join('.')})`
        : message,
    )
    .join('; ');
}
