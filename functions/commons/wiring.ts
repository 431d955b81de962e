/**
 * What every entry point wires from the environment at cold start, once per
 * container: its settings read with the zod pieces of #commons/config.ts (the shared
 * ones and its own in one pass, so a bad environment fails with one message naming
 * every problem), the DynamoDB document client, the Kafka publisher, the logger and
 * the clock. Each entry keeps only what is its own (its tables, repositories,
 * settings, and its metrics: `createMetrics` of #commons/observability.ts, left out
 * here so the order API, which records none, does not bundle them).
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from '@aws-lambda-powertools/logger';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Clock } from '#domain/events.ts';
import {
  type CallerKind,
  type ConfigOf,
  type ConfigPieces,
  type DynamoDbConfig,
  dynamoDbConfig,
  type KafkaBudget,
  KafkaConfig,
  kafkaBudget,
  loadConfig,
} from './config.ts';
import { createDocumentClient } from './dynamodb.ts';
import {
  createKafkaPublisher,
  type EventPublisher,
} from './kafka-publisher.ts';
import { createLogger } from './observability.ts';

/** What an entry point asks of {@link wireFromEnvironment}. */
export interface WiringOptions<P extends ConfigPieces> {
  /** The Powertools service name of its logs, e.g. `payment`. */
  readonly service: string;
  /** Whose DynamoDB budget its store calls take (#commons/config.ts). */
  readonly store: CallerKind;
  /**
   * Whose Kafka publish budget its publisher takes, the environment's overrides
   * included; the publisher's default when absent.
   */
  readonly kafka?: CallerKind;
  /** Its own settings (tables, concurrency, ...), read in the same pass. */
  readonly settings: P;
}

/** The shared pieces an entry point is built from. */
export interface Wiring<P extends ConfigPieces> {
  /** Its own settings, parsed. */
  readonly settings: ConfigOf<P>;
  /** The DynamoDB settings the client was made with. */
  readonly dynamodb: Required<DynamoDbConfig>;
  readonly db: DynamoDBDocumentClient;
  readonly publisher: EventPublisher;
  readonly logger: Logger;
  readonly clock: Clock;
}

/**
 * Reads the environment and builds the shared clients of one entry point.
 *
 * @example
 * ```ts
 * const { settings, db, publisher, logger } = wireFromEnvironment({
 *   service: 'payment',
 *   store: 'consumer',
 *   kafka: 'consumer',
 *   settings: { paymentsTable: tableName(TABLES.payments.envVar) },
 * });
 * ```
 */
export function wireFromEnvironment<P extends ConfigPieces>(
  options: WiringOptions<P>,
): Wiring<P> {
  const { kafka, dynamodb, budget, settings } = readEnvironment(options);
  const logger = createLogger(options.service);
  return {
    settings,
    dynamodb,
    db: createDocumentClient(dynamodb),
    publisher: createKafkaPublisher(kafka, {
      logger,
      ...(budget ? { budget } : {}),
    }),
    logger,
    clock: { now: () => new Date(), uuid: randomUUID },
  };
}

/** The shared settings and the entry's own, from one {@link loadConfig}. */
function readEnvironment<P extends ConfigPieces>(options: WiringOptions<P>) {
  const shared = {
    kafka: KafkaConfig,
    dynamodb: dynamoDbConfig(options.store),
  };
  const budgetPiece = options.kafka
    ? { kafkaBudget: kafkaBudget(options.kafka) }
    : {};
  const {
    kafka,
    dynamodb,
    kafkaBudget: budget,
    ...settings
  } = loadConfig({
    ...shared,
    ...budgetPiece,
    ...options.settings,
  }) as ConfigOf<typeof shared> & { kafkaBudget?: KafkaBudget } & ConfigOf<P>;
  return { kafka, dynamodb, budget, settings: settings as ConfigOf<P> };
}
