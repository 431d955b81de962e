/**
 * The write-sharded status index of the DeadLetters table (docs/dead-letter-index.md):
 * each letter's `statusShard` is `<status>#<n>`, n a stable hash of its id modulo
 * {@link STATUS_SHARDS}, so the writes of one status spread over that many index
 * partitions. A list of one status reads every shard and merges them here; its
 * cursor keeps, per shard, where to continue.
 *
 * Pure: no I/O. The modules of `#commons/dead-letter-repository/` run the queries.
 */
import { createHash } from 'node:crypto';
import * as z from 'zod';
import { DeadLetterStatus } from '#domain/dead-letter.ts';

/**
 * Index partitions per status. One GSI partition takes about 1 000 writes/s, and every
 * write of a letter's status (save, then each transition) is a write to the index
 * partition of its status: 8 shards take about 8 x 1 000 = 8 000 status writes/s of
 * one status (a poison flood parks letters of one status only) before the index
 * throttles and holds back the table's writes. A list reads 8 queries instead of 1.
 * Changing it moves letters between shards: it needs the backfill of
 * docs/dead-letter-index.md run again.
 */
export const STATUS_SHARDS = 8;

/**
 * The shard of a letter: the first 4 bytes of the SHA-256 of its id, modulo
 * {@link STATUS_SHARDS}. Stable across processes and releases, and uniform.
 *
 * @example
 * ```ts
 * shardOf('order.placed.v1.dead-letter:0:42'); // always the same, 0-7
 * ```
 */
export function shardOf(id: string): number {
  return (
    createHash('sha256').update(id, 'utf8').digest().readUInt32BE(0) %
    STATUS_SHARDS
  );
}

/**
 * The `statusShard` index key of a letter in `status` in shard `shard`.
 *
 * @example
 * ```ts
 * statusShardKey('PARKED', 3); // 'PARKED#3'
 * ```
 */
export function statusShardKey(
  status: DeadLetterStatus,
  shard: number,
): string {
  return `${status}#${shard}`;
}

/**
 * The `statusShard` a letter with this id is stored with while in `status`.
 *
 * @example
 * ```ts
 * const item = { ...letter, statusShard: statusShardOf(letter.status, letter.id) };
 * ```
 */
export function statusShardOf(status: DeadLetterStatus, id: string): string {
  return statusShardKey(status, shardOf(id));
}

/** The index key of a letter, as the merge and the cursor need it. */
export interface IndexEntry {
  readonly id: string;
  readonly sortAt: string;
}

/**
 * Where to read one shard from: its beginning, after a letter, or nowhere (it has
 * nothing more).
 */
export type ShardPosition = 'start' | IndexEntry | 'done';

/** What one query run on one shard found. */
export interface ShardRead<T extends IndexEntry> {
  /** Where the read started. */
  readonly from: ShardPosition;
  /** The letters read, in the index's order. */
  readonly items: readonly T[];
  /**
   * DynamoDB's LastEvaluatedKey after the last page read (past `items` when a filter
   * dropped letters), or null when the shard has nothing more.
   */
  readonly next: IndexEntry | null;
}

/** Newest first (lists), or oldest first (due letters). */
export type ShardOrder = 'newest' | 'oldest';

/**
 * Orders two letters by `sortAt` alone. DynamoDB does not document the order of equal
 * sort keys within a partition, so the merge keeps each shard's own order and breaks
 * a tie between shards by the lower shard number: the same order on every page.
 */
function compare(order: ShardOrder, a: IndexEntry, b: IndexEntry): number {
  const byTime = a.sortAt < b.sortAt ? -1 : a.sortAt > b.sortAt ? 1 : 0;
  return order === 'oldest' ? byTime : -byTime;
}

/**
 * Merges what each shard read into one page of at most `limit` letters in `order`
 * (by `sortAt`; equal times by shard number, then in the shard's own order), and says where each shard continues: after the last letter taken from it, not after
 * what it read ahead. A shard whose read ran out before the shard did (a topic filter
 * at its page budget) may hold letters not read yet: the page stops before any letter
 * that one could precede, and that shard continues from where its read stopped.
 *
 * @example
 * ```ts
 * const { items, positions } = mergeShards(reads, 'newest', 25);
 * ```
 */
export function mergeShards<T extends IndexEntry>(
  reads: readonly ShardRead<T>[],
  order: ShardOrder,
  limit: number,
): { items: T[]; positions: ShardPosition[] } {
  const taken = reads.map(() => 0);
  const items: T[] = [];
  while (items.length < limit) {
    let best: number | undefined;
    for (const [shard, read] of reads.entries()) {
      const head = read.items[taken[shard] ?? 0];
      const current =
        best === undefined ? undefined : reads[best]?.items[taken[best] ?? 0];
      // Strictly before: of equal times, the lower shard's comes first.
      if (head && (!current || compare(order, head, current) < 0)) {
        best = shard;
      }
    }
    if (best === undefined) break;
    const head = reads[best]?.items[taken[best] ?? 0] as T;
    const blocked = reads.some(
      (read, shard) =>
        (taken[shard] ?? 0) >= read.items.length &&
        read.next !== null &&
        // Unread letters of that shard are at or past `next`: only a strictly
        // earlier sortAt is sure to come before them.
        (order === 'newest'
          ? head.sortAt <= read.next.sortAt
          : head.sortAt >= read.next.sortAt),
    );
    if (blocked) break;
    items.push(head);
    taken[best] = (taken[best] ?? 0) + 1;
  }
  const positions = reads.map((read, shard): ShardPosition => {
    const count = taken[shard] ?? 0;
    if (count < read.items.length) {
      const last = read.items[count - 1];
      return last ? { id: last.id, sortAt: last.sortAt } : read.from;
    }
    return read.next ?? 'done';
  });
  return { items, positions };
}

/**
 * A key value a cursor carries: DynamoDB refuses an empty one, or one over the key
 * size limit, in an ExclusiveStartKey with a ValidationException (a 500): a forged
 * cursor must fail here instead.
 */
const KeyValue = z
  .string()
  .min(1)
  .refine((value) => Buffer.byteLength(value, 'utf8') <= 1024);

/**
 * A list cursor: the status listed and, per shard, `[sortAt, id]` to continue after,
 * `[]` to start at the beginning, or null when the shard is done. At most
 * {@link STATUS_SHARDS} keys, whatever the page size.
 */
const ShardCursor = z.strictObject({
  status: DeadLetterStatus,
  after: z
    .array(z.union([z.null(), z.tuple([]), z.tuple([KeyValue, KeyValue])]))
    .length(STATUS_SHARDS),
});

/**
 * The cursor of a list of `status` that continues every shard at its position
 * (base64url JSON).
 *
 * @example
 * ```ts
 * const cursor = encodeShardCursor('PARKED', positions);
 * ```
 */
export function encodeShardCursor(
  status: DeadLetterStatus,
  positions: readonly ShardPosition[],
): string {
  const after = positions.map((position) =>
    position === 'done'
      ? null
      : position === 'start'
        ? []
        : [position.sortAt, position.id],
  );
  return Buffer.from(JSON.stringify({ status, after })).toString('base64url');
}

/**
 * The shard positions of a cursor from {@link encodeShardCursor} for a list of
 * `status`; undefined when it is not one (malformed, forged, or of another status),
 * which the caller answers as an invalid cursor.
 *
 * @example
 * ```ts
 * const positions = decodeShardCursor(query.cursor, 'PARKED');
 * if (!positions) throw new InvalidCursorError('start again without it');
 * ```
 */
export function decodeShardCursor(
  cursor: string,
  status: DeadLetterStatus,
): ShardPosition[] | undefined {
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
  const parsed = ShardCursor.safeParse(json);
  if (!parsed.success || parsed.data.status !== status) return undefined;
  return parsed.data.after.map((position) =>
    position === null
      ? 'done'
      : position.length === 0
        ? 'start'
        : { sortAt: position[0], id: position[1] },
  );
}

/** Every shard from its beginning: the first page. */
export function firstPositions(): ShardPosition[] {
  return Array.from({ length: STATUS_SHARDS }, () => 'start' as const);
}
