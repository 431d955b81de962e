/**
 * Listing dead letters of every status, in no particular order: a table scan by id,
 * and its cursor (the scan's start key, checked before DynamoDB sees it).
 */
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import * as z from 'zod';
import type { DeadLetterPage } from '../dead-letter-repository.ts';
import { callStore } from '../dynamodb.ts';
import { InvalidCursorError } from './errors.ts';
import { type DeadLettersTable, fromItem, MAX_PAGES } from './items.ts';
import type { ListFilter } from './list.ts';

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

/** Every status, in no particular order: a scan by id. */
export async function scanDeadLetters(
  { db, tableName }: DeadLettersTable,
  limit: number,
  cursor: string | null | undefined,
  filter: ListFilter | undefined,
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
