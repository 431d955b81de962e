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
 */
import {
  type AttributeValue,
  ConditionalCheckFailedException,
} from '@aws-sdk/client-dynamodb';
import {
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  type QueryCommandInput,
  ScanCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import * as z from 'zod';
import type { TABLES } from '#commons/table-specs.ts';
import {
  correctionOf,
  DeadLetter,
  type DeadLetterAction,
  DeadLetterStatus,
} from '#domain/dead-letter.ts';
import {
  decodeShardCursor,
  encodeShardCursor,
  firstPositions,
  type IndexEntry,
  mergeShards,
  type ShardPosition,
  type ShardRead,
  STATUS_SHARDS,
  statusShardKey,
  statusShardOf,
} from './dead-letter-shards.ts';
import { callStore, toStoreError } from './dynamodb.ts';

/** The letter is not in a status that allows the transition (e.g. redriving a DISCARDED one). */
export class DeadLetterStateError extends Error {
  readonly current: DeadLetterStatus;
  constructor(
    message: string,
    current: DeadLetterStatus,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'DeadLetterStateError';
    this.current = current;
  }
}

/** No dead letter has this id. */
export class DeadLetterNotFoundError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'DeadLetterNotFoundError';
  }
}

/** A list cursor that this repository did not hand out (or for another filter). */
export class InvalidCursorError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'InvalidCursorError';
  }
}

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

const INDEX =
  'byStatusShard' satisfies (typeof TABLES.deadLetters.indexes)[number]['name'];
/**
 * Pages read per list call at most (per shard when listing a status), so a rare topic
 * filter cannot scan forever.
 */
const MAX_PAGES = 10;

/** A stored item, as the index keys it (they are strings: infra/tables.ts). */
type IndexedItem = Record<string, unknown> & IndexEntry;

function indexed(items: readonly Record<string, unknown>[]): IndexedItem[] {
  return items.map((item) => {
    if (typeof item.id !== 'string' || typeof item.sortAt !== 'string') {
      throw new TypeError('an index item without a string id and sortAt');
    }
    return item as IndexedItem;
  });
}

function entryOf(key: Record<string, unknown> | undefined): IndexEntry | null {
  return key ? (indexed([key])[0] ?? null) : null;
}

/**
 * A key as a cursor carries it: string values DynamoDB takes as keys. An empty one, or
 * one over the key size limit, in an ExclusiveStartKey is a ValidationException (a
 * 500), not an empty page: a forged cursor must fail here instead.
 */
const StringKey = z.record(
  z.string(),
  z
    .string()
    .min(1)
    .refine((value) => Buffer.byteLength(value, 'utf8') <= 1024),
);

function normalisedTime(iso: string): string {
  return new Date(iso).toISOString();
}

function encodeCursor(key: Record<string, unknown>): string {
  return Buffer.from(JSON.stringify(key)).toString('base64url');
}

/** The start key of a cursor of the unfiltered list (a table scan, keyed by id). */
function decodeScanCursor(cursor: string): Record<string, string> {
  let key: Record<string, string>;
  try {
    key = StringKey.parse(
      JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')),
    );
  } catch (error) {
    throw new InvalidCursorError('the cursor is not one this API returned', {
      cause: error,
    });
  }
  if (Object.keys(key).join() !== 'id') {
    throw new InvalidCursorError(
      'the cursor belongs to another query; start again without it',
    );
  }
  return key;
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
  type Filter = Pick<
    QueryCommandInput,
    | 'FilterExpression'
    | 'ExpressionAttributeNames'
    | 'ExpressionAttributeValues'
  >;

  /** Every status, in no particular order: a scan by id. */
  async function scan(
    limit: number,
    cursor: string | null | undefined,
    filter: Filter | undefined,
  ): Promise<DeadLetterPage> {
    let start: Record<string, unknown> | undefined = cursor
      ? decodeScanCursor(cursor)
      : undefined;
    const items: Record<string, unknown>[] = [];
    for (let page = 0; page < MAX_PAGES && items.length < limit; page++) {
      const remaining = limit - items.length;
      // Limit counts items read before the filter: read more when filtering.
      const pageLimit = filter ? Math.max(remaining, 100) : remaining;
      const result = await callStore('deadLetters.list', () =>
        db.send(
          new ScanCommand({
            TableName: tableName,
            Limit: pageLimit,
            ExclusiveStartKey: start,
            ConsistentRead: true,
            ...filter,
          }),
        ),
      );
      const found = result.Items ?? [];
      start = result.LastEvaluatedKey;
      if (found.length > remaining) {
        // Read past the page: continue after the last item returned.
        items.push(...found.slice(0, remaining));
        start = { id: items.at(-1)?.id };
      } else {
        items.push(...found);
      }
      if (!start) break;
    }
    return {
      items: items.map(fromItem),
      cursor: start ? encodeCursor(start) : null,
    };
  }

  /** Up to `limit` letters of one shard of `status`, newest first, from `from`. */
  async function readShard(
    status: DeadLetterStatus,
    shard: number,
    from: ShardPosition,
    limit: number,
    filter: Filter | undefined,
  ): Promise<ShardRead<IndexedItem>> {
    if (from === 'done') return { from, items: [], next: null };
    const statusShard = statusShardKey(status, shard);
    let start: Record<string, unknown> | undefined =
      from === 'start' ? undefined : { ...from, statusShard };
    const items: IndexedItem[] = [];
    for (let page = 0; page < MAX_PAGES && items.length < limit; page++) {
      const remaining = limit - items.length;
      const result = await callStore('deadLetters.list', () =>
        db.send(
          new QueryCommand({
            TableName: tableName,
            IndexName: INDEX,
            KeyConditionExpression: 'statusShard = :statusShard',
            ScanIndexForward: false,
            // Limit counts items read before the filter: read more when filtering.
            Limit: filter ? Math.max(remaining, 100) : remaining,
            ExclusiveStartKey: start,
            ...filter,
            ExpressionAttributeValues: {
              ...filter?.ExpressionAttributeValues,
              ':statusShard': statusShard,
            },
          } satisfies QueryCommandInput),
        ),
      );
      items.push(...indexed(result.Items ?? []));
      start = result.LastEvaluatedKey;
      if (!start) break;
    }
    return { from, items, next: entryOf(start) };
  }

  /** Up to `limit` due letters of one shard, most overdue first. */
  async function readDue(
    shard: number,
    now: Date,
    limit: number,
  ): Promise<ShardRead<IndexedItem>> {
    const items: IndexedItem[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const result = await callStore('deadLetters.listDue', () =>
        db.send(
          new QueryCommand({
            TableName: tableName,
            IndexName: INDEX,
            KeyConditionExpression:
              'statusShard = :statusShard AND sortAt <= :now',
            ExpressionAttributeValues: {
              ':statusShard': statusShardKey('SCHEDULED', shard),
              ':now': now.toISOString(),
            },
            ScanIndexForward: true,
            Limit: limit - items.length,
            ExclusiveStartKey: start,
          }),
        ),
      );
      items.push(...indexed(result.Items ?? []));
      start = result.LastEvaluatedKey;
    } while (start && items.length < limit);
    return { from: 'start', items, next: entryOf(start) };
  }

  return {
    async save(letter) {
      // redrivenTo is a string set, which DynamoDB cannot store empty: linkRedrive
      // creates it.
      const { redrivenTo, ...rest } = letter;
      if (redrivenTo.length > 0) {
        throw new RangeError('a new dead letter has no redrivenTo yet');
      }
      const stored = {
        ...rest,
        failedAt: normalisedTime(letter.failedAt),
        redriveAt: letter.redriveAt ? normalisedTime(letter.redriveAt) : null,
      };
      if (stored.status === 'SCHEDULED' && !stored.redriveAt) {
        throw new RangeError(`a SCHEDULED dead letter needs a redriveAt`);
      }
      try {
        await db.send(
          new PutCommand({
            TableName: tableName,
            Item: {
              ...stored,
              statusShard: statusShardOf(stored.status, stored.id),
              sortAt:
                stored.status === 'SCHEDULED'
                  ? stored.redriveAt
                  : stored.failedAt,
            },
            ConditionExpression: 'attribute_not_exists(id)',
          }),
        );
        return 'saved';
      } catch (error) {
        if (error instanceof ConditionalCheckFailedException) return 'exists';
        throw toStoreError(error, 'deadLetters.save');
      }
    },

    async get(id) {
      const { Item } = await callStore('deadLetters.get', () =>
        db.send(
          new GetCommand({
            TableName: tableName,
            Key: { id },
            ConsistentRead: true,
          }),
        ),
      );
      return Item ? fromItem(Item) : undefined;
    },

    async list({ status, topic, limit, cursor }) {
      if (!Number.isInteger(limit) || limit < 1 || limit > 1000) {
        throw new RangeError(`limit must be 1-1000, got ${limit}`);
      }
      const filter = topic
        ? {
            FilterExpression: '#original.#topic = :topic',
            ExpressionAttributeNames: {
              '#original': 'original',
              '#topic': 'topic',
            },
            ExpressionAttributeValues: { ':topic': topic },
          }
        : undefined;
      if (!status) return scan(limit, cursor, filter);
      const from = cursor
        ? decodeShardCursor(cursor, status)
        : firstPositions();
      if (!from) {
        throw new InvalidCursorError(
          'the cursor is not one this API returned for this status; start again without it',
        );
      }
      // Every shard may hold the whole page: each reads up to `limit`, in parallel.
      const reads = await Promise.all(
        from.map((position, shard) =>
          readShard(status, shard, position, limit, filter),
        ),
      );
      const { items, positions } = mergeShards(reads, 'newest', limit);
      return {
        items: items.map(fromItem),
        cursor: positions.every((position) => position === 'done')
          ? null
          : encodeShardCursor(status, positions),
      };
    },

    async listDue(now, limit) {
      const reads = await Promise.all(
        Array.from({ length: STATUS_SHARDS }, (_, shard) =>
          readDue(shard, now, limit),
        ),
      );
      // Each shard read `limit` or all it had: the merge's first `limit` are exact.
      return mergeShards(reads, 'oldest', limit).items.map(fromItem);
    },

    async transition(id, from, to) {
      if (from.length === 0) {
        throw new RangeError(
          'transition needs at least one status to move from',
        );
      }
      if (to.status === 'SCHEDULED' && !to.redriveAt) {
        throw new RangeError('a transition to SCHEDULED needs a redriveAt');
      }
      const redriveAt = to.redriveAt ? normalisedTime(to.redriveAt) : null;
      const sets = [
        '#status = :status',
        'statusShard = :statusShard',
        'redriveAt = :redriveAt',
        // failedAt is stored normalised, so both kinds of sortAt compare as times.
        to.status === 'SCHEDULED' ? 'sortAt = :redriveAt' : 'sortAt = failedAt',
        '#history = list_append(#history, :entry)',
      ];
      const names: Record<string, string> = {
        '#status': 'status',
        '#history': 'history',
      };
      const values: Record<string, unknown> = {
        ':status': to.status,
        ':statusShard': statusShardOf(to.status, id),
        ':redriveAt': redriveAt,
        ':entry': [to.action],
        ...Object.fromEntries(from.map((status, i) => [`:from${i}`, status])),
      };
      if (to.attempt !== undefined) {
        sets.push('attempt = :attempt');
        values[':attempt'] = to.attempt;
      }
      try {
        const { Attributes } = await db.send(
          new UpdateCommand({
            TableName: tableName,
            Key: { id },
            UpdateExpression: `SET ${sets.join(', ')}`,
            ConditionExpression: `attribute_exists(id) AND #status IN (${from.map((_, i) => `:from${i}`).join(', ')})`,
            ExpressionAttributeNames: names,
            ExpressionAttributeValues: values,
            ReturnValues: 'ALL_NEW',
            ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
          }),
        );
        return fromItem(Attributes ?? {});
      } catch (error) {
        if (error instanceof ConditionalCheckFailedException) {
          throw refusal(id, from, to.status, error.Item);
        }
        throw toStoreError(error, 'deadLetters.transition');
      }
    },

    async linkRedrive(from, to) {
      try {
        await db.send(
          new UpdateCommand({
            TableName: tableName,
            Key: { id: from },
            // ADD to a string set: a second call (a redelivered letter) adds nothing.
            UpdateExpression: 'ADD redrivenTo :to',
            ConditionExpression: 'attribute_exists(id)',
            ExpressionAttributeValues: { ':to': new Set([to]) },
          }),
        );
      } catch (error) {
        if (error instanceof ConditionalCheckFailedException) {
          throw new DeadLetterNotFoundError(`no dead letter ${from}`, {
            cause: error,
          });
        }
        throw toStoreError(error, 'deadLetters.linkRedrive');
      }
    },
  };
}

/** What {@link addStatusShards} did. */
export interface StatusShardBackfill {
  /** Letters read. */
  readonly scanned: number;
  /** Letters given the `statusShard` of their status. */
  readonly updated: number;
  /** Letters whose status changed between the read and the write: run it again. */
  readonly raced: number;
}

/**
 * Gives every letter without the `statusShard` of its status (stored before the
 * index was sharded, or moved since by a release that did not set it) that key, so
 * that the `byStatusShard` index lists it: the upgrade step of
 * docs/dead-letter-index.md. Idempotent, changes nothing else, and safe beside the
 * running functions: each write holds only while the status is the one read.
 *
 * @example
 * ```ts
 * const { updated, raced } = await addStatusShards(db, 'prod-DeadLetters-1ABC');
 * ```
 */
export async function addStatusShards(
  db: DynamoDBDocumentClient,
  tableName: string,
): Promise<StatusShardBackfill> {
  let scanned = 0;
  let updated = 0;
  let raced = 0;
  let start: Record<string, unknown> | undefined;
  do {
    const page = await callStore('deadLetters.addStatusShards', () =>
      db.send(
        new ScanCommand({
          TableName: tableName,
          ProjectionExpression: 'id, #status, statusShard',
          ExpressionAttributeNames: { '#status': 'status' },
          ConsistentRead: true,
          ExclusiveStartKey: start,
        }),
      ),
    );
    for (const item of page.Items ?? []) {
      scanned += 1;
      const status = DeadLetterStatus.safeParse(item.status);
      if (typeof item.id !== 'string' || !status.success) continue;
      const statusShard = statusShardOf(status.data, item.id);
      if (item.statusShard === statusShard) continue;
      try {
        await db.send(
          new UpdateCommand({
            TableName: tableName,
            Key: { id: item.id },
            UpdateExpression: 'SET statusShard = :statusShard',
            ConditionExpression: '#status = :status',
            ExpressionAttributeNames: { '#status': 'status' },
            ExpressionAttributeValues: {
              ':status': status.data,
              ':statusShard': statusShard,
            },
          }),
        );
        updated += 1;
      } catch (error) {
        if (!(error instanceof ConditionalCheckFailedException)) {
          throw toStoreError(error, 'deadLetters.addStatusShards');
        }
        raced += 1;
      }
    }
    start = page.LastEvaluatedKey;
  } while (start);
  return { scanned, updated, raced };
}

/**
 * An item as the current {@link DeadLetter} shape, whenever it was stored (see the
 * module comment): the received value restored as `original.value`, a history `value`
 * read as its `correction`, the lineage of a letter stored before lineage was kept
 * (none: it starts its own), and `redrivenTo` from its string set, sorted.
 */
function fromItem(item: Record<string, unknown>): DeadLetter {
  const {
    sortAt: _sortAt,
    statusShard: _statusShard,
    receivedValue,
    redrivenTo,
    original,
    history,
    ...rest
  } = item;
  const upgraded = {
    redrivenFrom: null,
    lineageId: rest.id,
    ...rest,
    original:
      receivedValue === undefined || typeof original !== 'object'
        ? original
        : { ...original, value: receivedValue },
    history: Array.isArray(history) ? history.map(upgradeAction) : history,
    redrivenTo: redrivenTo instanceof Set ? [...redrivenTo].sort() : [],
  };
  return DeadLetter.parse(upgraded);
}

function upgradeAction(entry: unknown): unknown {
  if (typeof entry !== 'object' || entry === null || !('value' in entry)) {
    return entry;
  }
  const { value, ...action } = entry;
  return typeof value === 'string' && !('correction' in action)
    ? { ...action, correction: correctionOf(Buffer.from(value, 'base64')) }
    : action;
}

function refusal(
  id: string,
  from: readonly DeadLetterStatus[],
  to: DeadLetterStatus,
  old: Record<string, AttributeValue> | undefined,
): Error {
  const current = DeadLetterStatus.safeParse(old?.status?.S);
  if (!current.success) {
    return new DeadLetterNotFoundError(`no dead letter ${id}`);
  }
  return new DeadLetterStateError(
    `dead letter ${id} is ${current.data}; it can become ${to} only from ${from.join(' or ')}`,
    current.data,
  );
}
