/**
 * The local DynamoDB stream mapping (local/runtime/dynamodb-stream/)
 * against the real DynamoDB Local of the global setup: what the function gets, in
 * which order, through which filter, and what a failure makes the mapping do
 * (https://docs.aws.amazon.com/lambda/latest/dg/with-ddb.html). Every test has its
 * own table with a NEW_AND_OLD_IMAGES stream, read from TRIM_HORIZON, and a fake
 * function that records each event (checked against Powertools'
 * `DynamoDBStreamSchema`) and answers as told. Nothing waits on time: every wait is
 * `expect.poll` on what the fake function saw.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { DynamoDBStreamSchema } from '@aws-lambda-powertools/parser/schemas/dynamodb';
import {
  type AttributeValue,
  DeleteItemCommand,
  DeleteTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  PutItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { afterAll, describe, expect, inject, it, onTestFinished } from 'vitest';
import { LOCAL_AWS } from '#platform/dynamodb.ts';
import { createTables } from '#platform/platform.ts';
import {
  type LocalStreamMappingRunner,
  type StreamTarget,
  startStreamMapping,
} from '../../../local/runtime/dynamodb-stream/mapping.ts';
import type { LambdaStreamRecord } from '../../../local/runtime/dynamodb-stream/stream-records.ts';
import type { InvokeResult } from '../../../local/runtime/lambda.ts';
import type { LocalStreamMapping } from '../../../local/runtime/template.ts';

/**
 * A write on DynamoDB Local reaching the fake function through the stream (an idle
 * shard is read 4 times a second). Seen: each whole test of this file in 0.1-1.1 s
 * on the 2-core machine shared with other runs; the deadline only bounds how long
 * a broken test takes to fail.
 */
const STREAMED_MS = 30_000;

const OK: InvokeResult = { ok: true, result: null, durationMs: 1 };
const ERROR: InvokeResult = {
  ok: false,
  errorType: 'Error',
  errorMessage: 'boom',
  timedOut: false,
  durationMs: 1,
};

/** A fake function: records each event and answers as told. */
function fakeFunction(
  answer: (
    records: readonly LambdaStreamRecord[],
    call: number,
  ) => Promise<InvokeResult> | InvokeResult = () => OK,
) {
  const events: LambdaStreamRecord[][] = [];
  const invalid: unknown[] = [];
  const target: StreamTarget = {
    name: 'fake',
    async invoke(event) {
      if (!DynamoDBStreamSchema.safeParse(event).success) invalid.push(event);
      // A copy through JSON, as a function gets its event.
      const records = JSON.parse(JSON.stringify(event)).Records;
      events.push(records);
      return answer(records, events.length);
    },
  };
  const all = () => events.flat();
  return {
    target,
    events,
    invalid,
    all,
    /** `pk` of each record of each call. */
    calls: () => events.map((batch) => batch.map(pkOf)),
  };
}

const pkOf = (record: LambdaStreamRecord): string | undefined =>
  (record.dynamodb.Keys as Record<string, { S?: string }> | undefined)?.pk?.S;

describe('local DynamoDB stream mapping', () => {
  const endpoint = inject('dynamodbEndpoint');
  const client = new DynamoDBClient({ endpoint, ...LOCAL_AWS });
  const tables: string[] = [];

  afterAll(async () => {
    for (const TableName of tables) {
      await client.send(new DeleteTableCommand({ TableName }));
    }
    client.destroy();
  });

  /** A fresh table (pk, sk) with a NEW_AND_OLD_IMAGES stream. */
  async function streamTable(
    keys: { name: string; type: 'S' | 'N' }[] = [
      { name: 'pk', type: 'S' },
      { name: 'sk', type: 'S' },
    ],
  ): Promise<string> {
    const TableName = `stream-${randomUUID()}`;
    await createTables(endpoint, [
      {
        TableName,
        BillingMode: 'PAY_PER_REQUEST',
        KeySchema: keys.map(({ name }, i) => ({
          AttributeName: name,
          KeyType: i === 0 ? 'HASH' : 'RANGE',
        })),
        AttributeDefinitions: keys.map(({ name, type }) => ({
          AttributeName: name,
          AttributeType: type,
        })),
        StreamSpecification: {
          StreamEnabled: true,
          StreamViewType: 'NEW_AND_OLD_IMAGES',
        },
      },
    ]);
    tables.push(TableName);
    return TableName;
  }

  /** A mapping as readStreamMappings gives it, with Lambda's defaults. */
  function mappingOf(
    table: string,
    overrides: Partial<LocalStreamMapping> = {},
  ): LocalStreamMapping {
    return {
      logicalId: 'StreamMapping',
      functionLogicalId: 'Fake',
      tableLogicalId: table,
      startingPosition: 'TRIM_HORIZON',
      batchSize: 100,
      maximumBatchingWindowSeconds: 0,
      maximumRetryAttempts: -1,
      maximumRecordAgeSeconds: -1,
      bisectBatchOnFunctionError: false,
      reportBatchItemFailures: false,
      parallelizationFactor: 1,
      enabled: true,
      filters: [],
      ...overrides,
    };
  }

  /** Starts the mapping; it stops when the test ends, whatever happens. */
  async function start(
    mapping: LocalStreamMapping,
    target: StreamTarget,
  ): Promise<{ runner: LocalStreamMappingRunner; log: string[] }> {
    const log: string[] = [];
    const runner = await startStreamMapping(mapping, target, {
      endpoint,
      log: (line) => log.push(line),
      retryDelayMs: 10,
      maxRetryDelayMs: 50,
    });
    onTestFinished(() => runner.stop());
    return { runner, log };
  }

  const put = (table: string, item: Record<string, AttributeValue>) =>
    client.send(new PutItemCommand({ TableName: table, Item: item }));
  const item = (pk: string, sk: string, extra = {}) => ({
    pk: { S: pk },
    sk: { S: sk },
    ...extra,
  });

  it('delivers INSERT, MODIFY and REMOVE with their images, in order per item, in the shape of AWS', async () => {
    // Prepare
    const table = await streamTable();
    const fake = fakeFunction();
    await start(mappingOf(table), fake.target);
    const streamArn = (
      await client.send(new DescribeTableCommand({ TableName: table }))
    ).Table?.LatestStreamArn;

    // Act
    await put(table, item('a', 'SNAPSHOT', { v: { N: '1' } }));
    await put(table, item('b', 'SNAPSHOT', { v: { N: '1' } }));
    await put(table, item('a', 'SNAPSHOT', { v: { N: '2' } }));
    await put(table, item('b', 'SNAPSHOT', { v: { N: '2' } }));
    await client.send(
      new DeleteItemCommand({
        TableName: table,
        Key: { pk: { S: 'a' }, sk: { S: 'SNAPSHOT' } },
      }),
    );

    // Assess
    await expect
      .poll(() => fake.all().length, { timeout: STREAMED_MS })
      .toBe(5);
    expect(fake.invalid).toEqual([]);
    const of = (pk: string) =>
      fake.all().filter((record) => pkOf(record) === pk);
    const version = (image: unknown) =>
      (image as { v?: { N?: string } } | undefined)?.v?.N;
    const story = (pk: string) =>
      of(pk).map((record) => [
        record.eventName,
        version(record.dynamodb.OldImage),
        version(record.dynamodb.NewImage),
      ]);
    expect(story('a')).toEqual([
      ['INSERT', undefined, '1'],
      ['MODIFY', '1', '2'],
      ['REMOVE', '2', undefined],
    ]);
    expect(story('b')).toEqual([
      ['INSERT', undefined, '1'],
      ['MODIFY', '1', '2'],
    ]);
    for (const pk of ['a', 'b']) {
      const sequences = of(pk).map((record) =>
        BigInt(record.dynamodb.SequenceNumber as string),
      );
      expect(sequences).toEqual(
        [...sequences].sort((x, y) => (x < y ? -1 : 1)),
      );
    }
    const now = Date.now() / 1000;
    for (const record of fake.all()) {
      expect(record).toMatchObject({
        eventSource: 'aws:dynamodb',
        eventVersion: '1.1',
        awsRegion: LOCAL_AWS.region,
        eventSourceARN: streamArn,
        dynamodb: {
          Keys: { pk: { S: pkOf(record) }, sk: { S: 'SNAPSHOT' } },
          StreamViewType: 'NEW_AND_OLD_IMAGES',
        },
      });
      const created = record.dynamodb.ApproximateCreationDateTime as number;
      expect(Number.isInteger(created)).toBe(true);
      // Seconds, not milliseconds: within minutes of now.
      expect(Math.abs(now - created)).toBeLessThan(600);
      expect(record.dynamodb.SizeBytes).toBeGreaterThan(0);
    }
    expect(new Set(fake.all().map((r) => r.eventID)).size).toBe(5);
  });

  it('has the keys of the Powertools DynamoDB stream event at every level', async () => {
    // Prepare: the fixture's item, key `Id` (N), written and changed as there.
    const fixture = JSON.parse(
      readFileSync(
        new URL(
          '../../fixtures/aws-events/dynamodb-stream.json',
          import.meta.url,
        ),
        'utf8',
      ),
    ) as { Records: unknown[] };
    const table = await streamTable([{ name: 'Id', type: 'N' }]);
    const fake = fakeFunction();
    await start(mappingOf(table), fake.target);

    // Act
    await put(table, { Id: { N: '101' }, Message: { S: 'New item!' } });
    await client.send(
      new UpdateItemCommand({
        TableName: table,
        Key: { Id: { N: '101' } },
        UpdateExpression: 'SET Message = :m',
        ExpressionAttributeValues: { ':m': { S: 'This item has changed' } },
      }),
    );

    // Assess
    await expect
      .poll(() => fake.all().length, { timeout: STREAMED_MS })
      .toBe(2);
    const [insert, modify] = fake.all();
    const [fixtureInsert, fixtureModify] = fixture.Records;
    expect(keyPaths(insert)).toEqual(keyPaths(fixtureInsert));
    // The fixture's MODIFY has no ApproximateCreationDateTime (its INSERT has
    // one); Lambda gives it on every record.
    expect(keyPaths(modify)).toEqual(
      [
        ...keyPaths(fixtureModify),
        'dynamodb.ApproximateCreationDateTime',
      ].sort(),
    );
  });

  it('hands the function only the records its filter lets through', async () => {
    // Prepare: the outbox relay's filter (infra/orders-stack.ts).
    const table = await streamTable();
    const fake = fakeFunction();
    const { runner } = await start(
      mappingOf(table, {
        filters: [
          JSON.stringify({
            eventName: ['INSERT', 'MODIFY'],
            dynamodb: { NewImage: { sk: { S: ['SNAPSHOT'] } } },
          }),
        ],
      }),
      fake.target,
    );

    // Act
    await put(table, item('o1', 'EVENT#1'));
    await put(table, item('o1', 'SNAPSHOT', { v: { N: '1' } }));
    await put(table, item('o1', 'SNAPSHOT', { v: { N: '2' } }));
    await client.send(
      new DeleteItemCommand({
        TableName: table,
        Key: { pk: { S: 'o1' }, sk: { S: 'SNAPSHOT' } },
      }),
    );
    await put(table, item('o2', 'EVENT#1'));

    // Assess
    await expect
      .poll(() => runner.stats().filteredOut, { timeout: STREAMED_MS })
      .toBe(3);
    await expect
      .poll(() => fake.all().length, { timeout: STREAMED_MS })
      .toBe(2);
    expect(
      fake.all().map((r) => [r.eventName, pkOf(r), r.dynamodb.NewImage]),
    ).toEqual([
      ['INSERT', 'o1', item('o1', 'SNAPSHOT', { v: { N: '1' } })],
      ['MODIFY', 'o1', item('o1', 'SNAPSHOT', { v: { N: '2' } })],
    ]);
  });

  it('redelivers from the record a partial batch response names, and not the ones before it', async () => {
    // Prepare: four records in the stream before the mapping starts, so that they
    // come in one batch; the first call reports the third as failed.
    const table = await streamTable();
    for (const pk of ['r1', 'r2', 'r3', 'r4']) await put(table, item(pk, 'S'));
    const fake = fakeFunction((records, call) =>
      call === 1
        ? {
            ...OK,
            result: {
              batchItemFailures: [
                { itemIdentifier: records[3]?.dynamodb.SequenceNumber },
                { itemIdentifier: records[2]?.dynamodb.SequenceNumber },
              ],
            },
          }
        : OK,
    );

    // Act
    await start(
      mappingOf(table, { reportBatchItemFailures: true }),
      fake.target,
    );
    await expect
      .poll(() => fake.events.length, { timeout: STREAMED_MS })
      .toBe(2);
    await put(table, item('r5', 'S'));

    // Assess: after the retry, the shard moves on.
    await expect
      .poll(() => fake.events.length, { timeout: STREAMED_MS })
      .toBe(3);
    expect(fake.calls()).toEqual([
      ['r1', 'r2', 'r3', 'r4'],
      ['r3', 'r4'],
      ['r5'],
    ]);
  });

  it('takes an unknown item identifier as a failure of the whole batch', async () => {
    // Prepare
    const table = await streamTable();
    for (const pk of ['u1', 'u2']) await put(table, item(pk, 'S'));
    const fake = fakeFunction((_, call) =>
      call === 1
        ? {
            ...OK,
            result: { batchItemFailures: [{ itemIdentifier: 'no-such' }] },
          }
        : OK,
    );

    // Act
    await start(
      mappingOf(table, { reportBatchItemFailures: true }),
      fake.target,
    );

    // Assess
    await expect
      .poll(() => fake.events.length, { timeout: STREAMED_MS })
      .toBe(2);
    expect(fake.calls()).toEqual([
      ['u1', 'u2'],
      ['u1', 'u2'],
    ]);
  });

  it('gives a failing batch up after MaximumRetryAttempts retries, and the shard moves on', async () => {
    // Prepare
    const table = await streamTable();
    await put(table, item('bad', 'S'));
    const fake = fakeFunction((records) =>
      records.some((r) => pkOf(r) === 'bad') ? ERROR : OK,
    );

    // Act
    const { runner, log } = await start(
      mappingOf(table, { maximumRetryAttempts: 1 }),
      fake.target,
    );
    await expect
      .poll(() => runner.stats().givenUp, { timeout: STREAMED_MS })
      .toBe(1);
    await put(table, item('good', 'S'));

    // Assess: one invocation and one retry, then the next record.
    await expect
      .poll(() => fake.events.length, { timeout: STREAMED_MS })
      .toBe(3);
    expect(fake.calls()).toEqual([['bad'], ['bad'], ['good']]);
    // The on-failure record (logged: destinations are not emulated) names the
    // batch given up.
    const line = log.find((l) => l.includes('RetriesExhausted')) ?? '';
    const onFailure = JSON.parse(line.slice(line.indexOf('{')));
    expect(onFailure).toMatchObject({
      requestContext: { condition: 'RetriesExhausted' },
      DDBStreamBatchInfo: {
        shardId: expect.stringMatching(/^shardId-/),
        startSequenceNumber: fake.events[0]?.[0]?.dynamodb.SequenceNumber,
        endSequenceNumber: fake.events[0]?.[0]?.dynamodb.SequenceNumber,
        batchSize: 1,
      },
    });
  });

  it('splits a failing batch in two with BisectBatchOnFunctionError, down to the record that fails', async () => {
    // Prepare: one batch of four, the second poisoned.
    const table = await streamTable();
    for (const pk of ['b1', 'bad', 'b3', 'b4']) await put(table, item(pk, 'S'));
    const fake = fakeFunction((records) =>
      records.some((r) => pkOf(r) === 'bad') ? ERROR : OK,
    );

    // Act
    const { runner } = await start(
      mappingOf(table, {
        bisectBatchOnFunctionError: true,
        maximumRetryAttempts: 0,
      }),
      fake.target,
    );

    // Assess
    await expect
      .poll(() => runner.stats().givenUp, { timeout: STREAMED_MS })
      .toBe(1);
    await expect
      .poll(() => fake.events.length, { timeout: STREAMED_MS })
      .toBe(5);
    expect(fake.calls()).toEqual([
      ['b1', 'bad', 'b3', 'b4'],
      ['b1', 'bad'],
      ['b1'],
      ['bad'],
      ['b3', 'b4'],
    ]);
  });

  it('stamps a record written while a batch is delivered with when it was written, not when the reader got to it', async () => {
    // Prepare: the function takes 2.5 s over the first batch (a slow function, or
    // retries); a record is written meanwhile. DynamoDB Local stamps creation times
    // only to the minute; the relay waits from this one (docs/outbox.md).
    const table = await streamTable();
    await put(table, item('first', 'S'));
    let writtenAt = 0;
    let releasedAt = 0;
    const fake = fakeFunction(async (_records, call) => {
      if (call === 1) {
        await put(table, item('late', 'S'));
        writtenAt = Date.now();
        await new Promise((resolve) => setTimeout(resolve, 2_500));
        releasedAt = Date.now();
      }
      return OK;
    });

    // Act
    await start(mappingOf(table), fake.target);
    await expect
      .poll(() => fake.calls().flat(), { timeout: STREAMED_MS })
      .toContain('late');

    // Assess: the second's bound is the look-ahead's sighting, within a second of the
    // write, not the read after the release.
    const late = fake.all().find((record) => pkOf(record) === 'late');
    const stampedMs = Number(late?.dynamodb.ApproximateCreationDateTime) * 1000;
    expect(stampedMs).toBeLessThanOrEqual(writtenAt + 1_000);
    expect(stampedMs).toBeLessThan(releasedAt - 1_000);
  });

  it('stops polling on stop(), once the invocation in flight has finished', async () => {
    // Prepare: the first call hangs until released.
    const table = await streamTable();
    let release: (result: InvokeResult) => void = () => {};
    const hanging = new Promise<InvokeResult>((resolve) => {
      release = resolve;
    });
    const fake = fakeFunction((_, call) => (call === 1 ? hanging : OK));
    const { runner } = await start(mappingOf(table), fake.target);
    await put(table, item('s1', 'S'));
    await expect
      .poll(() => fake.events.length, { timeout: STREAMED_MS })
      .toBe(1);

    // Act
    let stopped = false;
    const stopping = runner.stop().then(() => {
      stopped = true;
    });
    await put(table, item('s2', 'S'));
    const stoppedBeforeRelease = stopped;
    release(ERROR);
    await stopping;

    // Assess: not retried, and s2 never read; another mapping reads both.
    expect(stoppedBeforeRelease).toBe(false);
    const witness = fakeFunction();
    await start(mappingOf(table), witness.target);
    await expect
      .poll(() => witness.all().length, { timeout: STREAMED_MS })
      .toBe(2);
    expect(fake.calls()).toEqual([['s1']]);
  });
});

/** Every key path of a JSON value (`dynamodb.Keys.Id.N`), sorted. */
function keyPaths(value: unknown, prefix = ''): string[] {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return [];
  }
  return Object.entries(value)
    .flatMap(([key, sub]) => {
      const path = prefix ? `${prefix}.${key}` : key;
      return [path, ...keyPaths(sub, path)];
    })
    .sort();
}
