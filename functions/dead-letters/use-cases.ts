/**
 * What can be done with dead letters (docs/domain.md section 7), over the repository
 * and the publisher it is given: receive one, redrive one or every due one, and the
 * operators' list, show, discard and redrive (one, with an optional correction, or
 * many). The entry points of functions/dlq-reprocessor.ts only parse, call one of
 * these, and map the result.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import type * as z from 'zod';
import {
  DeadLetterNotFoundError,
  type DeadLetterPage,
  type DeadLetterQuery,
  type DeadLetterRepository,
  DeadLetterStateError,
} from '#commons/dead-letter-repository.ts';
import type { EventPublisher } from '#commons/kafka-publisher.ts';
import {
  correctionOf,
  type DeadLetter,
  type DeadLetterAction,
  type DeadLetterStatus,
  type ReceivedDeadLetter,
} from '#domain/dead-letter.ts';
import { DomainEvent, TOPICS } from '#domain/events.ts';
import {
  decideRedrive,
  type RedrivePolicy,
  redriveHeaders,
} from '#domain/redrive-policy.ts';

/** What the reprocessor needs; wired from the environment in functions/dlq-reprocessor.ts. */
export interface ReprocessorDependencies {
  readonly deadLetters: DeadLetterRepository;
  readonly publisher: EventPublisher;
  readonly policy: RedrivePolicy;
  readonly now: () => Date;
  readonly random: () => number;
  readonly logger: Logger;
  /** Batch metrics (records consumed, dead-lettered, failed) per topic. */
  readonly metrics?: Metrics;
  /**
   * Records of different keys of one partition handled at once (the consumer's
   * `concurrency`; its default when absent). From `CONSUMER_CONCURRENCY`.
   */
  readonly concurrency?: number;
}

/** A corrected value of one of our own topics that breaks the event contract. */
export class InvalidCorrectionError extends Error {
  /** Why the value breaks the contract. */
  readonly issues: z.ZodError;
  constructor(message: string, issues: z.ZodError, options?: ErrorOptions) {
    super(message, options);
    this.name = 'InvalidCorrectionError';
    this.issues = issues;
  }
}

/**
 * Stores a dead letter as received, with the policy's decision: SCHEDULED (automatic
 * redrive at `redriveAt`) or PARKED (for an operator). Storing twice is a no-op. A
 * letter that came back after a redrive is first added to its predecessor's
 * `redrivenTo` (idempotent, so a redelivery after a crash in between completes it).
 */
export async function receiveDeadLetter(
  deps: ReprocessorDependencies,
  letter: ReceivedDeadLetter,
): Promise<'saved' | 'exists'> {
  const now = deps.now();
  const decision = decideRedrive(letter, deps.policy, now, deps.random);
  const at = now.toISOString();
  if (letter.redrivenFrom !== null) {
    await linkToPredecessor(deps, letter.redrivenFrom, letter.id);
  }
  const stored: DeadLetter = {
    ...letter,
    redrivenTo: [],
    status: decision.status,
    redriveAt: decision.status === 'SCHEDULED' ? decision.redriveAt : null,
    history: [
      { at, action: 'RECEIVED', by: 'dlq-reprocessor', note: null },
      {
        at,
        action: decision.status,
        by: 'dlq-reprocessor',
        note: decision.note,
      },
    ],
  };
  const result = await deps.deadLetters.save(stored);
  if (
    result === 'saved' &&
    stored.redriveAt !== null &&
    Date.parse(stored.redriveAt) <= now.getTime()
  ) {
    // Due at once (no backoff configured): no need to wait for the schedule.
    await redriveDeadLetter(deps, stored, 'dlq-reprocessor');
  }
  deps.logger.debug(
    result === 'saved' ? 'dead letter stored' : 'dead letter seen before',
    {
      deadLetterId: letter.id,
      topic: letter.original.topic,
      status: stored.status,
      correlationId: letter.correlationId,
    },
  );
  return result;
}

/**
 * Links a letter to the one it was redriven from. A predecessor that is not stored (a
 * `redriven-from` header from elsewhere, or a letter of another table) is logged, not an
 * error: the new letter is stored all the same, with its `redrivenFrom`.
 */
async function linkToPredecessor(
  deps: ReprocessorDependencies,
  from: string,
  to: string,
): Promise<void> {
  try {
    await deps.deadLetters.linkRedrive(from, to);
  } catch (error) {
    if (!(error instanceof DeadLetterNotFoundError)) throw error;
    deps.logger.warn('redriven from a dead letter that is not stored', {
      deadLetterId: to,
      redrivenFrom: from,
    });
  }
}

/** Statuses a dead letter can be redriven (or discarded) from. */
const REDRIVABLE: readonly DeadLetterStatus[] = ['SCHEDULED', 'PARKED'];

/**
 * Sends a dead letter's record back to its original topic (original key, headers with
 * `redrive-attempt` incremented, the correlation id kept and the lineage headers set;
 * the value corrected when given), then marks it REDRIVEN, with the correction and the
 * outcome in the history entry; the stored original is never changed. Sending first: a
 * crash in between redrives it once more, which consumers tolerate, rather than marking
 * a record redriven that never was.
 */
export async function redriveDeadLetter(
  deps: ReprocessorDependencies,
  letter: DeadLetter,
  by: string,
  options: { value?: Buffer; note?: string | null } = {},
): Promise<DeadLetter> {
  if (!REDRIVABLE.includes(letter.status)) {
    throw new DeadLetterStateError(
      `dead letter ${letter.id} is ${letter.status}; only ${REDRIVABLE.join(' or ')} ones can be redriven`,
      letter.status,
    );
  }
  const { original } = letter;
  const value =
    options.value ??
    (original.value === null ? null : Buffer.from(original.value, 'base64'));
  if (value === null) {
    throw new DeadLetterStateError(
      `dead letter ${letter.id} has no value to redrive; send a corrected value`,
      letter.status,
    );
  }
  const headers: Record<string, Buffer> = {};
  for (const header of redriveHeaders(letter)) {
    headers[header.key] = header.value;
  }
  await deps.publisher.send(original.topic, [
    {
      key: original.key === null ? null : Buffer.from(original.key, 'base64'),
      value,
      headers,
    },
  ]);
  const attempt = letter.attempt + 1;
  const action: DeadLetterAction = {
    at: deps.now().toISOString(),
    action: 'REDRIVEN',
    by,
    note: options.note ?? null,
    correction: options.value ? correctionOf(options.value) : null,
    outcome: { result: 'SENT', topic: original.topic, attempt },
  };
  return deps.deadLetters.transition(letter.id, REDRIVABLE, {
    status: 'REDRIVEN',
    attempt,
    action,
  });
}

/**
 * Redrives every SCHEDULED dead letter that has come due, up to `limit`; one that fails
 * stays SCHEDULED and is tried again at the next run.
 */
export async function redriveDue(
  deps: ReprocessorDependencies,
  limit = 100,
): Promise<{ redriven: number; failed: number }> {
  const due = await deps.deadLetters.listDue(deps.now(), limit);
  let redriven = 0;
  let failed = 0;
  for (const letter of due) {
    try {
      await redriveDeadLetter(deps, letter, 'dlq-reprocessor (schedule)');
      redriven += 1;
    } catch (error) {
      failed += 1;
      deps.logger.warn('redrive failed; it stays scheduled', {
        deadLetterId: letter.id,
        error: error as Error,
      });
    }
  }
  if (due.length > 0)
    deps.logger.info('due dead letters', { redriven, failed });
  return { redriven, failed };
}

/** A page of stored dead letters, filtered by status and topic. */
export function listDeadLetters(
  deps: ReprocessorDependencies,
  query: DeadLetterQuery,
): Promise<DeadLetterPage> {
  return deps.deadLetters.list(query);
}

/** The stored dead letter `id`; throws {@link DeadLetterNotFoundError} if none. */
export async function showDeadLetter(
  deps: ReprocessorDependencies,
  id: string,
): Promise<DeadLetter> {
  const letter = await deps.deadLetters.get(id);
  if (!letter) throw new DeadLetterNotFoundError(`no dead letter ${id}`);
  return letter;
}

/** Our own topics' events must still satisfy the contract after a correction. */
const KNOWN_TOPICS = new Set<string>(Object.values(TOPICS));

/**
 * A corrected value as the bytes to send: JSON, checked against the event contract
 * when the topic is one of ours ({@link InvalidCorrectionError} if it breaks it).
 */
function correctedValue(topic: string, value: unknown): Buffer {
  if (KNOWN_TOPICS.has(topic)) {
    const result = DomainEvent.safeParse(value);
    if (!result.success) {
      throw new InvalidCorrectionError(
        'The corrected value breaks the event contract',
        result.error,
      );
    }
  }
  return Buffer.from(JSON.stringify(value), 'utf8');
}

/**
 * An operator's redrive of the stored dead letter `id`, its value replaced by
 * `correction.value` (any JSON) when that is given, as {@link redriveDeadLetter}.
 */
export async function redriveWithCorrection(
  deps: ReprocessorDependencies,
  id: string,
  by: string,
  correction: { value?: unknown; note: string | null },
): Promise<DeadLetter> {
  const letter = await showDeadLetter(deps, id);
  const value =
    correction.value !== undefined
      ? correctedValue(letter.original.topic, correction.value)
      : undefined;
  return redriveDeadLetter(deps, letter, by, {
    ...(value ? { value } : {}),
    note: correction.note,
  });
}

/** What became of one dead letter of a redrive of many. */
export type RedriveManyResult =
  | { readonly id: string; readonly status: DeadLetterStatus }
  | {
      readonly id: string;
      /** Not found, or not in a status it can be redriven from. */
      readonly refused: DeadLetterNotFoundError | DeadLetterStateError;
    };

/**
 * An operator's redrive of many stored dead letters, one after the other: each one's
 * new status, or why it was refused; any other error stops the batch.
 */
export async function redriveDeadLetters(
  deps: ReprocessorDependencies,
  ids: readonly string[],
  by: string,
  note: string | null,
): Promise<RedriveManyResult[]> {
  const results: RedriveManyResult[] = [];
  for (const id of ids) {
    try {
      const letter = await redriveDeadLetter(
        deps,
        await showDeadLetter(deps, id),
        by,
        { note },
      );
      results.push({ id, status: letter.status });
    } catch (error) {
      if (
        !(error instanceof DeadLetterNotFoundError) &&
        !(error instanceof DeadLetterStateError)
      ) {
        throw error;
      }
      results.push({ id, refused: error });
    }
  }
  return results;
}

/** An operator's discard of the stored dead letter `id`, with the reason. */
export async function discardDeadLetter(
  deps: ReprocessorDependencies,
  id: string,
  by: string,
  reason: string,
): Promise<DeadLetter> {
  const letter = await showDeadLetter(deps, id);
  return deps.deadLetters.transition(letter.id, REDRIVABLE, {
    status: 'DISCARDED',
    action: {
      at: deps.now().toISOString(),
      action: 'DISCARDED',
      by,
      note: reason,
    },
  });
}
