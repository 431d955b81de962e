/**
 * What the dead-letter reprocessor does with a dead letter it has just stored
 * (docs/domain.md section 7): redrive transient failures automatically with exponential
 * backoff up to a limit, park everything else for an operator.
 */
import {
  type DeadLetter,
  LINEAGE_HEADERS,
  type RawHeader,
  type ReceivedDeadLetter,
} from './dead-letter.ts';
import { HEADERS } from './events.ts';
import { backoffDelay } from './retry.ts';

/** How often and how far apart transient dead letters are redriven automatically. */
export interface RedrivePolicy {
  /** Automatic redrives before a transient dead letter is parked. */
  readonly maxAttempts: number;
  /** The delay ceiling before the first redrive; it doubles with each attempt. */
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
}

/**
 * Five redrives, starting at about a minute and capped at an hour, so a broker or
 * store outage of a few hours is bridged without an operator.
 *
 * @example
 * ```ts
 * decideRedrive(letter, DEFAULT_REDRIVE_POLICY, clock.now(), Math.random);
 * ```
 */
export const DEFAULT_REDRIVE_POLICY: RedrivePolicy = {
  maxAttempts: 5,
  baseDelayMs: 60_000,
  maxDelayMs: 3_600_000,
};

/** The reprocessor's decision; `note` goes into the dead letter's history. */
export type RedriveDecision =
  | { status: 'SCHEDULED'; redriveAt: string; note: string }
  | { status: 'PARKED'; note: string };

/**
 * Decides between an automatic redrive and parking. The delay before redrive number
 * `attempt + 1` is `min(maxDelayMs, baseDelayMs * 2^attempt)` with equal jitter
 * (between half and all of it).
 *
 * @example
 * ```ts
 * const decision = decideRedrive(letter, DEFAULT_REDRIVE_POLICY, now, Math.random);
 * if (decision.status === 'SCHEDULED') schedule(letter.id, decision.redriveAt);
 * ```
 */
export function decideRedrive(
  letter: ReceivedDeadLetter,
  policy: RedrivePolicy,
  now: Date,
  random: () => number,
): RedriveDecision {
  if (letter.error.class === 'poison') {
    return { status: 'PARKED', note: 'poison: waits for an operator' };
  }
  if (letter.attempt >= policy.maxAttempts) {
    return {
      status: 'PARKED',
      note: `transient, but out of automatic redrives (${letter.attempt} of ${policy.maxAttempts} done): waits for an operator`,
    };
  }
  const delay = backoffDelay(
    letter.attempt,
    policy.baseDelayMs,
    policy.maxDelayMs,
    random,
  );
  const redriveAt = new Date(now.getTime() + delay).toISOString();
  return {
    status: 'SCHEDULED',
    redriveAt,
    note: `transient: redrive ${letter.attempt + 1} of ${policy.maxAttempts} at ${redriveAt}`,
  };
}

/** Headers a redrive sets itself; the original record's copies are dropped. */
const SET_BY_REDRIVE: ReadonlySet<string> = new Set([
  HEADERS.redriveAttempt,
  LINEAGE_HEADERS.redrivenFrom,
  LINEAGE_HEADERS.lineage,
]);

/**
 * The headers of a redriven record: the original ones, in order (so `correlation-id`
 * and `event-type` are kept), then `redrive-attempt` saying `attempt + 1`,
 * `redriven-from` the letter's id and `redrive-lineage` its lineage id, replacing any
 * the original record had (it had them when it was itself a redrive that failed
 * again). Values are raw bytes (Buffer), because header values are bytes and the
 * stored ones are base64.
 *
 * @example
 * ```ts
 * redriveHeaders(letter);
 * // [{ key: 'correlation-id', value: <Buffer 'c-1'> },
 * //  { key: 'redrive-attempt', value: <Buffer '1'> },
 * //  { key: 'redriven-from', value: <Buffer 'x.dead-letter:0:7'> },
 * //  { key: 'redrive-lineage', value: <Buffer 'x.dead-letter:0:7'> }]
 * ```
 */
export function redriveHeaders(
  letter: Pick<DeadLetter, 'id' | 'attempt' | 'lineageId'> & {
    readonly original: { readonly headers: readonly RawHeader[] };
  },
): { key: string; value: Buffer }[] {
  return [
    ...letter.original.headers
      .filter((header) => !SET_BY_REDRIVE.has(header.key))
      .map((header) => ({
        key: header.key,
        value: Buffer.from(header.value, 'base64'),
      })),
    {
      key: HEADERS.redriveAttempt,
      value: Buffer.from(String(letter.attempt + 1)),
    },
    { key: LINEAGE_HEADERS.redrivenFrom, value: Buffer.from(letter.id) },
    { key: LINEAGE_HEADERS.lineage, value: Buffer.from(letter.lineageId) },
  ];
}
