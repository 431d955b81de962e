/**
 * The dead-letter reprocessor (docs/domain.md section 7), one function with three entry
 * points, wired here from the environment over the use cases of
 * functions/dead-letters/use-cases.ts:
 * - `handler`: Kafka, on every `<topic>.dead-letter`: stores each dead letter, whether a
 *   consumer wrote it or the event source mapping's on-failure destination did, and
 *   schedules the retryable ones for an automatic redrive with backoff
 *   (functions/dead-letters/receive.ts);
 * - `scheduledHandler`: on a schedule, redrives what has come due
 *   (functions/dead-letters/scheduled-redrive.ts);
 * - `adminHandler`: the operators' HTTP routes (never public; IAM-authorized on AWS):
 *   list, show, redrive (one, optionally corrected, or many) and discard
 *   (functions/dead-letters/admin-api.ts).
 * Nothing is ever deleted or overwritten: every change is a status with a line in the
 * history; the original record stays as received, a corrected value is kept in the
 * history entry of the redrive that sent it, and a record that fails again after a
 * redrive comes back as a new letter linked to the one it was redriven from.
 */
import * as z from 'zod';
import { ConsumerConcurrency, tableName } from '#commons/config.ts';
import { createDeadLetterRepository } from '#commons/dead-letter-repository.ts';
import { createMetrics } from '#commons/observability.ts';
import { TABLES } from '#commons/table-specs.ts';
import { wireFromEnvironment } from '#commons/wiring.ts';
import { DEFAULT_REDRIVE_POLICY } from '#domain/redrive-policy.ts';
import { createAdminHandler } from './dead-letters/admin-api.ts';
import { createReprocessorHandler } from './dead-letters/receive.ts';
import { createScheduledHandler } from './dead-letters/scheduled-redrive.ts';
import type { ReprocessorDependencies } from './dead-letters/use-cases.ts';

export { createAdminHandler } from './dead-letters/admin-api.ts';
export { createReprocessorHandler } from './dead-letters/receive.ts';
export { createScheduledHandler } from './dead-letters/scheduled-redrive.ts';
export type { ReprocessorDependencies } from './dead-letters/use-cases.ts';

/** Redrive settings from the environment; every one has a default. */
export const RedriveSettings = z
  .object({
    REDRIVE_MAX_ATTEMPTS: z.coerce
      .number()
      .int()
      .min(0)
      .default(DEFAULT_REDRIVE_POLICY.maxAttempts),
    REDRIVE_BASE_DELAY_MS: z.coerce
      .number()
      .int()
      .min(0)
      .default(DEFAULT_REDRIVE_POLICY.baseDelayMs),
    REDRIVE_MAX_DELAY_MS: z.coerce
      .number()
      .int()
      .min(0)
      .default(DEFAULT_REDRIVE_POLICY.maxDelayMs),
  })
  .transform((env) => ({
    maxAttempts: env.REDRIVE_MAX_ATTEMPTS,
    baseDelayMs: env.REDRIVE_BASE_DELAY_MS,
    maxDelayMs: env.REDRIVE_MAX_DELAY_MS,
  }));

function wireReprocessor(): ReprocessorDependencies {
  // The `api` store budget, and the publisher's default budget (no
  // KAFKA_*_TIMEOUT_MS override), as this function has always had.
  const { settings, db, publisher, logger } = wireFromEnvironment({
    service: 'dlq-reprocessor',
    store: 'api',
    settings: {
      deadLettersTable: tableName(TABLES.deadLetters.envVar),
      policy: RedriveSettings,
      concurrency: ConsumerConcurrency,
    },
  });
  return {
    deadLetters: createDeadLetterRepository(db, settings.deadLettersTable),
    publisher,
    policy: settings.policy,
    now: () => new Date(),
    random: Math.random,
    logger,
    metrics: createMetrics('dlq-reprocessor'),
    ...(settings.concurrency ? { concurrency: settings.concurrency } : {}),
  };
}

const dependencies = wireReprocessor();

/** Kafka: every dead-letter topic. */
export const handler = createReprocessorHandler(dependencies);
/** Schedule: redrive what has come due. */
export const scheduledHandler = createScheduledHandler(dependencies);
/** Admin HTTP routes. */
export const adminHandler = createAdminHandler(dependencies);
