/**
 * Configuration: read from the environment once, at cold start, validated with zod.
 * A bad or missing variable fails the cold start with one message naming every problem.
 */
import { z } from 'zod';

/** The configuration is invalid; the message names every offending variable. */
export class ConfigError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'ConfigError';
  }
}

type Pieces = Record<string, z.ZodType>;

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
export function loadConfig<P extends Pieces>(
  pieces: P,
  env: NodeJS.ProcessEnv = process.env,
): { [K in keyof P]: z.output<P[K]> } {
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
  return config as { [K in keyof P]: z.output<P[K]> };
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

/** DynamoDB: the region, and an endpoint override for DynamoDB Local or LocalStack. */
export const DynamoDbConfig = z
  .object({
    DYNAMODB_ENDPOINT: z.url().optional(),
    AWS_REGION: z.string().min(1).default('us-east-1'),
  })
  .transform((env) => ({
    endpoint: env.DYNAMODB_ENDPOINT,
    region: env.AWS_REGION,
  }));
export type DynamoDbConfig = z.output<typeof DynamoDbConfig>;

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
