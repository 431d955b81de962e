/**
 * The items of the DeadLetters table (see ../dead-letter-repository.ts): the table as
 * every operation reaches it, the `byStatusShard` index, and an item read back as the
 * current {@link DeadLetter} shape, whenever it was stored.
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { TABLES } from '#commons/table-specs.ts';
import { correctionOf, DeadLetter } from '#domain/dead-letter.ts';
import type { IndexEntry } from '../dead-letter-shards.ts';

/** The DeadLetters table, as every operation of the repository reaches it. */
export interface DeadLettersTable {
  readonly db: DynamoDBDocumentClient;
  readonly tableName: string;
}

export const INDEX =
  'byStatusShard' satisfies (typeof TABLES.deadLetters.indexes)[number]['name'];
/**
 * Pages read per list call at most (per shard when listing a status), so a rare topic
 * filter cannot scan forever.
 */
export const MAX_PAGES = 10;

/** A stored item, as the index keys it (they are strings: infra/tables.ts). */
export type IndexedItem = Record<string, unknown> & IndexEntry;

export function indexed(
  items: readonly Record<string, unknown>[],
): IndexedItem[] {
  return items.map((item) => {
    if (typeof item.id !== 'string' || typeof item.sortAt !== 'string') {
      throw new TypeError('an index item without a string id and sortAt');
    }
    return item as IndexedItem;
  });
}

export function entryOf(
  key: Record<string, unknown> | undefined,
): IndexEntry | null {
  return key ? (indexed([key])[0] ?? null) : null;
}

export function normalisedTime(iso: string): string {
  return new Date(iso).toISOString();
}

/**
 * An item as the current {@link DeadLetter} shape, whenever it was stored (see the
 * module comment of ../dead-letter-repository.ts): the received value restored as
 * `original.value`, a history `value` read as its `correction`, the lineage of a
 * letter stored before lineage was kept (none: it starts its own), and `redrivenTo`
 * from its string set, sorted.
 */
export function fromItem(item: Record<string, unknown>): DeadLetter {
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
