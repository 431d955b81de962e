import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decodeShardCursor,
  encodeShardCursor,
  firstPositions,
  type IndexEntry,
  mergeShards,
  type ShardOrder,
  type ShardPosition,
  type ShardRead,
  STATUS_SHARDS,
  shardOf,
  statusShardOf,
} from '#commons/dead-letter-shards.ts';

interface Letter extends IndexEntry {
  readonly topic: string;
  /** Where the index keeps it among letters of the same time: undocumented. */
  readonly tieRank: number;
}

/**
 * The order the index keeps one shard in: by time, equal times in an order of its
 * own (`tieRank` here, unrelated to the id).
 */
function indexOrder(order: ShardOrder) {
  return (a: Letter, b: Letter): number => {
    const ascending =
      a.sortAt === b.sortAt
        ? a.tieRank - b.tieRank
        : a.sortAt < b.sortAt
          ? -1
          : 1;
    return order === 'oldest' ? ascending : -ascending;
  };
}

/** The order a page must come in: by time, then shard, then the shard's order. */
function pageOrder(order: ShardOrder) {
  return (a: Letter, b: Letter): number => {
    if (a.sortAt !== b.sortAt) {
      const ascending = a.sortAt < b.sortAt ? -1 : 1;
      return order === 'oldest' ? ascending : -ascending;
    }
    return shardOf(a.id) - shardOf(b.id) || indexOrder(order)(a, b);
  };
}

/**
 * One shard as a DynamoDB query pages it: from a position, reading at most `budget`
 * items (a page budget), keeping those the filter passes and stopping at `limit`
 * kept; `next` is the last item read while more remain.
 */
function readShard(
  shard: readonly Letter[],
  from: ShardPosition,
  limit: number,
  budget: number,
  keep: (letter: Letter) => boolean,
): ShardRead<Letter> {
  if (from === 'done') return { from, items: [], next: null };
  // After `from`: DynamoDB resumes after that very item, wherever ties put it.
  let index =
    from === 'start' ? 0 : shard.findIndex((l) => l.id === from.id) + 1;
  const items: Letter[] = [];
  let read = 0;
  while (index < shard.length && items.length < limit && read < budget) {
    const letter = shard[index] as Letter;
    if (keep(letter)) items.push(letter);
    index += 1;
    read += 1;
  }
  const last = shard[index - 1];
  return {
    from,
    items,
    next: index < shard.length && last ? last : null,
  };
}

/** Every page of a list, following cursors through their encoded form. */
function listAll(
  letters: readonly Letter[],
  limit: number,
  budget: number,
  keep: (letter: Letter) => boolean,
  order: ShardOrder = 'newest',
): Letter[][] {
  const shards = Array.from({ length: STATUS_SHARDS }, (_, shard) =>
    letters.filter((l) => shardOf(l.id) === shard).sort(indexOrder(order)),
  );
  const pages: Letter[][] = [];
  let positions: ShardPosition[] | undefined = firstPositions();
  while (positions) {
    const from: ShardPosition[] = positions;
    const reads = shards.map((shard, i) =>
      readShard(shard, from[i] ?? 'done', limit, budget, keep),
    );
    const page = mergeShards(reads, order, limit);
    pages.push(page.items);
    positions = page.positions.every((p) => p === 'done')
      ? undefined
      : decodeShardCursor(
          encodeShardCursor('PARKED', page.positions),
          'PARKED',
        );
    if (pages.length > 1_000) throw new Error('the pages never end');
  }
  return pages;
}

const letterArbitrary = fc.record({
  id: fc.string({ minLength: 1, maxLength: 12 }),
  // Few distinct times, so that ties are common.
  sortAt: fc
    .integer({ min: 0, max: 5 })
    .map((minute) => `2025-03-01T12:0${minute}:00.000Z`),
  topic: fc.constantFrom('a', 'b', 'c'),
  tieRank: fc.integer(),
});

describe('shardOf', () => {
  it('gives an id the same shard on every call and in every release', () => {
    // Act
    const shards = [
      'order.placed.v1.dead-letter:0:42',
      'payment.processed.v1.dead-letter:3:9007199254740993',
      'a',
    ].map(shardOf);

    // Assess: pinned, since changing them strands every stored letter's shard key.
    expect(shards).toEqual([5, 7, 2]);
    expect(shardOf('a')).toBe(2);
  });

  it('spreads ids evenly over the shards', () => {
    // Prepare
    const counts = new Array<number>(STATUS_SHARDS).fill(0);

    // Act
    for (let offset = 0; offset < 8_000; offset++) {
      const shard = shardOf(
        `order.placed.v1.dead-letter:${offset % 3}:${offset}`,
      );
      counts[shard] = (counts[shard] ?? 0) + 1;
    }

    // Assess: 1 000 each on average; a fair hash stays well within 15 %.
    expect(counts).toHaveLength(8);
    for (const count of counts) {
      expect(count).toBeGreaterThan(850);
      expect(count).toBeLessThan(1_150);
    }
  });

  it('keys a letter by its status and shard', () => {
    // Act
    const key = statusShardOf('PARKED', 'a');

    // Assess
    expect(key).toBe('PARKED#2');
  });
});

describe('mergeShards', () => {
  it('pages every letter exactly once, newest first, ties by shard then in shard order', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(letterArbitrary, {
          selector: (l) => l.id,
          maxLength: 60,
        }),
        fc.integer({ min: 1, max: 10 }),
        (letters, limit) => {
          // Act
          const pages = listAll(
            letters,
            limit,
            Number.POSITIVE_INFINITY,
            () => true,
          );

          // Assess
          expect(pages.flat()).toEqual([...letters].sort(pageOrder('newest')));
          for (const page of pages.slice(0, -1)) {
            expect(page).toHaveLength(limit);
          }
        },
      ),
    );
  });

  it('pages every letter of a topic once, in order, when a page budget cuts shard reads short', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(letterArbitrary, {
          selector: (l) => l.id,
          maxLength: 60,
        }),
        fc.integer({ min: 1, max: 10 }),
        fc.integer({ min: 1, max: 4 }),
        (letters, limit, budget) => {
          // Prepare
          const keep = (l: Letter) => l.topic === 'a';

          // Act
          const pages = listAll(letters, limit, budget, keep);

          // Assess
          expect(pages.flat()).toEqual(
            letters.filter(keep).sort(pageOrder('newest')),
          );
        },
      ),
    );
  });

  it('merges oldest first for due letters', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(letterArbitrary, {
          selector: (l) => l.id,
          maxLength: 40,
        }),
        fc.integer({ min: 1, max: 10 }),
        (letters, limit) => {
          // Act
          const [first = []] = listAll(
            letters,
            limit,
            Number.POSITIVE_INFINITY,
            () => true,
            'oldest',
          );

          // Assess
          expect(first).toEqual(
            [...letters].sort(pageOrder('oldest')).slice(0, limit),
          );
        },
      ),
    );
  });

  it('stops before a letter that an unfinished shard could still precede', () => {
    // Prepare: shard 0 read up to 12:05 without a match; shard 1 has 12:06 and 12:04.
    const reads: ShardRead<IndexEntry>[] = [
      { from: 'start', items: [], next: { id: 'x', sortAt: '12:05' } },
      {
        from: 'start',
        items: [
          { id: 'b', sortAt: '12:06' },
          { id: 'c', sortAt: '12:04' },
        ],
        next: null,
      },
    ];

    // Act
    const page = mergeShards(reads, 'newest', 10);

    // Assess
    expect(page.items.map((l) => l.id)).toEqual(['b']);
    expect(page.positions).toEqual([
      { id: 'x', sortAt: '12:05' },
      { id: 'b', sortAt: '12:06' },
    ]);
  });

  it('continues a shard after the last letter taken from it, not after what it read ahead', () => {
    // Prepare
    const reads: ShardRead<IndexEntry>[] = [
      {
        from: 'start',
        items: [
          { id: 'a', sortAt: '3' },
          { id: 'b', sortAt: '1' },
        ],
        next: { id: 'b', sortAt: '1' },
      },
      {
        from: { id: 'p', sortAt: '9' },
        items: [{ id: 'c', sortAt: '0' }],
        next: null,
      },
      { from: 'done', items: [], next: null },
    ];

    // Act
    const page = mergeShards(reads, 'newest', 1);

    // Assess
    expect(page.items.map((l) => l.id)).toEqual(['a']);
    expect(page.positions).toEqual([
      { id: 'a', sortAt: '3' },
      { id: 'p', sortAt: '9' },
      'done',
    ]);
  });
});

describe('the shard cursor', () => {
  const positions: ShardPosition[] = [
    {
      id: 'order.placed.v1.dead-letter:0:42',
      sortAt: '2025-03-01T12:00:00.000Z',
    },
    'start',
    'done',
    ...new Array<ShardPosition>(STATUS_SHARDS - 3).fill('done'),
  ];

  it('reads back the positions it was made from, for its status only', () => {
    // Act
    const cursor = encodeShardCursor('PARKED', positions);

    // Assess
    expect(cursor).toMatch(/^[\w-]+$/);
    expect(decodeShardCursor(cursor, 'PARKED')).toEqual(positions);
    expect(decodeShardCursor(cursor, 'SCHEDULED')).toBeUndefined();
  });

  it('stays small whatever the page size: one key per shard at most', () => {
    // Prepare
    const full = Array.from({ length: STATUS_SHARDS }, (_, i) => ({
      id: `order.placed.v1.dead-letter:${i}:9007199254740993`,
      sortAt: '2025-03-01T12:00:00.000Z',
    }));

    // Act
    const cursor = encodeShardCursor('SCHEDULED', full);

    // Assess: 8 x (id 50 + time 24 + quotes) in base64url.
    expect(cursor.length).toBeLessThan(1_000);
  });

  const base64url = (json: string) => Buffer.from(json).toString('base64url');
  const shardsWith = (first: unknown) =>
    JSON.stringify([first, ...new Array(STATUS_SHARDS - 1).fill(null)]);

  it.each([
    ['not base64url JSON', 'not a cursor'],
    ['a JSON array', base64url('[1]')],
    [
      'the former single-index cursor',
      base64url('{"id":"x","status":"PARKED","sortAt":"t"}'),
    ],
    ['a scan cursor', base64url('{"id":"x"}')],
    ['too few shards', base64url('{"status":"PARKED","after":[null]}')],
    [
      'an empty sortAt',
      base64url(`{"status":"PARKED","after":${shardsWith(['', 'x'])}}`),
    ],
    [
      'an empty id',
      base64url(`{"status":"PARKED","after":${shardsWith(['t', ''])}}`),
    ],
    [
      'an id over the key size limit',
      base64url(
        `{"status":"PARKED","after":${shardsWith(['t', 'x'.repeat(3_000)])}}`,
      ),
    ],
    [
      'a number for a key',
      base64url(`{"status":"PARKED","after":${shardsWith([1, 'x'])}}`),
    ],
    [
      'an extra field',
      base64url(`{"status":"PARKED","after":${shardsWith(null)},"x":1}`),
    ],
    [
      'an unknown status',
      base64url(`{"status":"parked","after":${shardsWith(null)}}`),
    ],
  ])('refuses %s', (_, cursor) => {
    // Act
    const decoded = decodeShardCursor(cursor, 'PARKED');

    // Assess
    expect(decoded).toBeUndefined();
  });
});
