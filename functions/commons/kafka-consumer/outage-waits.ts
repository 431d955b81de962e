/**
 * Waiting out an outage inside the invocation (docs/broker-outages.md): a try that
 * failed because Kafka or the store is down is tried again while the invocation
 * has time for another wait and try.
 */
import { setTimeout as sleepFor } from 'node:timers/promises';
import type { Logger } from '@aws-lambda-powertools/logger';
import {
  DEFAULT_OUTAGE_POLICY,
  nextOutageDelay,
  type OutagePolicy,
} from '#domain/outage-policy.ts';
import { StoreUnavailableError } from '../dynamodb.ts';
import { KafkaUnavailableError } from '../kafka-publisher.ts';

/**
 * How the consumer waits out an outage inside an invocation; time and randomness are
 * injectable for tests.
 *
 * @example
 * ```ts
 * const outageWait: OutageWaitOptions = { sleep: async () => {}, random: () => 1 };
 * ```
 */
export interface OutageWaitOptions {
  readonly policy?: OutagePolicy;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly random?: () => number;
  /** Which failures mean a dependency is down. Default {@link isDependencyOutage}. */
  readonly isOutage?: (error: unknown) => boolean;
}

/** The part of the Lambda context the consumer reads: the time left. */
export interface InvocationClock {
  getRemainingTimeInMillis(): number;
}

/**
 * True when the error, or an error it was caused by, says that Kafka or the store
 * could not be reached: a failure that time cures, unlike a bug or a conflict.
 *
 * @example
 * ```ts
 * isDependencyOutage(new DeadLetterWriteError('x', { cause: kafkaDown })); // true
 * ```
 */
export function isDependencyOutage(error: unknown): boolean {
  const seen = new Set<unknown>();
  for (let e = error; e instanceof Error && !seen.has(e); e = e.cause) {
    seen.add(e);
    if (
      e instanceof KafkaUnavailableError ||
      e instanceof StoreUnavailableError
    ) {
      return true;
    }
  }
  return false;
}

/** One try at a record (or at the batch's publish): how it ended, and the error. */
export type Tried =
  | { outcome: 'consumed' | 'dead-lettered' }
  | { outcome: 'failed'; error: unknown; poison: unknown };

/** Runs `work` as one try: failed with its error when it throws. */
export async function attempt(work: () => Promise<unknown>): Promise<Tried> {
  try {
    await work();
    return { outcome: 'consumed' };
  } catch (error) {
    return { outcome: 'failed', error, poison: undefined };
  }
}

/**
 * Tries `once` until it does not fail, or fails for another reason than an outage,
 * or the invocation has no time left for another wait and try
 * (docs/broker-outages.md). The last try, and how many there were.
 */
export type WithOutageWaits = (
  once: () => Promise<Tried>,
  context: InvocationClock | undefined,
  logger: () => Logger,
  again: string,
) => Promise<{ tried: Tried; tries: number }>;

/**
 * The consumer's {@link WithOutageWaits}: its policy, sleep, randomness and outage
 * test from `options` (defaults: docs/broker-outages.md, real timers), its clock
 * `now`.
 */
export function outageWaits(
  options: OutageWaitOptions | undefined,
  now: () => Date,
): WithOutageWaits {
  const wait = {
    policy: options?.policy ?? DEFAULT_OUTAGE_POLICY,
    sleep: options?.sleep ?? ((ms: number) => sleepFor(ms)),
    random: options?.random ?? Math.random,
    isOutage: options?.isOutage ?? isDependencyOutage,
  };
  return async (once, context, logger, again) => {
    let longestTryMs = 0;
    for (let failures = 1; ; failures += 1) {
      const started = now().getTime();
      const tried = await once();
      if (tried.outcome !== 'failed') return { tried, tries: failures };
      longestTryMs = Math.max(longestTryMs, now().getTime() - started);
      const delayMs =
        context && wait.isOutage(tried.error)
          ? nextOutageDelay(
              wait.policy,
              {
                failures,
                longestTryMs,
                remainingMs: context.getRemainingTimeInMillis(),
              },
              wait.random,
            )
          : undefined;
      if (delayMs === undefined) return { tried, tries: failures };
      logger().warn(again, { error: tried.error, tries: failures, delayMs });
      await wait.sleep(delayMs);
    }
  };
}
