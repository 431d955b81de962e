/**
 * The payment function's Kafka handler (docs/domain.md section 6):
 * - OrderPlaced -> exactly one charge per order (a conditional write decides), then
 *   PaymentProcessed or PaymentFailed;
 * - OrderCancelled -> a refund, once, for a charged order (PaymentRefunded); for an
 *   unpaid order, a record that no charge may happen later;
 * - PaymentOrphaned -> the same one refund, for a charge whose order does not exist.
 * Outcome events get ids derived from the payment, and are published once: a
 * redelivery after a crash between recording and publishing publishes the same event.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import * as z from 'zod';
import {
  ConsumerConcurrency,
  dynamoDbConfig,
  KafkaConfig,
  kafkaBudget,
  loadConfig,
  tableName,
} from '#commons/config.ts';
import { createDocumentClient } from '#commons/dynamodb.ts';
import {
  type ConsumedRecord,
  createKafkaConsumer,
} from '#commons/kafka-consumer.ts';
import {
  createKafkaPublisher,
  type EventPublisher,
} from '#commons/kafka-publisher.ts';
import type { KafkaBatchResponse } from '#commons/msk-event.ts';
import { createLogger, createMetrics } from '#commons/observability.ts';
import {
  ChargeInProgressError,
  createPaymentRepository,
  type Payment,
  type PaymentRepository,
} from '#commons/payment-repository.ts';
import { TABLES } from '#commons/table-specs.ts';
import {
  type Clock,
  newEvent,
  type OrderCancelled,
  type OrderPlaced,
  type PaymentFailed,
  type PaymentOrphaned,
  type PaymentProcessed,
  TOPIC_OF,
} from '#domain/events.ts';
import { PoisonRecordError } from '#domain/failures.ts';
import { PaymentInputParser } from '#domain/fast-accept.ts';
import { deterministicUuid } from '#domain/ids.ts';
import {
  compensationFor,
  createSimulatedGateway,
  DEFAULT_GATEWAY_SETTINGS,
  DEFAULT_PAYMENT_RULES,
  evaluatePayment,
  GATEWAY_RETRY_MESSAGE,
  type GatewaySettings,
  type PaymentGateway,
  type PaymentRules,
} from '#domain/payment.ts';
import { type RetryOptions, retryTransient } from '#domain/retry.ts';

/** What the handler needs; wired from the environment below. */
export interface PaymentDependencies {
  readonly payments: PaymentRepository;
  readonly publisher: EventPublisher;
  readonly gateway: PaymentGateway;
  readonly rules: PaymentRules;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Batch metrics (records consumed, dead-lettered, failed) per topic. */
  readonly metrics?: Metrics;
  /** In-invocation retries of transient gateway failures (time comes from the context). */
  readonly retry: Omit<RetryOptions, 'remainingTimeMs'>;
  /**
   * Records of different orders of one partition handled at once (the consumer's
   * `concurrency`; its default when absent). From `CONSUMER_CONCURRENCY`.
   */
  readonly concurrency?: number;
}

/** The payment id of an order: derived from it, so a retry reuses it. */
export function paymentIdOf(orderId: string): string {
  return deterministicUuid('payment', orderId);
}

/** A clock whose ids are derived from `parts`: the same event on every retry. */
function derivedClock(clock: Clock, ...parts: string[]): Clock {
  return { now: clock.now, uuid: () => deterministicUuid(...parts) };
}

function outcomeEvent(
  payment: Payment,
  placed: OrderPlaced,
  clock: Clock,
): PaymentProcessed | PaymentFailed | undefined {
  const causation = {
    correlationId: placed.correlationId,
    causationId: placed.eventId,
  };
  const ids = derivedClock(clock, 'PaymentOutcome', placed.data.orderId);
  if (payment.status === 'CHARGED') {
    return newEvent(
      'PaymentProcessed',
      {
        orderId: payment.orderId,
        paymentId: payment.paymentId,
        transactionId: payment.transactionId,
        amount: payment.amount,
      },
      causation,
      ids,
    );
  }
  if (payment.status === 'REJECTED') {
    return newEvent(
      'PaymentFailed',
      {
        orderId: payment.orderId,
        paymentId: payment.paymentId,
        reason: payment.reason,
        detail: payment.detail,
      },
      causation,
      ids,
    );
  }
  return undefined;
}

/**
 * Charges an order once. Store round trips: a rule rejection is one conditional
 * write (REJECTED at once, no claim); a charge is a claim and the outcome, with the
 * gateway between; a redelivery of a decided payment is one failed conditional
 * write, which returns the stored payment. The outcome event goes out with the
 * batch's one publish, and `markPublished` runs after it, side by side with the
 * other records' (docs/performance.md section "Round trips of a payment").
 */
async function charge(
  deps: PaymentDependencies,
  record: ConsumedRecord<OrderPlaced>,
  context: Context,
): Promise<void> {
  const placed = record.value;
  const { orderId, total } = placed.data;
  // Pure and deterministic: the same verdict on every delivery.
  const verdict = evaluatePayment(placed.data, deps.rules);
  const started = await deps.payments.startPayment(
    orderId,
    paymentIdOf(orderId),
    total,
    verdict.decision === 'reject'
      ? { status: 'REJECTED', reason: verdict.reason, detail: verdict.detail }
      : { status: 'CLAIMED' },
    deps.clock.now(),
  );
  if (started.step === 'voided') {
    record.debug('order was cancelled before payment: no charge', { orderId });
    return;
  }
  let payment = started.step === 'decided' ? started.payment : undefined;
  if (started.step === 'claimed' || payment?.status === 'CLAIMED') {
    if (verdict.decision === 'reject') {
      payment = await deps.payments.recordOutcome(
        orderId,
        { status: 'REJECTED', reason: verdict.reason, detail: verdict.detail },
        deps.clock.now(),
      );
    } else {
      const result = await retryTransient(
        () => deps.gateway.charge({ orderId, amount: total }),
        {
          ...deps.retry,
          remainingTimeMs: () => context.getRemainingTimeInMillis(),
          // Each transient failure shows, even when a later attempt succeeds.
          onRetry: (error, attempt, delayMs) =>
            record.logger.warn(GATEWAY_RETRY_MESSAGE, {
              orderId,
              attempt,
              delayMs,
              reason: error instanceof Error ? error.message : String(error),
            }),
        },
      );
      payment = await deps.payments.recordOutcome(
        orderId,
        result.outcome === 'approved'
          ? { status: 'CHARGED', transactionId: result.transactionId }
          : {
              status: 'REJECTED',
              reason: 'GATEWAY_DECLINED',
              detail: result.detail,
            },
        deps.clock.now(),
      );
    }
  }
  if (!payment || payment.publishedAt) {
    record.debug('payment already decided and published', { orderId });
    return;
  }
  const event = outcomeEvent(payment, placed, deps.clock);
  if (!event) return;
  record.publishWithBatch([event], () =>
    deps.payments.markPublished(orderId, 'payment', deps.clock.now()),
  );
  record.debug('payment decided', { orderId, outcome: event.eventType });
}

async function refund(
  deps: PaymentDependencies,
  record: ConsumedRecord<OrderCancelled>,
): Promise<void> {
  const cancelled = record.value;
  const { orderId } = cancelled.data;
  const payment = await deps.payments.getPayment(orderId);
  if (!payment) {
    const result = await deps.payments.voidUnpaid(
      orderId,
      cancelled.data.reason,
      deps.clock.now(),
    );
    if (result !== 'already-charged') {
      record.debug('unpaid order cancelled: no charge may follow', { orderId });
      return;
    }
    return refund(deps, record);
  }
  if (payment.status === 'CLAIMED') {
    throw new ChargeInProgressError(
      `the charge of order ${orderId} is still in progress; the refund waits`,
    );
  }
  if (payment.status !== 'CHARGED') {
    record.debug('nothing to refund', { orderId, status: payment.status });
    return;
  }
  await refundCharge(deps, record, payment, cancelled);
}

/**
 * Refunds a CHARGED payment once (the REFUND item decides), then publishes
 * PaymentRefunded once (`publishedAt`). Shared by cancellations and by
 * compensations of charges whose order does not exist.
 */
async function refundCharge(
  deps: PaymentDependencies,
  record: ConsumedRecord<unknown>,
  payment: Extract<Payment, { status: 'CHARGED' }>,
  cause: OrderCancelled | PaymentOrphaned,
): Promise<void> {
  const { orderId } = payment;
  const refundId = deterministicUuid('refund', orderId);
  const claim = await deps.payments.claimRefund(
    orderId,
    refundId,
    payment.amount,
    deps.clock.now(),
  );
  let stored =
    claim === 'claimed' ? undefined : await deps.payments.getRefund(orderId);
  if (claim === 'claimed' || stored?.status === 'CLAIMED') {
    await deps.gateway.refund({
      orderId,
      paymentId: payment.paymentId,
      amount: payment.amount,
    });
    stored = await deps.payments.recordRefund(
      orderId,
      refundId,
      deps.clock.now(),
    );
  }
  if (!stored || stored.publishedAt) return;
  record.publishWithBatch(
    [
      newEvent(
        'PaymentRefunded',
        {
          orderId,
          paymentId: payment.paymentId,
          refundId: stored.refundId,
          amount: stored.amount,
        },
        { correlationId: cause.correlationId, causationId: cause.eventId },
        derivedClock(deps.clock, 'PaymentRefunded', orderId),
      ),
    ],
    () => deps.payments.markPublished(orderId, 'refund', deps.clock.now()),
  );
  record.debug('refunded', { orderId, refundId, cause: cause.eventType });
}

/**
 * Compensates a charge whose order does not exist (docs/domain.md section 6): the
 * order function saw its PaymentProcessed, found no order, and published
 * PaymentOrphaned. The charge is refunded once, through the same REFUND item a
 * cancellation uses, so the two can never refund twice.
 */
async function compensate(
  deps: PaymentDependencies,
  record: ConsumedRecord<PaymentOrphaned>,
): Promise<void> {
  const orphaned = record.value;
  const { orderId } = orphaned.data;
  const payment = await deps.payments.getPayment(orderId);
  const decision = compensationFor(payment, orphaned.data);
  switch (decision.action) {
    case 'reject':
      throw new PoisonRecordError(
        `PaymentOrphaned ${orphaned.eventId}: ${decision.detail}`,
      );
    case 'wait':
      throw new ChargeInProgressError(
        `${decision.detail}; the compensation waits`,
      );
    case 'none':
      record.debug('orphan payment: nothing to refund', {
        orderId,
        detail: decision.detail,
      });
      return;
  }
  // compensationFor refunds only a CHARGED payment; this narrows the type.
  if (payment?.status !== 'CHARGED') return;
  record.logger.warn('refunding a charge whose order does not exist', {
    orderId,
    paymentId: payment.paymentId,
  });
  await refundCharge(deps, record, payment, orphaned);
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
  return middy<unknown, KafkaBatchResponse>()
    .use(injectLambdaContext(deps.logger))
    .use(logMetrics(deps.metrics ?? createMetrics('payment')))
    .handler((event, context) =>
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
          switch (record.value.eventType) {
            case 'OrderPlaced':
              return charge(
                deps,
                record as ConsumedRecord<OrderPlaced>,
                context,
              );
            case 'OrderCancelled':
              return refund(deps, record as ConsumedRecord<OrderCancelled>);
            case 'PaymentOrphaned':
              return compensate(
                deps,
                record as ConsumedRecord<PaymentOrphaned>,
              );
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

function wireFromEnvironment(): PaymentDependencies {
  const config = loadConfig({
    kafka: KafkaConfig,
    dynamodb: dynamoDbConfig('consumer'),
    kafkaBudget: kafkaBudget('consumer'),
    paymentsTable: tableName(TABLES.payments.envVar),
    payment: PaymentSettings,
    concurrency: ConsumerConcurrency,
  });
  const logger = createLogger('payment');
  const clock: Clock = { now: () => new Date(), uuid: randomUUID };
  return {
    payments: createPaymentRepository(
      createDocumentClient(config.dynamodb),
      config.paymentsTable,
    ),
    publisher: createKafkaPublisher(config.kafka, {
      logger,
      budget: config.kafkaBudget,
    }),
    gateway: createSimulatedGateway(config.payment.gateway, clock),
    rules: config.payment.rules,
    clock,
    logger,
    metrics: createMetrics('payment'),
    ...(config.concurrency ? { concurrency: config.concurrency } : {}),
    retry: {
      ...config.payment.retry,
      sleep: (ms) => sleep(ms),
      random: Math.random,
    },
  };
}

/** The Lambda handler: dependencies built once per container, at cold start. */
export const handler = createPaymentHandler(wireFromEnvironment());
