/**
 * Semantics of the local Kafka event source mapping against the real broker, one test
 * per rule of docs/aws-kafka-esm.md, from "Event payload" to "Filtering". Every test
 * has its own topic and consumer group, and a fake function that records each event
 * and answers as told.
 * Time never synchronises anything: the batching window and the retry backoff go
 * through an injected clock.
 */
import { randomUUID } from 'node:crypto';
import { Kafka, logLevel, type Message, type Producer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { EsmOnFailureRecord } from '#commons/dead-letter-codec.ts';
import { MskEvent } from '#commons/msk-event.ts';
import { createTopics } from '#platform/platform.ts';
import { pollUntil, retryRetriable } from '#platform/wait.ts';
import type { EsmClock } from '../../../local/runtime/esm/clock.ts';
import {
  type InvokeResult,
  type Invoker,
  type LocalEventSourceMapping,
  type LocalMapping,
  startEventSourceMapping,
} from '../../../local/runtime/esm/mapping.ts';
import { DestinationIsSourceTopicError } from '../../../local/runtime/esm/on-failure-destination.ts';
import type { KafkaEvent } from '../../../local/runtime/esm/records/kafka-event.ts';
import { ConsumerThread } from '../../../local/runtime/kafka-consumer-thread.ts';
import { CONSUMED_MS, SETTLES_MS } from '../deadlines.ts';
import { readRecords } from '../msk.ts';

const OK: InvokeResult = { ok: true, result: null, durationMs: 1 };
const ERROR: InvokeResult = {
  ok: false,
  errorType: 'Error',
  errorMessage: 'boom',
  timedOut: false,
  durationMs: 1,
};

interface Seen {
  readonly partition: number;
  readonly offset: number;
  readonly value: string | null;
}

/** A fake function: records each event (checked against `MskEvent`) and answers. */
function fakeFunction(
  answer: (
    records: readonly Seen[],
    call: number,
  ) => Promise<InvokeResult> | InvokeResult = () => OK,
) {
  const events: Seen[][] = [];
  const invalid: unknown[] = [];
  const invoker: Invoker = {
    name: 'fake',
    async invoke(event) {
      const parsed = MskEvent.safeParse(event);
      if (!parsed.success) {
        invalid.push(event);
        return ERROR;
      }
      const records = Object.values(parsed.data.records)
        .flat()
        .map((r) => ({
          partition: r.partition,
          offset: r.offset,
          value:
            r.value == null
              ? null
              : Buffer.from(r.value, 'base64').toString('utf8'),
        }));
      events.push(records);
      return answer(records, events.length);
    },
  };
  return {
    invoker,
    events,
    invalid,
    offsets: () => events.map((e) => e.map((r) => r.offset)),
  };
}

/** A fake function that keeps each event as delivered, unparsed, and succeeds. */
function rawFunction() {
  const events: unknown[] = [];
  const invoker: Invoker = {
    name: 'raw',
    async invoke(event) {
      events.push(event);
      return OK;
    },
  };
  return { invoker, events };
}

/** The window never elapses by itself; the test elapses it. Backoff is immediate. */
function controlledClock() {
  const windows: { ms: number; elapse: () => void }[] = [];
  const clock: Partial<EsmClock> = {
    sleep(ms, reason) {
      if (reason === 'backoff') return Promise.resolve();
      const { promise, resolve } = Promise.withResolvers<void>();
      windows.push({ ms, elapse: resolve });
      return promise;
    },
  };
  return { clock, windows };
}

const immediateBackoff: Partial<EsmClock> = {
  sleep: () => Promise.resolve(),
};

describe('local event source mapping', () => {
  const brokers = inject('kafkaBrokers');
  const kafka = new Kafka({
    clientId: 'esm-test',
    brokers,
    logLevel: logLevel.NOTHING,
  });
  const admin = kafka.admin();
  let producer: Producer;
  const running: LocalEventSourceMapping[] = [];

  beforeAll(async () => {
    // Idempotent: a retried send (a partition whose leader the producer did not know
    // yet, on a topic just made) must not append the same records twice, as the
    // tests count offsets exactly.
    producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await Promise.all([producer.connect(), admin.connect()]);
  });
  afterAll(async () => {
    await Promise.all(running.map((esm) => esm.stop()));
    await Promise.all([producer.disconnect(), admin.disconnect()]);
  });

  async function setup(partitions = 1, withDestination = false) {
    const topic = `esm.${randomUUID()}`;
    const dlt = `${topic}.dead-letter`;
    await createTopics(brokers, [
      { name: topic, partitions },
      ...(withDestination ? [{ name: dlt, partitions: 1 }] : []),
    ]);
    const mapping: LocalMapping = {
      logicalId: 'Mapping',
      functionLogicalId: 'Fake',
      topic,
      consumerGroupId: `esm-group-${randomUUID()}`,
      startingPosition: 'TRIM_HORIZON',
      batchSize: 10,
      maximumBatchingWindowSeconds: 0,
      maximumRetryAttempts: -1,
      maximumRecordAgeSeconds: -1,
      bisectBatchOnFunctionError: false,
      reportBatchItemFailures: false,
      ...(withDestination ? { onFailureDestination: `kafka://${dlt}` } : {}),
      enabled: true,
      filters: [],
    };
    return { topic, dlt, mapping };
  }

  async function start(
    mapping: LocalMapping,
    invoker: Invoker,
    clock: Partial<EsmClock> = immediateBackoff,
    maxInFlight?: number,
  ) {
    const esm = await startEventSourceMapping(mapping, invoker, {
      brokers,
      clock,
      ...(maxInFlight === undefined ? {} : { maxInFlight }),
    });
    running.push(esm);
    return esm;
  }

  async function produce(topic: string, messages: Message[]) {
    await producer.send({ topic, acks: -1, messages });
  }

  const values = (n: number, prefix = 'v') =>
    Array.from({ length: n }, (_, i) => ({ value: `${prefix}-${i}` }));

  async function committed(groupId: string, topic: string) {
    // The group's coordinator may move or still be loading (NOT_COORDINATOR, seen on
    // a loaded machine): retried, as kafkajs' consumers retry it.
    const [offsets] = await retryRetriable(
      () => admin.fetchOffsets({ groupId, topics: [topic] }),
      SETTLES_MS,
    );
    return (offsets?.partitions ?? [])
      .sort((a, b) => a.partition - b.partition)
      .map((p) => Number(p.offset));
  }

  /**
   * Waits for `check`; at the deadline it fails naming `what` and, where given, the
   * state `seen` describes (what was delivered so far), so that a failure on a loaded
   * machine says whether records were late, missing or delivered twice.
   */
  async function until(
    check: () => boolean,
    what: string,
    seen?: () => unknown,
  ) {
    const ok = await pollUntil(
      () => (check() ? true : undefined),
      CONSUMED_MS,
      20,
    );
    if (!ok) {
      const state = seen ? `; seen: ${JSON.stringify(seen())}` : '';
      throw new Error(`never happened: ${what}${state}`);
    }
  }

  it('cuts batches of at most BatchSize records', async () => {
    // Prepare: 7 records waiting; the window never elapses, so only full batches go.
    const { topic, mapping } = await setup();
    await produce(topic, values(7));
    const fn = fakeFunction();
    const { clock } = controlledClock();

    // Act
    const esm = await start(
      { ...mapping, batchSize: 3, maximumBatchingWindowSeconds: 300 },
      fn.invoker,
      clock,
    );
    await until(
      () => fn.events.length === 2 && esm.buffered() === 1,
      'two full batches',
    );
    await esm.stop();

    // Assess
    expect(fn.offsets()).toEqual([
      [0, 1, 2],
      [3, 4, 5],
    ]);
    expect(await committed(mapping.consumerGroupId, topic)).toEqual([6]);
    expect(fn.invalid).toEqual([]);
  });

  it('holds a batch open for the window, opened by the first record', async () => {
    // Prepare: the default 0.5 s window, elapsed by the test.
    const { topic, mapping } = await setup();
    const fn = fakeFunction();
    const { clock, windows } = controlledClock();
    const esm = await start(
      { ...mapping, maximumBatchingWindowSeconds: 0.5 },
      fn.invoker,
      clock,
    );

    // Act: one record opens the window; two more arrive while it is open.
    await produce(topic, values(1, 'first'));
    await until(() => windows.length === 1, 'window opened');
    await produce(topic, values(2, 'later'));
    await until(() => esm.buffered() === 3, 'three records buffered');
    const invokedBeforeWindow = fn.events.length;
    windows[0]?.elapse();
    await until(() => fn.events.length === 1, 'one invocation');
    await esm.stop();

    // Assess
    expect(windows[0]?.ms).toBe(500);
    expect(invokedBeforeWindow).toBe(0);
    expect(fn.offsets()).toEqual([[0, 1, 2]]);
  });

  it('invokes at once with window 0: no window opens, records go as they come', async () => {
    // Prepare: a clock whose window never elapses, so any wait would hang here.
    const { topic, mapping } = await setup();
    const fn = fakeFunction();
    const { clock, windows } = controlledClock();
    const esm = await start(
      { ...mapping, maximumBatchingWindowSeconds: 0 },
      fn.invoker,
      clock,
    );

    // Act: one record at a time, the next once the last was invoked (docs/domain.md:
    // the order path, one order after the other).
    await produce(topic, values(1, 'first'));
    await until(() => fn.events.length === 1, 'the first record invoked');
    await produce(topic, values(1, 'second'));
    await until(() => fn.events.length === 2, 'the second record invoked');
    await esm.stop();

    // Assess
    expect(windows).toEqual([]);
    expect(fn.offsets()).toEqual([[0], [1]]);
  });

  it('keeps offset order per partition, never two batches of one partition in flight', async () => {
    // Prepare: 3 partitions, 3 concurrent batches, small batches.
    const { topic, mapping } = await setup(3);
    const inFlight = new Set<number>();
    let overlaps = 0;
    const fn = fakeFunction(async (records) => {
      const partitions = new Set(records.map((r) => r.partition));
      for (const p of partitions) {
        if (inFlight.has(p)) overlaps += 1;
        inFlight.add(p);
      }
      // Yield to the event loop so that other batches can start meanwhile.
      for (let i = 0; i < 5; i += 1) {
        await new Promise((resolve) => setImmediate(resolve));
      }
      for (const p of partitions) inFlight.delete(p);
      return OK;
    });
    const perPartition = 20;
    await produce(
      topic,
      [0, 1, 2].flatMap((partition) =>
        values(perPartition, `p${partition}`).map((m) => ({ ...m, partition })),
      ),
    );

    // Act
    const esm = await start(
      { ...mapping, batchSize: 4 },
      fn.invoker,
      immediateBackoff,
      3,
    );
    await until(
      () => fn.events.flat().length === 3 * perPartition,
      'every record delivered',
      () =>
        fn.events.map((batch) =>
          batch.map((r) => `${r.partition}:${r.offset}`),
        ),
    );
    await esm.stop();

    // Assess: each partition's offsets arrive once, in order; no overlap.
    expect(overlaps).toBe(0);
    for (const partition of [0, 1, 2]) {
      const offsets = fn.events
        .flat()
        .filter((r) => r.partition === partition)
        .map((r) => r.offset);
      expect(offsets).toEqual(
        Array.from({ length: perPartition }, (_, i) => i),
      );
    }
    expect(fn.events.every((e) => e.length <= 4)).toBe(true);
    expect(await committed(mapping.consumerGroupId, topic)).toEqual([
      20, 20, 20,
    ]);
  });

  it('commits only after success: a batch failing while stopped is redelivered', async () => {
    // Prepare: the first invocation fails, and the mapping is stopped meanwhile.
    const { topic, mapping } = await setup();
    await produce(topic, values(3));
    const entered = Promise.withResolvers<void>();
    const gate = Promise.withResolvers<void>();
    const failing = fakeFunction(async () => {
      entered.resolve();
      await gate.promise;
      return ERROR;
    });
    const first = await start(mapping, failing.invoker);

    // Act
    await entered.promise;
    const stopping = first.stop();
    gate.resolve();
    await stopping;
    const afterStop = await committed(mapping.consumerGroupId, topic);
    const healthy = fakeFunction();
    const second = await start(mapping, healthy.invoker);
    await until(() => healthy.events.flat().length === 3, 'redelivered');
    await second.stop();

    // Assess
    expect(failing.events).toHaveLength(1);
    expect(afterStop).toEqual([-1]);
    expect(healthy.offsets().flat()).toEqual([0, 1, 2]);
    expect(await committed(mapping.consumerGroupId, topic)).toEqual([3]);
  });

  it('resumes from the committed offsets on restart, whatever the starting position', async () => {
    // Prepare: 5 records processed and committed.
    const { topic, mapping } = await setup();
    await produce(topic, values(5, 'before'));
    const before = fakeFunction();
    const first = await start(mapping, before.invoker);
    await until(() => before.events.flat().length === 5, 'first run');
    await first.stop();
    await produce(topic, values(3, 'after'));

    // Act: same group, TRIM_HORIZON: ignored for a group with offsets
    // (docs/aws-kafka-esm.md, Offsets and consumer groups).
    const after = fakeFunction();
    const second = await start(mapping, after.invoker);
    await until(() => after.events.flat().length === 3, 'second run');
    await second.stop();

    // Assess
    expect(after.events.flat().map((r) => r.value)).toEqual([
      'after-0',
      'after-1',
      'after-2',
    ]);
    expect(after.offsets().flat()).toEqual([5, 6, 7]);
    expect(await committed(mapping.consumerGroupId, topic)).toEqual([8]);
  });

  it('retries MaximumRetryAttempts times, then writes the AWS record to kafka://', async () => {
    // Prepare: one batch per record; the poison record always fails.
    const { topic, dlt, mapping } = await setup(1, true);
    const fn = fakeFunction((records) =>
      records.some((r) => r.value === 'poison') ? ERROR : OK,
    );
    await produce(topic, [
      { key: 'k-0', value: 'ok' },
      { key: 'k-1', value: 'poison', headers: { city: 'café' } },
      { key: 'k-2', value: 'ok' },
    ]);

    // Act
    const esm = await start(
      { ...mapping, batchSize: 1, maximumRetryAttempts: 2 },
      fn.invoker,
    );
    const letters = await readRecords(brokers, dlt, (r) => r.length >= 1);
    await until(() => fn.events.flat().some((r) => r.offset === 2), 'moved on');
    await esm.stop();

    // Assess: 1 attempt + 2 retries, then one destination message, then committed past.
    expect(fn.offsets()).toEqual([[0], [1], [1], [1], [2]]);
    expect(letters).toHaveLength(1);
    const [letter] = letters;
    expect(letter?.message.key?.toString()).toBe('k-1');
    const value: unknown = JSON.parse(letter?.message.value?.toString() ?? '');
    const record = EsmOnFailureRecord.parse(value);
    expect(record.requestContext).toMatchObject({
      condition: 'RetriesExhausted',
      approximateInvokeCount: 3,
      functionArn: 'arn:aws:lambda:us-east-1:000000000000:function:fake',
    });
    expect(record.responseContext).toEqual({
      statusCode: 200,
      executedVersion: '$LATEST',
      functionError: 'Unhandled',
    });
    expect(value).toMatchObject({
      version: '1.0',
      KafkaBatchInfo: {
        batchSize: 1,
        bootstrapServers: brokers.join(','),
        recordInfo: { offset: '1' },
      },
    });
    // The full payload, not the codec's stripped view: a complete one-record event.
    const payload = MskEvent.parse((value as { payload: unknown }).payload);
    const [original] = Object.values(payload.records).flat();
    expect(Object.keys(payload.records)).toEqual([`${topic}-0`]);
    expect(original?.offset).toBe(1);
    expect(original?.headers).toEqual([{ city: [99, 97, 102, -61, -87] }]);
    expect(await committed(mapping.consumerGroupId, topic)).toEqual([3]);
  });

  it('sends records older than MaximumRecordAgeInSeconds to the destination, not the function', async () => {
    // Prepare: one record an hour old, one fresh.
    const { topic, dlt, mapping } = await setup(1, true);
    const fn = fakeFunction();
    await produce(topic, [
      { key: 'old', value: 'old', timestamp: String(Date.now() - 3_600_000) },
      { key: 'new', value: 'new' },
    ]);

    // Act
    const esm = await start(
      { ...mapping, maximumRecordAgeSeconds: 60 },
      fn.invoker,
    );
    const letters = await readRecords(brokers, dlt, (r) => r.length >= 1);
    await until(() => fn.events.length === 1, 'fresh record invoked');
    await esm.stop();

    // Assess
    expect(fn.events.flat().map((r) => r.value)).toEqual(['new']);
    const record = EsmOnFailureRecord.parse(
      JSON.parse(letters[0]?.message.value?.toString() ?? ''),
    );
    expect(record.requestContext).toMatchObject({
      condition: 'RecordAgeExceeded',
      approximateInvokeCount: 0,
    });
    expect(record.responseContext).toBeNull();
    expect(Object.values(record.payload.records).flat()[0]?.offset).toBe(0);
    expect(await committed(mapping.consumerGroupId, topic)).toEqual([2]);
  });

  it('bisects a failing batch without spending retries, isolating the bad record', async () => {
    // Prepare: 4 records in one batch, the third is poison; no retries at all.
    const { topic, dlt, mapping } = await setup(1, true);
    await produce(topic, [
      { value: 'ok' },
      { value: 'ok' },
      { value: 'poison' },
      { value: 'ok' },
    ]);
    const fn = fakeFunction((records) =>
      records.some((r) => r.value === 'poison') ? ERROR : OK,
    );
    const { clock } = controlledClock();

    // Act
    const esm = await start(
      {
        ...mapping,
        batchSize: 4,
        maximumBatchingWindowSeconds: 300,
        maximumRetryAttempts: 0,
        bisectBatchOnFunctionError: true,
      },
      fn.invoker,
      clock,
    );
    const letters = await readRecords(brokers, dlt, (r) => r.length >= 1);
    await until(() => fn.events.length === 5, 'halves settled');
    await esm.stop();

    // Assess
    expect(fn.offsets()).toEqual([[0, 1, 2, 3], [0, 1], [2, 3], [2], [3]]);
    const record = EsmOnFailureRecord.parse(
      JSON.parse(letters[0]?.message.value?.toString() ?? ''),
    );
    expect(record.requestContext.approximateInvokeCount).toBe(3);
    expect(Object.values(record.payload.records).flat()[0]?.offset).toBe(2);
    expect(await committed(mapping.consumerGroupId, topic)).toEqual([4]);
  });

  it('honours batchItemFailures: commits below the lowest failed offset, redelivers from it', async () => {
    // Prepare
    const { topic, mapping } = await setup(1);
    await produce(topic, values(5));
    let commitDuringRetry: number[] = [];
    const fn = fakeFunction(async (_records, call) => {
      if (call === 1) {
        return {
          ok: true,
          durationMs: 1,
          result: {
            batchItemFailures: [
              { itemIdentifier: { partition: `${topic}-0`, offset: 3 } },
              { itemIdentifier: { partition: `${topic}-0`, offset: 2 } },
            ],
          },
        };
      }
      commitDuringRetry = await committed(mapping.consumerGroupId, topic);
      return OK;
    });
    const { clock } = controlledClock();

    // Act
    const esm = await start(
      {
        ...mapping,
        batchSize: 5,
        maximumBatchingWindowSeconds: 300,
        reportBatchItemFailures: true,
      },
      fn.invoker,
      clock,
    );
    await until(() => fn.events.length === 2, 'redelivery');
    await esm.stop();

    // Assess
    expect(fn.offsets()).toEqual([
      [0, 1, 2, 3, 4],
      [2, 3, 4],
    ]);
    expect(commitDuringRetry).toEqual([2]);
    expect(await committed(mapping.consumerGroupId, topic)).toEqual([5]);
  });

  it('ignores batchItemFailures without ReportBatchItemFailures', async () => {
    // Prepare
    const { topic, mapping } = await setup(1);
    await produce(topic, values(2));
    const fn = fakeFunction(() => ({
      ok: true,
      durationMs: 1,
      result: {
        batchItemFailures: [
          { itemIdentifier: { partition: `${topic}-0`, offset: 0 } },
        ],
      },
    }));
    const { clock } = controlledClock();

    // Act
    const esm = await start(
      { ...mapping, batchSize: 2, maximumBatchingWindowSeconds: 300 },
      fn.invoker,
      clock,
    );
    await until(() => fn.events.length === 1, 'invoked');
    await pollUntil(
      async () =>
        (await committed(mapping.consumerGroupId, topic))[0] === 2
          ? true
          : undefined,
      CONSUMED_MS,
    );
    await esm.stop();

    // Assess
    expect(fn.offsets()).toEqual([[0, 1]]);
    expect(await committed(mapping.consumerGroupId, topic)).toEqual([2]);
  });

  it.each([
    [
      'an offset not in the batch',
      (t: string) => ({ partition: `${t}-0`, offset: 99 }),
    ],
    [
      'an unknown partition',
      (t: string) => ({ partition: `${t}-7`, offset: 0 }),
    ],
    ['a flat string', (t: string) => `${t}-0-1`],
  ])(
    'fails the whole batch on %s as partial-batch identifier',
    async (_, identifier) => {
      // Prepare
      const { topic, mapping } = await setup(1);
      await produce(topic, values(3));
      const fn = fakeFunction((_records, call) =>
        call === 1
          ? {
              ok: true,
              durationMs: 1,
              result: {
                batchItemFailures: [{ itemIdentifier: identifier(topic) }],
              },
            }
          : OK,
      );
      const { clock } = controlledClock();

      // Act
      const esm = await start(
        {
          ...mapping,
          batchSize: 3,
          maximumBatchingWindowSeconds: 300,
          reportBatchItemFailures: true,
        },
        fn.invoker,
        clock,
      );
      await until(() => fn.events.length === 2, 'retried');
      await esm.stop();

      // Assess: the whole batch again, nothing committed in between.
      expect(fn.offsets()).toEqual([
        [0, 1, 2],
        [0, 1, 2],
      ]);
      expect(await committed(mapping.consumerGroupId, topic)).toEqual([3]);
    },
  );

  it('delivers events that parse as MskEvent: base64, signed header bytes, tombstones', async () => {
    // Prepare
    const { topic, mapping } = await setup(2);
    const { invoker, events } = rawFunction();
    await produce(topic, [
      {
        partition: 0,
        key: 'order-42',
        value: '{"a":1}',
        headers: { city: 'café' },
      },
      { partition: 0, key: 'order-42', value: null },
      { partition: 1, key: null, value: 'no key' },
    ]);

    // Act
    const esm = await start(mapping, invoker);
    await until(
      () =>
        events.reduce<number>(
          (n, e) => n + Object.values(MskEvent.parse(e).records).flat().length,
          0,
        ) === 3,
      'three records',
      () =>
        events.map((e) =>
          Object.values(MskEvent.parse(e).records)
            .flat()
            .map((r) => `${r.partition}:${r.offset}`),
        ),
    );
    await esm.stop();

    // Assess
    const parsed = events.map((e) => MskEvent.parse(e));
    expect(parsed.every((e) => e.eventSource === 'aws:kafka')).toBe(true);
    expect(parsed[0]?.bootstrapServers).toBe(brokers.join(','));
    const records = parsed.flatMap((e) => Object.values(e.records).flat());
    const [withHeader, tombstone, keyless] = [
      records.find((r) => r.partition === 0 && r.offset === 0),
      records.find((r) => r.partition === 0 && r.offset === 1),
      records.find((r) => r.partition === 1),
    ];
    expect(withHeader).toMatchObject({
      topic,
      key: Buffer.from('order-42').toString('base64'),
      value: Buffer.from('{"a":1}').toString('base64'),
      headers: [{ city: [99, 97, 102, -61, -87] }],
      timestampType: 'CREATE_TIME',
    });
    expect(tombstone && 'value' in tombstone).toBe(false);
    expect(keyless && 'key' in keyless).toBe(false);
    for (const event of parsed) {
      for (const [key, list] of Object.entries(event.records)) {
        expect(list.every((r) => `${r.topic}-${r.partition}` === key)).toBe(
          true,
        );
      }
    }
  });

  it('delivers headers named after Object.prototype members as their values', async () => {
    // Prepare: kafkajs' own decoder reads `headers[name]` and would mix
    // Object.prototype.toString into the first header's values (a function, which no
    // event can carry); the consumer thread decodes with kafkajs-record-decoder.ts.
    const { topic, mapping } = await setup();
    const { invoker, events } = rawFunction();
    await produce(topic, [
      {
        value: 'v',
        // Parsed, so that `__proto__` is a field, not the object's prototype.
        headers: JSON.parse(
          '{"toString":"a","constructor":["b","c"],"__proto__":"d"}',
        ) as Message['headers'],
      },
    ]);

    // Act
    const esm = await start(mapping, invoker);
    await until(() => events.length === 1, 'one event');
    await esm.stop();

    // Assess: the event as delivered (zod drops a `__proto__` key when it parses).
    const [record] = Object.values((events[0] as KafkaEvent).records).flat();
    expect(record?.headers).toEqual([
      { toString: [97] },
      { constructor: [98] },
      { constructor: [99] },
      JSON.parse('{"__proto__":[100]}'),
    ]);
    expect(await committed(mapping.consumerGroupId, topic)).toEqual([1]);
  });

  it('filters on the value before invoking and commits past filtered records', async () => {
    // Prepare
    const { topic, mapping } = await setup();
    await produce(topic, [
      { value: '{"kind":"skip"}' },
      { value: '{"kind":"keep"}' },
      { value: 'plain text' },
    ]);
    const fn = fakeFunction();

    // Act: a JSON pattern; the plain-text value matches on metadata only
    // (docs/aws-kafka-esm.md, Filtering).
    const esm = await start(
      { ...mapping, filters: ['{"value":{"kind":["keep"]}}'] },
      fn.invoker,
    );
    await pollUntil(
      async () =>
        (await committed(mapping.consumerGroupId, topic))[0] === 3
          ? true
          : undefined,
      CONSUMED_MS,
    );
    await esm.stop();

    // Assess
    expect(fn.events.flat().map((r) => r.value)).toEqual([
      '{"kind":"keep"}',
      'plain text',
    ]);
    expect(esm.metrics().FilteredOutEventCount).toBe(1);
  });

  it('runs several mappings on one consumer thread, each stopping alone', async () => {
    // Prepare: two topics, a mapping for each, both on one thread (as npm run dev).
    const thread = new ConsumerThread();
    const on = (mapping: LocalMapping, invoker: Invoker) =>
      startEventSourceMapping(mapping, invoker, {
        brokers,
        clock: immediateBackoff,
        consumerThread: thread,
      });
    const [a, b, c] = await Promise.all([setup(), setup(), setup()]);
    await produce(a.topic, values(3, 'a'));
    await produce(b.topic, values(3, 'b'));
    await produce(c.topic, values(1, 'c'));
    const [fa, fb, fc] = [fakeFunction(), fakeFunction(), fakeFunction()];
    try {
      const first = await on(a.mapping, fa.invoker);
      const second = await on(b.mapping, fb.invoker);
      await until(
        () => fa.events.flat().length === 3 && fb.events.flat().length === 3,
        'both topics read',
      );

      // Act: one stops; the other goes on, and one started later runs too.
      await first.stop();
      await produce(b.topic, values(2, 'more'));
      await until(() => fb.events.flat().length === 5, 'second goes on');
      const third = await on(c.mapping, fc.invoker);
      await until(() => fc.events.flat().length === 1, 'third reads');
      await Promise.all([second.stop(), third.stop()]);
    } finally {
      await thread.stop();
    }

    // Assess
    const read = (f: ReturnType<typeof fakeFunction>) =>
      f.events.flat().map((r) => r.value);
    expect(read(fa)).toEqual(['a-0', 'a-1', 'a-2']);
    expect(read(fb)).toEqual(['b-0', 'b-1', 'b-2', 'more-0', 'more-1']);
    expect(read(fc)).toEqual(['c-0']);
    expect(await committed(a.mapping.consumerGroupId, a.topic)).toEqual([3]);
    expect(await committed(b.mapping.consumerGroupId, b.topic)).toEqual([5]);
    expect(await committed(c.mapping.consumerGroupId, c.topic)).toEqual([1]);
    await expect(on(c.mapping, fakeFunction().invoker)).rejects.toThrow(
      'consumer thread has exited',
    );
  });

  it('fails a commit sent after the consumer stopped, at once', async () => {
    // Prepare: a consumer on its thread, joined, then stopped.
    const { topic, mapping } = await setup();
    const thread = new ConsumerThread();
    const joined = Promise.withResolvers<void>();
    const consumer = thread.start(
      {
        clientId: 'esm-test',
        brokers,
        groupId: mapping.consumerGroupId,
        topic,
        fromBeginning: true,
        timestampType: 'CREATE_TIME',
        maxWaitTimeInMs: 100,
        heartbeatMs: 1000,
      },
      {
        assigned: () => joined.resolve(),
        fetched: () => {},
        crashed: () => {},
      },
    );
    try {
      await joined.promise;
      await consumer.stop();

      // Act / Assess
      await expect(
        consumer.commit([{ partition: 0, offset: 1 }]),
      ).rejects.toThrow('consumer has stopped');
    } finally {
      await thread.stop();
    }
  });

  it('names its log lines topic -> function, and says once that it polls', async () => {
    // Prepare
    const { topic, mapping } = await setup(2);
    const lines: string[] = [];

    // Act
    const esm = await startEventSourceMapping(mapping, fakeFunction().invoker, {
      brokers,
      clock: immediateBackoff,
      log: (line) => lines.push(line),
    });
    await esm.stop();

    // Assess
    expect(lines).toEqual([
      `[${topic} -> fake] polling as group ${mapping.consumerGroupId}, partitions 0, 1`,
      `[${topic} -> fake] stopped`,
    ]);
  });

  it('refuses a kafka:// destination equal to the source topic', async () => {
    // Prepare
    const { topic, mapping } = await setup();

    // Act / Assess
    await expect(
      start(
        { ...mapping, onFailureDestination: `kafka://${topic}` },
        fakeFunction().invoker,
      ),
    ).rejects.toBeInstanceOf(DestinationIsSourceTopicError);
  });
});
