/**
 * Dead letters in DynamoDB (docs/domain.md section 7), one item per letter keyed by
 * `id`, its fields as attributes, plus the keys of the `byStatusShard` index
 * (docs/dead-letter-index.md): `statusShard`, `<status>#<shard of the id>`, and
 * `sortAt`, the `redriveAt` of a SCHEDULED letter, so "due" is a key range, and the
 * `failedAt` of any other, so lists come newest first. Every write that sets the
 * status maintains both. A list of one status reads every shard and merges them
 * (`#commons/dead-letter-shards.ts`).
 *
 * Nothing is ever deleted, and the original record is never written after `save`: a
 * transition only changes the status and appends to `history` (a corrected value lives
 * in its REDRIVEN entry), and a letter that comes back after a redrive is only added to
 * its predecessor's `redrivenTo`, a string set.
 *
 * Items stored before that still read (docs/domain.md section 7, Corrections and
 * lineage): a corrected redrive then overwrote `original.value` and kept the received
 * value in `receivedValue`, and the correction in its history entry as `value`.
 *
 * This file is the port and the factory that wires its DynamoDB operations; they
 * are files of ./dead-letter-repository/: items.ts (the table, the index, an item
 * read back), writes.ts (save, transition, linkRedrive), reads.ts (get, listDue),
 * list.ts and scan.ts (list), status-shard-backfill.ts and errors.ts.
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type {
  DeadLetter,
  DeadLetterAction,
  DeadLetterStatus,
} from '#domain/dead-letter.ts';
import type {
  DeadLetterNotFoundError,
  DeadLetterStateError,
} from './dead-letter-repository/errors.ts';
import type { DeadLettersTable } from './dead-letter-repository/items.ts';
import { listDeadLetters } from './dead-letter-repository/list.ts';
import {
  getDeadLetter,
  listDueDeadLetters,
} from './dead-letter-repository/reads.ts';
import {
  linkRedrive,
  saveDeadLetter,
  transitionDeadLetter,
} from './dead-letter-repository/writes.ts';

export {
  DeadLetterNotFoundError,
  DeadLetterStateError,
  InvalidCursorError,
} from './dead-letter-repository/errors.ts';
export {
  addStatusShards,
  type StatusShardBackfill,
} from './dead-letter-repository/status-shard-backfill.ts';

/** Which dead letters to list, and where to continue. */
export interface DeadLetterQuery {
  readonly status?: DeadLetterStatus;
  /** The original topic. */
  readonly topic?: string;
  /** At most this many (1-1000). */
  readonly limit: number;
  /** The `cursor` of the previous page. */
  readonly cursor?: string | null;
}

/** A page of dead letters; `cursor` is null on the last page. */
export interface DeadLetterPage {
  readonly items: DeadLetter[];
  readonly cursor: string | null;
}

/** A status change: the new status, the action to record, and what changes with it. */
export interface DeadLetterTransition {
  readonly status: DeadLetterStatus;
  /** Required for SCHEDULED: when the automatic redrive is due. */
  readonly redriveAt?: string;
  readonly action: DeadLetterAction;
  /** The new attempt count (a redrive increments it). */
  readonly attempt?: number;
}

/** Where the reprocessor and the admin routes keep dead letters. */
export interface DeadLetterRepository {
  /** Stores a new letter; `'exists'` when its id is stored already (a redelivery). */
  save(letter: DeadLetter): Promise<'saved' | 'exists'>;
  get(id: string): Promise<DeadLetter | undefined>;
  /**
   * Lists letters: of one status newest first (by `failedAt`; SCHEDULED ones by
   * `redriveAt`), or of every status in no particular order.
   */
  list(query: DeadLetterQuery): Promise<DeadLetterPage>;
  /** SCHEDULED letters with `redriveAt <= now`, most overdue first. */
  listDue(now: Date, limit: number): Promise<DeadLetter[]>;
  /**
   * Moves a letter from one of the `from` statuses to `to.status`, appending the
   * action to its history; returns the letter as stored afterwards. Throws
   * {@link DeadLetterStateError} if its status is not one of `from`, and
   * {@link DeadLetterNotFoundError} if there is no such letter.
   */
  transition(
    id: string,
    from: readonly DeadLetterStatus[],
    to: DeadLetterTransition,
  ): Promise<DeadLetter>;
  /**
   * Records that the record redriven from letter `from` failed again and came back as
   * letter `to` (adds `to` to its `redrivenTo`; once, however often it is called).
   * Changes nothing else. Throws {@link DeadLetterNotFoundError} if there is no `from`.
   */
  linkRedrive(from: string, to: string): Promise<void>;
}

/**
 * The DynamoDB implementation of {@link DeadLetterRepository} on the DeadLetters table.
 *
 * @example
 * ```ts
 * const letters = createDeadLetterRepository(db, config.deadLettersTable);
 * for (const letter of await letters.listDue(new Date(), 25)) await redrive(letter);
 * ```
 */
export function createDeadLetterRepository(
  db: DynamoDBDocumentClient,
  tableName: string,
): DeadLetterRepository {
  const table: DeadLettersTable = { db, tableName };
  return {
    save: (letter) => saveDeadLetter(table, letter),
    get: (id) => getDeadLetter(table, id),
    list: (query) => listDeadLetters(table, query),
    listDue: (now, limit) => listDueDeadLetters(table, now, limit),
    transition: (id, from, to) => transitionDeadLetter(table, id, from, to),
    linkRedrive: (from, to) => linkRedrive(table, from, to),
  };
}
