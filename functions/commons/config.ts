/**
 * Configuration: read from the environment once, at cold start, validated with zod.
 * A bad or missing variable fails the cold start with one message naming every problem.
 */
import * as z from 'zod';

/** The configuration is invalid; the message names every offending variable. */
export class ConfigError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'ConfigError';
  }
}

/** Named zod schemas of the environment, for {@link loadConfig}. */
export type ConfigPieces = Record<string, z.ZodType>;

/** What {@link loadConfig} returns for `P`. */
export type ConfigOf<P extends ConfigPieces> = {
  [K in keyof P]: z.output<P[K]>;
};

/**
 * Parses the environment with each piece and returns their outputs under the same keys,
 * or throws one {@link ConfigError} listing every problem of every piece.
 *
 * @example
 * ```ts
 * const config = loadConfig({ kafka: KafkaConfig, orders: tableName('ORDERS_TABLE') });
 * config.kafka.brokers; // ['127.0.0.1:9092']
 * ```
 */
export function loadConfig<P extends ConfigPieces>(
  pieces: P,
  env: NodeJS.ProcessEnv = process.env,
): ConfigOf<P> {
  const problems: string[] = [];
  const config: Record<string, unknown> = {};
  for (const [name, schema] of Object.entries(pieces)) {
    const result = schema.safeParse(env);
    if (result.success) config[name] = result.data;
    else {
      for (const issue of result.error.issues) {
        problems.push(`${issue.path.join('.') || name}: ${issue.message}`);
      }
    }
  }
  if (problems.length > 0) {
    throw new ConfigError(`invalid configuration: ${problems.join('; ')}`);
  }
  return config as ConfigOf<P>;
}

const commaList = z.string().transform((value) =>
  value
    .split(',')
    .map((part) => part.trim())
    .filter(Boolean),
);

/** How to reach Kafka: brokers from `KAFKA_BROKERS`, or discovered from `MSK_CLUSTER_ARN`. */
export const KafkaConfig = z
  .object({
    KAFKA_BROKERS: commaList.optional(),
    MSK_CLUSTER_ARN: z
      .string()
      .regex(/^arn:aws[a-z-]*:kafka:/, 'must be an MSK cluster ARN')
      .optional(),
    KAFKA_AUTH: z.enum(['none', 'iam']).default('none'),
    KAFKA_CLIENT_ID: z.string().min(1).optional(),
    AWS_LAMBDA_FUNCTION_NAME: z.string().optional(),
    AWS_REGION: z.string().min(1).default('us-east-1'),
  })
  .refine((env) => env.KAFKA_BROKERS?.length || env.MSK_CLUSTER_ARN, {
    message: 'set KAFKA_BROKERS (host:port,...) or MSK_CLUSTER_ARN',
    path: ['KAFKA_BROKERS'],
  })
  .transform((env) => ({
    brokers: env.KAFKA_BROKERS?.length ? env.KAFKA_BROKERS : undefined,
    clusterArn: env.MSK_CLUSTER_ARN,
    auth: env.KAFKA_AUTH,
    clientId: env.KAFKA_CLIENT_ID ?? env.AWS_LAMBDA_FUNCTION_NAME ?? 'orders',
    region: env.AWS_REGION,
  }));
export type KafkaConfig = z.output<typeof KafkaConfig>;

/** Who makes the calls: the budgets differ (docs/timeouts.md). */
export type CallerKind = 'api' | 'consumer';

/** How long one DynamoDB call may take, retries included. */
export interface StoreBudget {
  /** Milliseconds to open a TCP (and TLS) connection. */
  readonly connectTimeoutMs: number;
  /** Milliseconds one attempt may take, from sending to the whole response. */
  readonly requestTimeoutMs: number;
  /** Attempts of one call, the first included (the SDK's `maxAttempts`). */
  readonly maxAttempts: number;
}

/** How long a Kafka publish may take, and kafkajs's own timeouts under it. */
export interface KafkaBudget {
  /** Milliseconds a whole publish (connect, retries, acks) may take. */
  readonly publishTimeoutMs: number;
  /** kafkajs `connectionTimeout`: milliseconds to open a broker connection. */
  readonly connectionTimeoutMs: number;
  /** kafkajs `requestTimeout`: milliseconds one Kafka request may take. */
  readonly requestTimeoutMs: number;
}

/**
 * The default budgets. The HTTP functions answer within 3 s whatever a dependency
 * does: a frozen store costs 2 attempts of 1 s (plus the SDK's backoff, at most
 * 0.1 s), a frozen broker the 2 s publish deadline. The Kafka-triggered functions
 * have no caller waiting and a 60 s Lambda timeout: they wait longer rather than
 * fail a batch on a hiccup, and stay far below the timeout. Why these numbers:
 * docs/timeouts.md.
 */
export const DEFAULT_BUDGETS = {
  api: {
    store: { connectTimeoutMs: 1000, requestTimeoutMs: 1000, maxAttempts: 2 },
    kafka: {
      publishTimeoutMs: 2000,
      connectionTimeoutMs: 1000,
      requestTimeoutMs: 2000,
    },
  },
  consumer: {
    store: { connectTimeoutMs: 2000, requestTimeoutMs: 3000, maxAttempts: 3 },
    kafka: {
      publishTimeoutMs: 10_000,
      connectionTimeoutMs: 3000,
      requestTimeoutMs: 5000,
    },
  },
} as const satisfies Record<
  CallerKind,
  { store: StoreBudget; kafka: KafkaBudget }
>;

/** Milliseconds from the environment: a whole number from 1 ms to 10 minutes. */
const millis = z.coerce.number().int().min(1).max(600_000);

/** DynamoDB: the region, an endpoint override (DynamoDB Local), and the budget. */
export interface DynamoDbConfig {
  readonly endpoint: string | undefined;
  readonly region: string;
  /** Timeouts and attempts; {@link DEFAULT_BUDGETS}`.api.store` when absent. */
  readonly budget?: StoreBudget;
}

/**
 * The DynamoDB settings, with the budget of `kind` unless the environment says
 * otherwise: `DYNAMODB_CONNECT_TIMEOUT_MS`, `DYNAMODB_REQUEST_TIMEOUT_MS`,
 * `DYNAMODB_MAX_ATTEMPTS` (1-10).
 *
 * @example
 * ```ts
 * loadConfig({ dynamodb: dynamoDbConfig('consumer') }).dynamodb.budget.maxAttempts; // 3
 * ```
 */
export function dynamoDbConfig(kind: CallerKind) {
  const defaults = DEFAULT_BUDGETS[kind].store;
  return z
    .object({
      DYNAMODB_ENDPOINT: z.url().optional(),
      AWS_REGION: z.string().min(1).default('us-east-1'),
      DYNAMODB_CONNECT_TIMEOUT_MS: millis.default(defaults.connectTimeoutMs),
      DYNAMODB_REQUEST_TIMEOUT_MS: millis.default(defaults.requestTimeoutMs),
      DYNAMODB_MAX_ATTEMPTS: z.coerce
        .number()
        .int()
        .min(1)
        .max(10)
        .default(defaults.maxAttempts),
    })
    .transform(
      (env): Required<DynamoDbConfig> => ({
        endpoint: env.DYNAMODB_ENDPOINT,
        region: env.AWS_REGION,
        budget: {
          connectTimeoutMs: env.DYNAMODB_CONNECT_TIMEOUT_MS,
          requestTimeoutMs: env.DYNAMODB_REQUEST_TIMEOUT_MS,
          maxAttempts: env.DYNAMODB_MAX_ATTEMPTS,
        },
      }),
    );
}

/** The DynamoDB settings of an HTTP function (the `api` budget). */
export const DynamoDbConfig = dynamoDbConfig('api');

/**
 * The Kafka publish budget, `kind`'s unless the environment says otherwise:
 * `KAFKA_PUBLISH_TIMEOUT_MS`, `KAFKA_CONNECTION_TIMEOUT_MS`,
 * `KAFKA_REQUEST_TIMEOUT_MS`.
 *
 * @example
 * ```ts
 * const { kafkaBudget } = loadConfig({ kafkaBudget: kafkaBudget('api') });
 * createKafkaPublisher(config.kafka, { budget: kafkaBudget });
 * ```
 */
export function kafkaBudget(kind: CallerKind) {
  const defaults = DEFAULT_BUDGETS[kind].kafka;
  return z
    .object({
      KAFKA_PUBLISH_TIMEOUT_MS: millis.default(defaults.publishTimeoutMs),
      KAFKA_CONNECTION_TIMEOUT_MS: millis.default(defaults.connectionTimeoutMs),
      KAFKA_REQUEST_TIMEOUT_MS: millis.default(defaults.requestTimeoutMs),
    })
    .transform(
      (env): KafkaBudget => ({
        publishTimeoutMs: env.KAFKA_PUBLISH_TIMEOUT_MS,
        connectionTimeoutMs: env.KAFKA_CONNECTION_TIMEOUT_MS,
        requestTimeoutMs: env.KAFKA_REQUEST_TIMEOUT_MS,
      }),
    );
}

/**
 * How long each readiness probe of `GET /health/ready` may take:
 * `HEALTH_PROBE_TIMEOUT_MS`, default 2000 (the probes run side by side, so the
 * answer comes within about that).
 */
export const HealthConfig = z
  .object({ HEALTH_PROBE_TIMEOUT_MS: millis.default(2000) })
  .transform((env) => ({ probeTimeoutMs: env.HEALTH_PROBE_TIMEOUT_MS }));
export type HealthConfig = z.output<typeof HealthConfig>;

/**
 * A table name from the variable the infrastructure sets (see `infra/tables.ts`).
 *
 * @example
 * ```ts
 * loadConfig({ orders: tableName('ORDERS_TABLE') });
 * ```
 */
export function tableName(envVar: string) {
  return z
    .object({ [envVar]: z.string().min(3).max(255) })
    .transform((env) => env[envVar] as string);
}

/**
 * `CONSUMER_CONCURRENCY`: how many records of different keys of one partition a
 * Kafka consumer handles at once (docs/performance.md section "Concurrency within a
 * batch"); unset, the consumer's default (16).
 *
 * @example
 * ```ts
 * loadConfig({ concurrency: ConsumerConcurrency }, { CONSUMER_CONCURRENCY: '8' });
 * // { concurrency: 8 }
 * ```
 */
export const ConsumerConcurrency = z
  .object({
    CONSUMER_CONCURRENCY: z.coerce.number().int().min(1).max(1_000).optional(),
  })
  .transform((env) => env.CONSUMER_CONCURRENCY);
