/**
 * The payment function's Kafka handler (docs/domain.md section 6):
 * - OrderPlaced -> exactly one charge per order (a conditional write decides), then
 *   PaymentProcessed or PaymentFailed;
 * - OrderCancelled -> a refund, once, for a charged order (PaymentRefunded); for an
 *   unpaid order, a record that no charge may happen later;
 * - PaymentOrphaned -> the same one refund, for a charge whose order does not exist.
 * Outcome events get ids derived from the payment, and are published once: a
 * redelivery after a crash between recording and publishing publishes the same event.
 * Parsing, wiring and the batch live here; each event's work is a use case
 * (./use-cases/charge-payment.ts, refund-payment.ts, refund-orphan-charge.ts).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '@aws-lambda-powertools/logger';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import * as z from 'zod';
import { ConsumerConcurrency, tableName } from '#commons/config.ts';
import { edgeHandler } from '#commons/edge-handler.ts';
import { createKafkaConsumer } from '#commons/kafka-consumer.ts';
import type { EventPublisher } from '#commons/kafka-publisher.ts';
import type { KafkaBatchResponse } from '#commons/msk-event.ts';
import { createMetrics } from '#commons/observability.ts';
import { createPaymentRepository } from '#commons/payment-repository.ts';
import { TABLES } from '#commons/table-specs.ts';
import { wireFromEnvironment } from '#commons/wiring.ts';
import { TOPIC_OF } from '#domain/events.ts';
import { PaymentInputParser } from '#domain/fast-accept.ts';
import {
  createSimulatedGateway,
  DEFAULT_GATEWAY_SETTINGS,
  DEFAULT_PAYMENT_RULES,
  type GatewaySettings,
} from '#domain/payment.ts';
import { chargePayment } from './use-cases/charge-payment.ts';
import type { PaymentPorts } from './use-cases/payment-ports.ts';
import { refundOrphanCharge } from './use-cases/refund-orphan-charge.ts';
import { refundPayment } from './use-cases/refund-payment.ts';

/** What the handler needs; wired from the environment below. */
export interface PaymentDependencies extends PaymentPorts {
  readonly publisher: EventPublisher;
  readonly logger: Logger;
  /** Batch metrics (records consumed, dead-lettered, failed) per topic. */
  readonly metrics?: Metrics;
  /**
   * Records of different orders of one partition handled at once (the consumer's
   * `concurrency`; its default when absent). From `CONSUMER_CONCURRENCY`.
   */
  readonly concurrency?: number;
}

/**
 * Builds the Kafka handler from its dependencies.
 *
 * @example
 * ```ts
 * const handler = createPaymentHandler(deps);
 * await handler(mskEvent, context);
 * ```
 */
export function createPaymentHandler(deps: PaymentDependencies) {
  return edgeHandler<unknown, KafkaBatchResponse>(
    {
      logger: deps.logger,
      metrics: deps.metrics ?? createMetrics('payment'),
    },
    (event, context) =>
      createKafkaConsumer({
        name: 'payment',
        schema: PaymentInputParser,
        // One schema for the events of every topic consumed: each only on its own.
        topicOf: (event) => TOPIC_OF[event.eventType],
        logger: deps.logger,
        ...(deps.metrics ? { metrics: deps.metrics } : {}),
        ...(deps.concurrency ? { concurrency: deps.concurrency } : {}),
        publisher: deps.publisher,
        deadLetters: {
          send: (topic, message) => deps.publisher.send(topic, [message]),
        },
        handle: (record) => {
          const event = record.value;
          switch (event.eventType) {
            case 'OrderPlaced':
              return chargePayment(deps, {
                placed: event,
                record,
                remainingTimeMs: () => context.getRemainingTimeInMillis(),
              });
            case 'OrderCancelled':
              return refundPayment(deps, { cancelled: event, record });
            case 'PaymentOrphaned':
              return refundOrphanCharge(deps, { orphaned: event, record });
          }
        },
      })(event, context),
  );
}

const flag = z
  .enum(['true', 'false'])
  .default('false')
  .transform((v) => v === 'true');

/** Payment settings from the environment; every one has a default. */
export const PaymentSettings = z
  .object({
    PAYMENT_LIMIT: z.coerce.number().positive().optional(),
    PAYMENT_FRAUD_THRESHOLD: z.coerce.number().positive().optional(),
    GATEWAY_DECLINE_PREFIX: z.string().min(1).optional(),
    GATEWAY_TRANSIENT_PREFIX: z.string().min(1).optional(),
    GATEWAY_TRANSIENT_FAILURES: z.coerce.number().int().min(0).optional(),
    GATEWAY_DECLINE_ALL: flag,
    GATEWAY_FAIL_ALL: flag,
    GATEWAY_SLOW_PREFIX: z.string().min(1).optional(),
    GATEWAY_SLOW_MS: z.coerce.number().int().min(0).max(50_000).optional(),
    PAYMENT_RETRY_ATTEMPTS: z.coerce.number().int().min(1).default(3),
    PAYMENT_RETRY_BASE_MS: z.coerce.number().int().min(0).default(200),
  })
  .transform((env) => ({
    rules: {
      ...DEFAULT_PAYMENT_RULES,
      ...(env.PAYMENT_LIMIT ? { amountLimit: env.PAYMENT_LIMIT } : {}),
      ...(env.PAYMENT_FRAUD_THRESHOLD
        ? { fraudThreshold: env.PAYMENT_FRAUD_THRESHOLD }
        : {}),
    },
    gateway: {
      declineOrderIdPrefix:
        env.GATEWAY_DECLINE_PREFIX ??
        DEFAULT_GATEWAY_SETTINGS.declineOrderIdPrefix,
      transientOrderIdPrefix:
        env.GATEWAY_TRANSIENT_PREFIX ??
        DEFAULT_GATEWAY_SETTINGS.transientOrderIdPrefix,
      transientFailures:
        env.GATEWAY_TRANSIENT_FAILURES ??
        DEFAULT_GATEWAY_SETTINGS.transientFailures,
      declineAll: env.GATEWAY_DECLINE_ALL,
      failAll: env.GATEWAY_FAIL_ALL,
      slowOrderIdPrefix:
        env.GATEWAY_SLOW_PREFIX ?? DEFAULT_GATEWAY_SETTINGS.slowOrderIdPrefix,
      slowChargeMs:
        env.GATEWAY_SLOW_MS ?? DEFAULT_GATEWAY_SETTINGS.slowChargeMs,
    } satisfies GatewaySettings,
    retry: {
      maxAttempts: env.PAYMENT_RETRY_ATTEMPTS,
      baseDelayMs: env.PAYMENT_RETRY_BASE_MS,
      maxDelayMs: 5_000,
    },
  }));

function wirePayment(): PaymentDependencies {
  const { settings, db, publisher, clock, logger } = wireFromEnvironment({
    service: 'payment',
    store: 'consumer',
    kafka: 'consumer',
    settings: {
      paymentsTable: tableName(TABLES.payments.envVar),
      payment: PaymentSettings,
      concurrency: ConsumerConcurrency,
    },
  });
  return {
    payments: createPaymentRepository(db, settings.paymentsTable),
    publisher,
    gateway: createSimulatedGateway(settings.payment.gateway, clock),
    rules: settings.payment.rules,
    clock,
    logger,
    metrics: createMetrics('payment'),
    ...(settings.concurrency ? { concurrency: settings.concurrency } : {}),
    retry: {
      ...settings.payment.retry,
      sleep: (ms) => sleep(ms),
      random: Math.random,
    },
  };
}

/** The Lambda handler: dependencies built once per container, at cold start. */
export const handler = createPaymentHandler(wirePayment());
