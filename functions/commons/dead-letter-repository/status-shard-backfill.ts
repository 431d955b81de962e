/**
 * The upgrade step of docs/dead-letter-index.md: gives every stored letter the
 * `statusShard` of its status, so that the `byStatusShard` index lists it.
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import {
  type DynamoDBDocumentClient,
  ScanCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { DeadLetterStatus } from '#domain/dead-letter.ts';
import { statusShardOf } from '../dead-letter-shards.ts';
import { callStore, toStoreError } from '../dynamodb.ts';

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
