/**
 * Listing dead letters, optionally of one topic: of one status newest first, each
 * shard of the `byStatusShard` index read from the cursor's position and merged
 * (../dead-letter-shards.ts); of every status, a table scan (./scan.ts).
 */
import { QueryCommand, type QueryCommandInput } from '@aws-sdk/lib-dynamodb';
import type { DeadLetterStatus } from '#domain/dead-letter.ts';
import type {
  DeadLetterPage,
  DeadLetterQuery,
  DeadLetterRepository,
} from '../dead-letter-repository.ts';
import {
  decodeShardCursor,
  encodeShardCursor,
  firstPositions,
  mergeShards,
  type ShardPosition,
  type ShardRead,
  statusShardKey,
} from '../dead-letter-shards.ts';
import { callStore } from '../dynamodb.ts';
import { InvalidCursorError } from './errors.ts';
import {
  type DeadLettersTable,
  entryOf,
  fromItem,
  INDEX,
  type IndexedItem,
  indexed,
  MAX_PAGES,
} from './items.ts';
import { scanDeadLetters } from './scan.ts';

/** The topic filter of a list, as a query or a scan takes it. */
export type ListFilter = Pick<
  QueryCommandInput,
  'FilterExpression' | 'ExpressionAttributeNames' | 'ExpressionAttributeValues'
>;

/** {@link DeadLetterRepository.list}. */
export async function listDeadLetters(
  table: DeadLettersTable,
  { status, topic, limit, cursor }: DeadLetterQuery,
): Promise<DeadLetterPage> {
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
  if (!status) return scanDeadLetters(table, limit, cursor, filter);
  const from = cursor ? decodeShardCursor(cursor, status) : firstPositions();
  if (!from) {
    throw new InvalidCursorError(
      'the cursor is not one this API returned for this status; start again without it',
    );
  }
  // Every shard may hold the whole page: each reads up to `limit`, in parallel.
  const reads = await Promise.all(
    from.map((position, shard) =>
      readShard(table, status, shard, position, limit, filter),
    ),
  );
  const { items, positions } = mergeShards(reads, 'newest', limit);
  return {
    items: items.map(fromItem),
    cursor: positions.every((position) => position === 'done')
      ? null
      : encodeShardCursor(status, positions),
  };
}

/** Up to `limit` letters of one shard of `status`, newest first, from `from`. */
async function readShard(
  { db, tableName }: DeadLettersTable,
  status: DeadLetterStatus,
  shard: number,
  from: ShardPosition,
  limit: number,
  filter: ListFilter | undefined,
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
