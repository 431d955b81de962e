/**
 * Reading dead letters by id, and the SCHEDULED ones that have come due: every shard
 * of the `byStatusShard` index read as a key range of `sortAt`, most overdue first.
 */
import { GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { DeadLetter } from '#domain/dead-letter.ts';
import type { DeadLetterRepository } from '../dead-letter-repository.ts';
import {
  mergeShards,
  type ShardRead,
  STATUS_SHARDS,
  statusShardKey,
} from '../dead-letter-shards.ts';
import { callStore } from '../dynamodb.ts';
import {
  type DeadLettersTable,
  entryOf,
  fromItem,
  INDEX,
  type IndexedItem,
  indexed,
} from './items.ts';

/** {@link DeadLetterRepository.get}: one strongly consistent read. */
export async function getDeadLetter(
  { db, tableName }: DeadLettersTable,
  id: string,
): Promise<DeadLetter | undefined> {
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
}

/** {@link DeadLetterRepository.listDue}: every shard read, then merged. */
export async function listDueDeadLetters(
  table: DeadLettersTable,
  now: Date,
  limit: number,
): Promise<DeadLetter[]> {
  const reads = await Promise.all(
    Array.from({ length: STATUS_SHARDS }, (_, shard) =>
      readDue(table, shard, now, limit),
    ),
  );
  // Each shard read `limit` or all it had: the merge's first `limit` are exact.
  return mergeShards(reads, 'oldest', limit).items.map(fromItem);
}

/** Up to `limit` due letters of one shard, most overdue first. */
async function readDue(
  { db, tableName }: DeadLettersTable,
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
