import { randomUUID } from 'node:crypto';
import { GetCommand, PutCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  addStatusShards,
  createDeadLetterRepository,
  DeadLetterNotFoundError,
  DeadLetterStateError,
  InvalidCursorError,
} from '#commons/dead-letter-repository.ts';
import { shardOf, statusShardOf } from '#commons/dead-letter-shards.ts';
import {
  correctionOf,
  type DeadLetter,
  type DeadLetterAction,
  type DeadLetterStatus,
} from '#domain/dead-letter.ts';
import { createTableInput, TABLES } from '#infra/tables.ts';
import { createTables } from '#platform/platform.ts';
import { failureOf, localDocumentClient } from './store.ts';

const NOW = new Date('2025-03-01T12:00:00.000Z');

function minutesFromNow(minutes: number): string {
  return new Date(NOW.getTime() + minutes * 60_000).toISOString();
}

/** By time, newest first (letters of one status with distinct times). */
function newestFirst(a: DeadLetter, b: DeadLetter): number {
  const at = (l: DeadLetter) => l.redriveAt ?? l.failedAt;
  return at(a) < at(b) ? 1 : at(a) > at(b) ? -1 : 0;
}

/**
 * The order a merged list keeps: by time (newest or oldest first), equal times by
 * shard. (DynamoDB does not document the order of equal sort keys in one shard.)
 */
function expectMergedOrder(
  letters: readonly DeadLetter[],
  order: 'newest' | 'oldest',
): void {
  const keys = letters.map((l) => [l.redriveAt ?? l.failedAt, shardOf(l.id)]);
  const sorted = [...keys].sort(([t1, s1], [t2, s2]) =>
    t1 === t2
      ? Number(s1) - Number(s2)
      : (t1 ?? '') < (t2 ?? '') === (order === 'oldest')
        ? -1
        : 1,
  );
  expect(keys).toEqual(sorted);
}

function decodeJson(cursor: string): { status: string; after: unknown[] } {
  return JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
}

function encodeJson(json: unknown): string {
  return Buffer.from(JSON.stringify(json)).toString('base64url');
}

function action(
  kind: DeadLetterAction['action'],
  note: string | null = null,
): DeadLetterAction {
  return { at: NOW.toISOString(), action: kind, by: 'test', note };
}

function letter(
  status: DeadLetterStatus,
  overrides: Partial<DeadLetter> = {},
): DeadLetter {
  const id = `order.placed.v1.dead-letter:0:${randomUUID()}`;
  return {
    id,
    source: 'consumer',
    original: {
      topic: 'order.placed.v1',
      partition: 0,
      offset: '42',
      timestamp: NOW.getTime(),
      key: Buffer.from('order-1').toString('base64'),
      value: Buffer.from('{"bad":').toString('base64'),
      headers: [{ key: 'event-type', value: 'T3JkZXJQbGFjZWQ=' }],
    },
    error: {
      class: 'transient',
      name: 'StoreUnavailableError',
      message: 'throttled',
      stack: 'StoreUnavailableError: throttled',
    },
    consumer: 'orders',
    attempt: 0,
    correlationId: 'corr-1',
    failedAt: minutesFromNow(-10),
    status,
    redriveAt: status === 'SCHEDULED' ? minutesFromNow(1) : null,
    history: [
      action('RECEIVED'),
      action(status === 'SCHEDULED' ? 'SCHEDULED' : 'PARKED'),
    ],
    redrivenFrom: null,
    lineageId: id,
    redrivenTo: [],
    ...overrides,
  };
}

describe('DeadLetterRepository on DynamoDB', () => {
  const endpoint = inject('dynamodbEndpoint');
  const db = localDocumentClient(endpoint);
  const tableName = `dead-letters-repo-${randomUUID()}`;
  const letters = createDeadLetterRepository(db, tableName);

  beforeAll(async () => {
    await createTables(endpoint, [
      createTableInput(TABLES.deadLetters, tableName),
    ]);
  });
  afterAll(() => {
    db.config.requestHandler.destroy?.();
  });

  it('saves a letter once and reads it back as saved', async () => {
    // Prepare
    const parked = letter('PARKED');

    // Act
    const first = await letters.save(parked);
    const second = await letters.save({ ...parked, consumer: 'other' });
    const stored = await letters.get(parked.id);

    // Assess
    expect(first).toBe('saved');
    expect(second).toBe('exists');
    expect(stored).toEqual(parked);
    expect(await letters.get('no-such-letter')).toBeUndefined();
  });

  it('lists only the due SCHEDULED letters, most overdue first', async () => {
    // Prepare: a separate table, so letters of other tests cannot be due.
    const table = `dead-letters-due-${randomUUID()}`;
    await createTables(endpoint, [createTableInput(TABLES.deadLetters, table)]);
    const due = createDeadLetterRepository(db, table);
    const overdue = letter('SCHEDULED', { redriveAt: minutesFromNow(-5) });
    const dueNow = letter('SCHEDULED', { redriveAt: NOW.toISOString() });
    const notYet = letter('SCHEDULED', { redriveAt: minutesFromNow(5) });
    const parked = letter('PARKED', { failedAt: minutesFromNow(-60) });
    for (const each of [notYet, dueNow, parked, overdue]) await due.save(each);

    // Act
    const found = await due.listDue(NOW, 10);
    const limited = await due.listDue(NOW, 1);

    // Assess
    expect(found.map((l) => l.id)).toEqual([overdue.id, dueNow.id]);
    expect(limited.map((l) => l.id)).toEqual([overdue.id]);
  });

  it('lists by status newest first, filters by topic and pages with a cursor', async () => {
    // Prepare
    const table = `dead-letters-list-${randomUUID()}`;
    await createTables(endpoint, [createTableInput(TABLES.deadLetters, table)]);
    const list = createDeadLetterRepository(db, table);
    const old = letter('PARKED', { failedAt: minutesFromNow(-30) });
    const middle = letter('PARKED', { failedAt: minutesFromNow(-20) });
    const recent = letter('PARKED', { failedAt: minutesFromNow(-10) });
    const otherTopic = letter('PARKED', {
      failedAt: minutesFromNow(-15),
      original: { ...old.original, topic: 'payment.processed.v1' },
    });
    const scheduled = letter('SCHEDULED');
    for (const each of [old, middle, recent, otherTopic, scheduled]) {
      await list.save(each);
    }

    // Act
    const firstPage = await list.list({ status: 'PARKED', limit: 2 });
    const secondPage = await list.list({
      status: 'PARKED',
      limit: 2,
      cursor: firstPage.cursor,
    });
    const byTopic = await list.list({
      status: 'PARKED',
      topic: 'order.placed.v1',
      limit: 10,
    });
    const topicPage = await list.list({
      status: 'PARKED',
      topic: 'order.placed.v1',
      limit: 1,
    });
    const everything = await list.list({ limit: 10 });
    const everyOtherTopic = await list.list({
      topic: 'payment.processed.v1',
      limit: 10,
    });

    // Assess
    expect(firstPage.items.map((l) => l.id)).toEqual([
      recent.id,
      otherTopic.id,
    ]);
    expect(firstPage.cursor).toEqual(expect.any(String));
    expect(secondPage.items.map((l) => l.id)).toEqual([middle.id, old.id]);
    expect(byTopic.items.map((l) => l.id)).toEqual([
      recent.id,
      middle.id,
      old.id,
    ]);
    expect(byTopic.cursor).toBeNull();
    expect(topicPage.items.map((l) => l.id)).toEqual([recent.id]);
    const nextTopicPage = await list.list({
      status: 'PARKED',
      topic: 'order.placed.v1',
      limit: 5,
      cursor: topicPage.cursor,
    });
    expect(nextTopicPage.items.map((l) => l.id)).toEqual([middle.id, old.id]);
    expect(everything.items).toHaveLength(5);
    expect(everything.cursor).toBeNull();
    expect(everyOtherTopic.items.map((l) => l.id)).toEqual([otherTopic.id]);
  });

  it('pages 50 letters of one status spread over the shards, each once, newest first', async () => {
    // Prepare: times in steps of 3 minutes over 25 values, so pairs tie.
    const table = `dead-letters-shards-${randomUUID()}`;
    await createTables(endpoint, [createTableInput(TABLES.deadLetters, table)]);
    const repo = createDeadLetterRepository(db, table);
    const parked = Array.from({ length: 50 }, (_, i) =>
      letter('PARKED', { failedAt: minutesFromNow(-3 * (i % 25)) }),
    );
    const others = [letter('SCHEDULED'), letter('DISCARDED')];
    await Promise.all([...parked, ...others].map((each) => repo.save(each)));

    // Act
    const pages: DeadLetter[][] = [];
    const cursors: string[] = [];
    let cursor: string | null = null;
    do {
      const page = await repo.list({ status: 'PARKED', limit: 7, cursor });
      pages.push(page.items);
      cursor = page.cursor;
      if (cursor) cursors.push(cursor);
    } while (cursor && pages.length < 20);

    // Assess: each once, in order, and the same order every time.
    const listed = pages.flat();
    expect(new Set(parked.map((l) => shardOf(l.id))).size).toBeGreaterThan(4);
    expect(listed.map((l) => l.id).sort()).toEqual(
      parked.map((l) => l.id).sort(),
    );
    expect(listed).toEqual(expect.arrayContaining(parked));
    expectMergedOrder(listed, 'newest');
    expect(pages.map((page) => page.length)).toEqual([7, 7, 7, 7, 7, 7, 7, 1]);
    const again = await repo.list({ status: 'PARKED', limit: 50 });
    expect(again.items.map((l) => l.id)).toEqual(listed.map((l) => l.id));
    expect(again.cursor).toBeNull();
    for (const each of cursors) expect(each.length).toBeLessThan(1_500);
  });

  it('lists every shard in order under a topic filter', async () => {
    // Prepare
    const table = `dead-letters-topic-${randomUUID()}`;
    await createTables(endpoint, [createTableInput(TABLES.deadLetters, table)]);
    const repo = createDeadLetterRepository(db, table);
    const letters = Array.from({ length: 30 }, (_, i) => {
      const base = letter('PARKED', { failedAt: minutesFromNow(-i) });
      return i % 3 === 0
        ? {
            ...base,
            original: { ...base.original, topic: 'payment.processed.v1' },
          }
        : base;
    });
    await Promise.all(letters.map((each) => repo.save(each)));

    // Act
    const first = await repo.list({
      status: 'PARKED',
      topic: 'payment.processed.v1',
      limit: 4,
    });
    const rest = await repo.list({
      status: 'PARKED',
      topic: 'payment.processed.v1',
      limit: 100,
      cursor: first.cursor,
    });

    // Assess
    expect([...first.items, ...rest.items].map((l) => l.id)).toEqual(
      letters
        .filter((l) => l.original.topic === 'payment.processed.v1')
        .sort(newestFirst)
        .map((l) => l.id),
    );
    expect(first.items).toHaveLength(4);
    expect(rest.cursor).toBeNull();
  });

  it('moves the shard key with the status, in the same shard', async () => {
    // Prepare
    const table = `dead-letters-move-${randomUUID()}`;
    await createTables(endpoint, [createTableInput(TABLES.deadLetters, table)]);
    const repo = createDeadLetterRepository(db, table);
    const parked = letter('PARKED');
    await repo.save(parked);
    const stored = async () =>
      (
        await db.send(
          new GetCommand({ TableName: table, Key: { id: parked.id } }),
        )
      ).Item;
    const before = await stored();

    // Act
    await repo.transition(parked.id, ['PARKED'], {
      status: 'SCHEDULED',
      redriveAt: minutesFromNow(-1),
      action: action('SCHEDULED'),
    });
    const after = await stored();
    const listedParked = await repo.list({ status: 'PARKED', limit: 10 });
    const listedScheduled = await repo.list({ status: 'SCHEDULED', limit: 10 });

    // Assess
    const shard = shardOf(parked.id);
    expect(before?.statusShard).toBe(`PARKED#${shard}`);
    expect(after?.statusShard).toBe(`SCHEDULED#${shard}`);
    expect(after?.statusShard).toBe(statusShardOf('SCHEDULED', parked.id));
    expect(listedParked).toEqual({ items: [], cursor: null });
    expect(listedScheduled.items.map((l) => l.id)).toEqual([parked.id]);
  });

  it('finds due letters in every shard, most overdue first, up to the limit', async () => {
    // Prepare
    const table = `dead-letters-due-shards-${randomUUID()}`;
    await createTables(endpoint, [createTableInput(TABLES.deadLetters, table)]);
    const repo = createDeadLetterRepository(db, table);
    const due = Array.from({ length: 24 }, (_, i) =>
      letter('SCHEDULED', { redriveAt: minutesFromNow(-(i % 12)) }),
    );
    const later = Array.from({ length: 8 }, (_, i) =>
      letter('SCHEDULED', { redriveAt: minutesFromNow(i + 1) }),
    );
    await Promise.all([...due, ...later].map((each) => repo.save(each)));

    // Act
    const five = await repo.listDue(NOW, 5);
    const all = await repo.listDue(NOW, 100);

    // Assess
    expect(new Set(due.map((l) => shardOf(l.id))).size).toBeGreaterThan(4);
    expect(all.map((l) => l.id).sort()).toEqual(due.map((l) => l.id).sort());
    expectMergedOrder(all, 'oldest');
    expect(five).toEqual(all.slice(0, 5));
  });

  it('refuses a tampered cursor as invalid, never reaching DynamoDB with it', async () => {
    // Prepare
    const table = `dead-letters-tamper-${randomUUID()}`;
    await createTables(endpoint, [createTableInput(TABLES.deadLetters, table)]);
    const repo = createDeadLetterRepository(db, table);
    // All in shard 0: the first page leaves that shard part-read, so the cursor
    // holds a key for it (a shard whose one letter was returned is done: null).
    const inShardZero = (): DeadLetter => {
      for (;;) {
        const parked = letter('PARKED');
        if (shardOf(parked.id) === 0) return parked;
      }
    };
    await Promise.all(
      Array.from({ length: 12 }, () => repo.save(inShardZero())),
    );
    const page = await repo.list({ status: 'PARKED', limit: 3 });
    const real = decodeJson(page.cursor ?? '');
    const at = real.after.findIndex((p) => Array.isArray(p) && p.length === 2);
    const withKey = (key: unknown) =>
      encodeJson({ ...real, after: real.after.with(at, key) });

    // Act
    const failures = await Promise.all(
      [
        withKey(['', 'x']),
        withKey(['2025-03-01T12:00:00.000Z', '']),
        withKey(['2025-03-01T12:00:00.000Z', 'x'.repeat(3_000)]),
        withKey('x'),
        encodeJson({ ...real, after: real.after.slice(1) }),
        encodeJson({ ...real, status: 'SCHEDULED' }),
        encodeJson({ id: 'x', status: 'PARKED', sortAt: 'y' }),
        // Shifted by one character: every byte decodes differently. (A character
        // appended may decode to nothing, leaving the cursor valid.)
        `x${page.cursor}`,
      ].map((cursor) =>
        failureOf(repo.list({ status: 'PARKED', limit: 3, cursor })),
      ),
    );
    const asScan = await failureOf(
      repo.list({ limit: 3, cursor: page.cursor }),
    );

    // Assess
    expect(at).toBeGreaterThanOrEqual(0);
    for (const [i, failure] of failures.entries()) {
      expect(failure, String(i)).toBeInstanceOf(InvalidCursorError);
    }
    expect(asScan).toBeInstanceOf(InvalidCursorError);
  });

  it('backfills the shard key of letters stored before the index was sharded', async () => {
    // Prepare: as the former release stored them, with no statusShard.
    const table = `dead-letters-backfill-${randomUUID()}`;
    await createTables(endpoint, [createTableInput(TABLES.deadLetters, table)]);
    const repo = createDeadLetterRepository(db, table);
    const old = [
      letter('PARKED', { failedAt: minutesFromNow(-3) }),
      letter('PARKED', { failedAt: minutesFromNow(-2) }),
      letter('SCHEDULED', { redriveAt: minutesFromNow(-1) }),
    ];
    for (const each of old) {
      const { redrivenTo: _, ...item } = each;
      await db.send(
        new PutCommand({
          TableName: table,
          Item: { ...item, sortAt: each.redriveAt ?? each.failedAt },
        }),
      );
    }
    const current = letter('PARKED', { failedAt: minutesFromNow(-1) });
    await repo.save(current);
    const listedBefore = await repo.list({ status: 'PARKED', limit: 10 });

    // Act
    const first = await addStatusShards(db, table);
    const second = await addStatusShards(db, table);
    const listedAfter = await repo.list({ status: 'PARKED', limit: 10 });
    const dueAfter = await repo.listDue(NOW, 10);
    const { Items = [] } = await db.send(new ScanCommand({ TableName: table }));

    // Assess
    expect(listedBefore.items.map((l) => l.id)).toEqual([current.id]);
    expect(first).toEqual({ scanned: 4, updated: 3, raced: 0 });
    expect(second).toEqual({ scanned: 4, updated: 0, raced: 0 });
    expect(listedAfter.items.map((l) => l.id)).toEqual([
      current.id,
      old[1]?.id,
      old[0]?.id,
    ]);
    expect(dueAfter.map((l) => l.id)).toEqual([old[2]?.id]);
    for (const item of Items) {
      expect(item.statusShard).toBe(statusShardOf(item.status, item.id));
    }
  });

  it('refuses a cursor it did not hand out, or one of another status', async () => {
    // Prepare
    await letters.save(letter('PARKED'));
    await letters.save(letter('PARKED'));
    const page = await letters.list({ status: 'PARKED', limit: 1 });

    // Act
    const garbage = await failureOf(
      letters.list({ limit: 1, cursor: 'not a cursor' }),
    );
    const otherStatus = await failureOf(
      letters.list({
        status: 'SCHEDULED',
        limit: 1,
        cursor: page.cursor,
      }),
    );

    // Assess
    expect(page.cursor).toEqual(expect.any(String));
    expect(garbage).toBeInstanceOf(InvalidCursorError);
    expect(otherStatus).toBeInstanceOf(InvalidCursorError);
  });

  it.each([
    ['an empty id', { id: '' }],
    ['an id over the key size limit', { id: 'x'.repeat(3_000) }],
  ])(
    'refuses a forged cursor with %s (DynamoDB answered it with a ValidationException)',
    async (_, key) => {
      // Prepare
      const cursor = Buffer.from(JSON.stringify(key)).toString('base64url');

      // Act
      const failure = await failureOf(letters.list({ limit: 1, cursor }));

      // Assess
      expect(failure).toBeInstanceOf(InvalidCursorError);
    },
  );

  it('schedules, redrives and discards, keeping every action in the history', async () => {
    // Prepare
    const parked = letter('PARKED');
    await letters.save(parked);
    const redriveAt = minutesFromNow(2);

    // Act
    const scheduled = await letters.transition(parked.id, ['PARKED'], {
      status: 'SCHEDULED',
      redriveAt,
      action: action('SCHEDULED', 'operator asked for a retry'),
    });
    const redriven = await letters.transition(
      parked.id,
      ['SCHEDULED', 'PARKED'],
      { status: 'REDRIVEN', action: action('REDRIVEN'), attempt: 1 },
    );
    const discarded = await letters.transition(
      parked.id,
      ['REDRIVEN', 'PARKED'],
      { status: 'DISCARDED', action: action('DISCARDED', 'obsolete order') },
    );

    // Assess
    expect(scheduled).toMatchObject({ status: 'SCHEDULED', redriveAt });
    expect(redriven).toMatchObject({
      status: 'REDRIVEN',
      redriveAt: null,
      attempt: 1,
    });
    expect(discarded.status).toBe('DISCARDED');
    expect(discarded.history.map((entry) => entry.action)).toEqual([
      'RECEIVED',
      'PARKED',
      'SCHEDULED',
      'REDRIVEN',
      'DISCARDED',
    ]);
    expect(discarded.history.at(-1)?.note).toBe('obsolete order');
    expect(await letters.get(parked.id)).toEqual(discarded);
  });

  it('makes a scheduled letter due, and no longer due once redriven', async () => {
    // Prepare
    const table = `dead-letters-sched-${randomUUID()}`;
    await createTables(endpoint, [createTableInput(TABLES.deadLetters, table)]);
    const repo = createDeadLetterRepository(db, table);
    const parked = letter('PARKED');
    await repo.save(parked);

    // Act
    await repo.transition(parked.id, ['PARKED'], {
      status: 'SCHEDULED',
      redriveAt: minutesFromNow(-1),
      action: action('SCHEDULED'),
    });
    const dueWhileScheduled = await repo.listDue(NOW, 10);
    await repo.transition(parked.id, ['SCHEDULED'], {
      status: 'REDRIVEN',
      action: action('REDRIVEN'),
    });
    const dueAfterRedrive = await repo.listDue(NOW, 10);
    const redrivenList = await repo.list({ status: 'REDRIVEN', limit: 10 });

    // Assess
    expect(dueWhileScheduled.map((l) => l.id)).toEqual([parked.id]);
    expect(dueAfterRedrive).toEqual([]);
    expect(redrivenList.items.map((l) => l.id)).toEqual([parked.id]);
  });

  it('refuses a transition from a status not allowed, changing nothing', async () => {
    // Prepare
    const discarded = letter('DISCARDED', {
      history: [action('RECEIVED'), action('DISCARDED', 'duplicate')],
    });
    await letters.save(discarded);

    // Act
    const redrive = await failureOf(
      letters.transition(discarded.id, ['PARKED', 'SCHEDULED'], {
        status: 'REDRIVEN',
        action: action('REDRIVEN'),
      }),
    );
    const missing = await failureOf(
      letters.transition('no-such-letter', ['PARKED'], {
        status: 'DISCARDED',
        action: action('DISCARDED'),
      }),
    );

    // Assess
    expect(redrive).toBeInstanceOf(DeadLetterStateError);
    expect(redrive).toMatchObject({ current: 'DISCARDED' });
    expect(missing).toBeInstanceOf(DeadLetterNotFoundError);
    expect(await letters.get(discarded.id)).toEqual(discarded);
  });

  it('records a corrected redrive in the history and never changes the original', async () => {
    // Prepare
    const parked = letter('PARKED');
    await letters.save(parked);
    const correction = correctionOf(Buffer.from('{"fixed":true}'));

    // Act
    const redriven = await letters.transition(parked.id, ['PARKED'], {
      status: 'REDRIVEN',
      attempt: 1,
      action: {
        ...action('REDRIVEN', 'corrected value'),
        correction,
        outcome: { result: 'SENT', topic: 'order.placed.v1', attempt: 1 },
      },
    });
    const { Item } = await db.send(
      new GetCommand({ TableName: tableName, Key: { id: parked.id } }),
    );

    // Assess
    expect(redriven.original).toEqual(parked.original);
    expect(Item?.original).toEqual(parked.original);
    expect(redriven.history.at(-1)).toEqual({
      ...action('REDRIVEN', 'corrected value'),
      correction,
      outcome: { result: 'SENT', topic: 'order.placed.v1', attempt: 1 },
    });
    expect(await letters.get(parked.id)).toEqual(redriven);
  });

  it('links a letter to the ones it came back as, once each', async () => {
    // Prepare
    const first = letter('REDRIVEN');
    await letters.save(first);
    const again = letter('PARKED', {
      redrivenFrom: first.id,
      lineageId: first.id,
    });
    await letters.save(again);
    const third = `order.placed.v1.dead-letter:1:${randomUUID()}`;

    // Act: the second link twice, as a redelivered letter would.
    await letters.linkRedrive(first.id, again.id);
    await letters.linkRedrive(first.id, again.id);
    await letters.linkRedrive(first.id, third);
    const missing = await failureOf(
      letters.linkRedrive(`no-such-letter-${randomUUID()}`, again.id),
    );

    // Assess
    expect(await letters.get(first.id)).toEqual({
      ...first,
      redrivenTo: [again.id, third].sort(),
    });
    expect(await letters.get(again.id)).toEqual(again);
    expect(missing).toBeInstanceOf(DeadLetterNotFoundError);
  });

  it('reads a letter stored in the old shape, with its received value as the original', async () => {
    // Prepare: as stored before: a corrected redrive overwrote original.value, kept
    // the received value in receivedValue and the correction as the entry's value;
    // no lineage fields.
    const received = Buffer.from('{"bad":').toString('base64');
    const corrected = Buffer.from('{"fixed":true}');
    const old = letter('REDRIVEN');
    const {
      redrivenFrom: _from,
      lineageId: _lineage,
      redrivenTo: _to,
      ...oldShape
    } = old;
    await db.send(
      new PutCommand({
        TableName: tableName,
        Item: {
          ...oldShape,
          original: { ...old.original, value: corrected.toString('base64') },
          receivedValue: received,
          history: [
            ...old.history,
            {
              ...action('REDRIVEN', 'fixed'),
              value: corrected.toString('base64'),
            },
          ],
          sortAt: old.failedAt,
        },
      }),
    );
    const plain = letter('PARKED');
    const {
      redrivenFrom: _f,
      lineageId: _l,
      redrivenTo: _t,
      ...plainOld
    } = plain;
    await db.send(
      new PutCommand({
        TableName: tableName,
        Item: { ...plainOld, sortAt: plain.failedAt },
      }),
    );

    // Act
    const read = await letters.get(old.id);
    const readPlain = await letters.get(plain.id);

    // Assess
    expect(read).toEqual({
      ...old,
      original: { ...old.original, value: received },
      history: [
        ...old.history,
        { ...action('REDRIVEN', 'fixed'), correction: correctionOf(corrected) },
      ],
    });
    expect(readPlain).toEqual(plain);
  });
});
