/**
 * The payment function as `npm run bench:payment` runs it in the local Lambda
 * sandbox: functions/payment.ts' own `createPaymentHandler`, wired from the
 * environment as that module wires it, with two bench-only knobs that production
 * code never reads:
 * - `BENCH_PAYMENT_STORE`: `dynamodb` (default: the real repository on the Payments
 *   table) or `memory` (./memory-payments.ts: the function's cost without a store);
 * - `BENCH_INJECTED_DELAY_MS`: milliseconds added before every DynamoDB call (a
 *   middleware on the client, inside the SDK's retry loop, so every attempt pays it)
 *   and every produce (publish and dead-letter send), as a round trip to AWS would
 *   cost. Default 0.
 * Kept to this module (and ./payment-wiring.ts) so that a change of
 * `PaymentDependencies` is adapted here.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  dynamoDbConfig,
  KafkaConfig,
  kafkaBudget,
  loadConfig,
  tableName,
} from '#commons/config.ts';
import { createKafkaPublisher } from '#commons/kafka-publisher.ts';
import { createLogger, createMetrics } from '#commons/observability.ts';
import type { Clock } from '#domain/events.ts';
import { createSimulatedGateway } from '#domain/payment.ts';
import { TABLES } from '#infra/tables.ts';
import { createPaymentHandler, PaymentSettings } from '../functions/payment.ts';
import { createMemoryPaymentRepository } from './memory-payments.ts';
import {
  BENCH_ENV,
  type BenchStore,
  delayedPublisher,
  dynamoDbPayments,
} from './payment-wiring.ts';

function storeOf(value: string | undefined): BenchStore {
  if (value === undefined || value === 'dynamodb') return 'dynamodb';
  if (value === 'memory') return 'memory';
  throw new Error(
    `${BENCH_ENV.store} must be dynamodb or memory, not ${value}`,
  );
}

function wire() {
  const config = loadConfig({
    kafka: KafkaConfig,
    dynamodb: dynamoDbConfig('consumer'),
    kafkaBudget: kafkaBudget('consumer'),
    paymentsTable: tableName(TABLES.payments.envVar),
    payment: PaymentSettings,
  });
  const delayMs = Number(process.env[BENCH_ENV.delayMs] ?? 0);
  if (!Number.isFinite(delayMs) || delayMs < 0) {
    throw new Error(`${BENCH_ENV.delayMs} must be a number of ms ≥ 0`);
  }
  const logger = createLogger('payment');
  const clock: Clock = { now: () => new Date(), uuid: randomUUID };
  return {
    payments:
      storeOf(process.env[BENCH_ENV.store]) === 'memory'
        ? createMemoryPaymentRepository()
        : dynamoDbPayments(config.dynamodb, config.paymentsTable, delayMs),
    publisher: delayedPublisher(
      createKafkaPublisher(config.kafka, {
        logger,
        budget: config.kafkaBudget,
      }),
      delayMs,
    ),
    gateway: createSimulatedGateway(config.payment.gateway, clock),
    rules: config.payment.rules,
    clock,
    logger,
    metrics: createMetrics('payment'),
    retry: {
      ...config.payment.retry,
      sleep: (ms: number) => sleep(ms),
      random: Math.random,
    },
  };
}

/** The handler the bench's local Lambda runs. */
export const handler = createPaymentHandler(wire());
