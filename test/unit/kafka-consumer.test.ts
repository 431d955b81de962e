import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import * as z from 'zod';
import { decodeDeadLetter } from '#commons/dead-letter-codec.ts';
import { StoreUnavailableError } from '#commons/dynamodb.ts';
import {
  type BatchPublisher,
  type ConsumedRecord,
  createKafkaConsumer,
  type DeadLetterSink,
  DeadLetterWriteError,
  InvalidKafkaEventError,
  isDependencyOutage,
  type KafkaConsumerOptions,
} from '#commons/kafka-consumer.ts';
import { KafkaUnavailableError } from '#commons/kafka-publisher.ts';
import type { MskEvent, MskRecord } from '#commons/msk-event.ts';
import type { ReceivedDeadLetter } from '#domain/dead-letter.ts';
import type { DomainEvent } from '#domain/events.ts';
import { PoisonRecordError, TransientError } from '#domain/failures.ts';
import { DEFAULT_OUTAGE_POLICY } from '#domain/outage-policy.ts';
import { loadFixture } from '../fixtures/fixtures.ts';

const batchFixture = loadFixture('msk-order-placed-batch.json') as MskEvent;

const TOPIC = 'order.placed.v1';
const DEFAULT_RESERVE_MS = DEFAULT_OUTAGE_POLICY.reserveMs;
const NOW = new Date('2026-01-02T03:04:05.678Z');
const TestValue = z.object({
  orderId: z.string(),
  correlationId: z.string().optional(),
});
type TestValue = z.infer<typeof TestValue>;

/** An in-memory dead-letter sink: what was sent, and an optional failure. */
class MemoryDeadLetterSink implements DeadLetterSink {
  readonly sent: {
    topic: string;
    message: Parameters<DeadLetterSink['send']>[1];
  }[] = [];
  failWith: Error | undefined;

  async send(
    topic: string,
    message: Parameters<DeadLetterSink['send']>[1],
  ): Promise<void> {
    if (this.failWith) throw this.failWith;
    this.sent.push({ topic, message });
  }
}

/** Every JSON log line the Powertools logger writes (stdout and stderr). */
let logLines: Record<string, unknown>[] = [];

beforeEach(() => {
  logLines = [];
  const capture = (chunk: string | Uint8Array): boolean => {
    for (const line of String(chunk).split('\n')) {
      if (line.trim()) logLines.push(JSON.parse(line));
    }
    return true;
  };
  vi.spyOn(process.stdout, 'write').mockImplementation(capture);
  vi.spyOn(process.stderr, 'write').mockImplementation(capture);
});

afterEach(() => {
  vi.restoreAllMocks();
});

function batch(): MskEvent {
  return structuredClone(batchFixture);
}

/** The batch with one key per partition, so each partition runs as one lane. */
function oneKeyPerPartition(event: MskEvent): MskEvent {
  for (const record of Object.values(event.records).flat()) {
    record.key = base64(`key-${record.partition}`);
  }
  return event;
}

function partitionOf(event: MskEvent, partition: number): MskRecord[] {
  const records = event.records[`${TOPIC}-${partition}`];
  if (!records) throw new Error(`fixture has no partition ${partition}`);
  return records;
}

function recordAt(event: MskEvent, partition: number, offset: number) {
  const record = partitionOf(event, partition).find(
    (candidate) => candidate.offset === offset,
  );
  if (!record) throw new Error(`fixture has no offset ${offset}`);
  return record;
}

function base64(text: string): string {
  return Buffer.from(text, 'utf8').toString('base64');
}

function setup(overrides: Partial<KafkaConsumerOptions<TestValue>> = {}): {
  consume: ReturnType<typeof createKafkaConsumer>;
  deadLetters: MemoryDeadLetterSink;
  handled: ConsumedRecord<TestValue>[];
} {
  const deadLetters = new MemoryDeadLetterSink();
  const handled: ConsumedRecord<TestValue>[] = [];
  const consume = createKafkaConsumer<TestValue>({
    name: 'test-consumer',
    schema: TestValue,
    deadLetters,
    logger: new Logger({ serviceName: 'test', logLevel: 'DEBUG' }),
    handle: async (record) => {
      handled.push(record);
    },
    now: () => NOW,
    ...overrides,
  });
  return { consume, deadLetters, handled };
}

function offsetsOf(records: readonly ConsumedRecord<unknown>[], partition = 0) {
  return records
    .filter((record) => record.partition === partition)
    .map((record) => record.offset);
}

function decodedLetters(deadLetters: MemoryDeadLetterSink) {
  return deadLetters.sent.map(({ topic, message }, index) =>
    decodeDeadLetter({
      topic,
      partition: 0,
      offset: index,
      value: message.value,
    }),
  );
}

describe('createKafkaConsumer: success', () => {
  it('hands every record over, decoded, and reports full success', async () => {
    // Prepare
    const { consume, deadLetters, handled } = setup();

    // Act
    const response = await consume(batch());

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(deadLetters.sent).toEqual([]);
    expect(offsetsOf(handled, 0)).toEqual([10, 11, 12]);
    expect(offsetsOf(handled, 2)).toEqual([40, 41]);
    const first = handled.find((record) => record.offset === 10);
    expect(first).toMatchObject({
      topic: TOPIC,
      partition: 0,
      timestamp: 1767225600010,
      key: 'order-10',
      value: { orderId: 'order-10', correlationId: 'corr-value-10' },
      headers: {
        'correlation-id': 'corr-header-10',
        city: 'café',
        'redrive-attempt': '2',
      },
      correlationId: 'corr-header-10',
      redriveAttempt: 2,
    });
  });

  it('takes the correlation id from the value when no header has one', async () => {
    // Prepare
    const { consume, handled } = setup();

    // Act
    await consume(batch());

    // Assess
    const second = handled.find((record) => record.offset === 11);
    expect(second?.correlationId).toBe('corr-value-11');
    expect(second?.redriveAttempt).toBe(0);
  });

  it('generates a correlation id per record when there is none', async () => {
    // Prepare
    const event = batch();
    for (const record of partitionOf(event, 2)) {
      record.value = base64(JSON.stringify({ orderId: `o-${record.offset}` }));
    }
    const { consume, handled } = setup();

    // Act
    await consume(event);

    // Assess
    const ids = handled
      .filter((record) => record.partition === 2)
      .map((record) => record.correlationId);
    expect(ids).toHaveLength(2);
    for (const id of ids) expect(id).toMatch(/^[0-9a-f-]{36}$/);
    expect(new Set(ids).size).toBe(2);
  });

  it('gives a null key to a record without one', async () => {
    // Prepare
    const event = batch();
    delete recordAt(event, 0, 11).key;
    recordAt(event, 0, 12).key = null;
    const { consume, handled } = setup();

    // Act
    await consume(event);

    // Assess
    expect(handled.find((record) => record.offset === 11)?.key).toBeNull();
    expect(handled.find((record) => record.offset === 12)?.key).toBeNull();
  });

  it('accepts a self-managed Kafka event', async () => {
    // Prepare
    const { eventSourceArn: _arn, ...rest } = batch() as MskEvent & {
      eventSourceArn: string;
    };
    const event = { ...rest, eventSource: 'SelfManagedKafka' };
    const { consume, handled } = setup();

    // Act
    const response = await consume(event);

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(handled).toHaveLength(5);
  });

  it('puts the correlation id, topic, partition and offset on every log line of a record', async () => {
    // Prepare
    const event = batch();
    recordAt(event, 0, 11).value = base64('not json');
    const { consume } = setup({
      handle: async (record) => {
        record.logger.info('handling');
      },
    });

    // Act
    await consume(event);

    // Assess
    const handling = logLines.filter((line) => line.message === 'handling');
    expect(handling).toHaveLength(4);
    expect(handling).toContainEqual(
      expect.objectContaining({
        correlationId: 'corr-header-10',
        consumer: 'test-consumer',
        topic: TOPIC,
        partition: 0,
        offset: 10,
      }),
    );
    const poison = logLines.find(
      (line) => line.message === 'poison record dead-lettered',
    );
    expect(poison).toMatchObject({
      correlationId: expect.any(String),
      topic: TOPIC,
      partition: 0,
      offset: 11,
    });
    const perRecord = logLines.filter((line) => line.offset !== undefined);
    for (const line of perRecord) {
      expect(line.correlationId).toEqual(expect.any(String));
    }
  });
});

describe('createKafkaConsumer: poison records', () => {
  it('dead-letters a value that is not JSON and goes on with the partition', async () => {
    // Prepare
    const event = batch();
    recordAt(event, 0, 11).value = base64('{not json');
    const { consume, deadLetters, handled } = setup();

    // Act
    const response = await consume(event);

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(offsetsOf(handled, 0)).toEqual([10, 12]);
    expect(offsetsOf(handled, 2)).toEqual([40, 41]);
    expect(deadLetters.sent).toHaveLength(1);
    const [sent] = deadLetters.sent;
    expect(sent?.topic).toBe(`${TOPIC}.dead-letter`);
    expect(sent?.message.key?.toString('utf8')).toBe('order-11');
    expect(sent?.message.headers).toMatchObject({
      'content-type': 'application/json',
      'event-type': 'DeadLetter',
    });
    const [letter] = decodedLetters(deadLetters);
    expect(letter).toMatchObject({
      source: 'consumer',
      consumer: 'test-consumer',
      attempt: 0,
      failedAt: NOW.toISOString(),
      error: { class: 'poison', name: 'NotJsonRecordError' },
      original: { topic: TOPIC, partition: 0, offset: '11' },
    });
    expect(
      Buffer.from(letter?.original.value ?? '', 'base64').toString('utf8'),
    ).toBe('{not json');
  });

  it('dead-letters a value that fails the schema, naming the failing field', async () => {
    // Prepare
    const event = batch();
    recordAt(event, 2, 40).value = base64(JSON.stringify({ orderId: 40 }));
    const { consume, deadLetters, handled } = setup();

    // Act
    const response = await consume(event);

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(offsetsOf(handled, 2)).toEqual([41]);
    const [letter] = decodedLetters(deadLetters);
    expect(letter?.error.name).toBe('SchemaMismatchRecordError');
    expect(letter?.error.message).toMatch(/orderId/);
  });

  it.each([
    ['null', (record: MskRecord) => Object.assign(record, { value: null })],
    [
      'missing',
      (record: MskRecord) => {
        delete record.value;
      },
    ],
  ])(
    'dead-letters a tombstone (%s value) without calling the handler',
    async (_, makeTombstone) => {
      // Prepare
      const event = batch();
      makeTombstone(recordAt(event, 0, 11));
      const { consume, deadLetters, handled } = setup();

      // Act
      const response = await consume(event);

      // Assess
      expect(response).toEqual({ batchItemFailures: [] });
      expect(offsetsOf(handled, 0)).toEqual([10, 12]);
      const [letter] = decodedLetters(deadLetters);
      expect(letter?.error.name).toBe('TombstoneRecordError');
      expect(letter?.original.value).toBeNull();
      expect(letter?.original.key).toBe(base64('order-11'));
    },
  );

  it('dead-letters what the handler calls poison, with the redrive attempt', async () => {
    // Prepare
    const { consume, deadLetters, handled } = setup({
      handle: async (record) => {
        if (record.offset === 10) throw new PoisonRecordError('unknown type');
        handled.push(record);
      },
    });

    // Act
    const response = await consume(batch());

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(offsetsOf(handled, 0)).toEqual([11, 12]);
    const [letter] = decodedLetters(deadLetters);
    expect(letter).toMatchObject({
      attempt: 2,
      correlationId: 'corr-header-10',
      error: {
        class: 'poison',
        name: 'PoisonRecordError',
        message: 'unknown type',
        stack: expect.stringMatching(/^at /),
      },
    });
    expect(deadLetters.sent[0]?.message.headers['correlation-id']).toBe(
      'corr-header-10',
    );
  });

  it('keeps the original header bytes in the dead letter', async () => {
    // Prepare
    const event = batch();
    const record = recordAt(event, 0, 10);
    record.headers.push({ blob: [-1, 0, -128] });
    record.value = base64('nope');
    const { consume, deadLetters } = setup();

    // Act
    await consume(event);

    // Assess
    const [letter] = decodedLetters(deadLetters);
    const blob = letter?.original.headers.find(
      (header) => header.key === 'blob',
    );
    expect(Buffer.from(blob?.value ?? '', 'base64')).toEqual(
      Buffer.from([0xff, 0x00, 0x80]),
    );
    const city = letter?.original.headers.find(
      (header) => header.key === 'city',
    );
    expect(Buffer.from(city?.value ?? '', 'base64').toString('utf8')).toBe(
      'café',
    );
  });
});

describe('createKafkaConsumer: transient failures', () => {
  it('stops the partition at the failed record and reports exactly it', async () => {
    // Prepare
    const { consume, deadLetters, handled } = setup({
      handle: async (record) => {
        if (record.offset === 11) throw new TransientError('store throttled');
        handled.push(record);
      },
    });

    // Act
    const response = await consume(oneKeyPerPartition(batch()));

    // Assess
    expect(response).toEqual({
      batchItemFailures: [
        { itemIdentifier: { partition: 'order.placed.v1-0', offset: 11 } },
      ],
    });
    expect(offsetsOf(handled, 0)).toEqual([10]);
    expect(offsetsOf(handled, 2)).toEqual([40, 41]);
    expect(deadLetters.sent).toEqual([]);
  });

  it('treats an unknown error as transient', async () => {
    // Prepare
    const { consume, deadLetters } = setup({
      handle: async (record) => {
        if (record.offset === 41) throw new Error('bug');
      },
    });

    // Act
    const response = await consume(batch());

    // Assess
    expect(response).toEqual({
      batchItemFailures: [
        { itemIdentifier: { partition: 'order.placed.v1-2', offset: 41 } },
      ],
    });
    expect(deadLetters.sent).toEqual([]);
  });

  it('reports one failure per failing partition', async () => {
    // Prepare
    const { consume } = setup({
      handle: async (record) => {
        if (record.offset === 12 || record.offset === 40) {
          throw new TransientError('down');
        }
      },
    });

    // Act
    const response = await consume(batch());

    // Assess
    expect(response.batchItemFailures).toHaveLength(2);
    expect(response.batchItemFailures).toEqual(
      expect.arrayContaining([
        { itemIdentifier: { partition: 'order.placed.v1-0', offset: 12 } },
        { itemIdentifier: { partition: 'order.placed.v1-2', offset: 40 } },
      ]),
    );
  });

  it('stops the partition at a poison record whose dead letter cannot be written', async () => {
    // Prepare
    const event = oneKeyPerPartition(batch());
    recordAt(event, 0, 11).value = base64('not json');
    const { consume, deadLetters, handled } = setup();
    deadLetters.failWith = new Error('broker unreachable');

    // Act
    const response = await consume(event);

    // Assess
    expect(response).toEqual({
      batchItemFailures: [
        { itemIdentifier: { partition: 'order.placed.v1-0', offset: 11 } },
      ],
    });
    expect(offsetsOf(handled, 0)).toEqual([10]);
    expect(offsetsOf(handled, 2)).toEqual([40, 41]);
    expect(
      logLines.some(
        (line) =>
          line.offset === 11 &&
          String(line.message).includes('could not be put aside'),
      ),
    ).toBe(true);
  });

  it('reads topic and partition from the record for the identifier', async () => {
    // Prepare
    const topic = 'payment-events.processed.v1';
    const event = batch();
    const record = { ...recordAt(event, 0, 10), topic, partition: 12 };
    event.records = { [`${topic}-12`]: [record] };
    const { consume } = setup({
      handle: async () => {
        throw new TransientError('down');
      },
    });

    // Act
    const response = await consume(event);

    // Assess
    expect(response).toEqual({
      batchItemFailures: [
        { itemIdentifier: { partition: `${topic}-12`, offset: 10 } },
      ],
    });
  });
});

/**
 * A fake invocation with `remainingMs` to go: sleeping spends it, and so does each
 * try (`tryMs`), through the consumer's clock; nothing really waits.
 */
function fakeInvocation(remainingMs: number, tryMs = 0) {
  let elapsed = 0;
  const sleeps: number[] = [];
  return {
    sleeps,
    context: { getRemainingTimeInMillis: () => remainingMs - elapsed },
    now: () => new Date(NOW.getTime() + elapsed),
    spendTry: () => {
      elapsed += tryMs;
    },
    outageWait: {
      random: () => 1,
      sleep: async (ms: number) => {
        sleeps.push(ms);
        elapsed += ms;
      },
    },
  };
}

const brokerDown = () =>
  new KafkaUnavailableError('Kafka did not take 1 event(s): ECONNREFUSED');

describe('createKafkaConsumer: dependency outages', () => {
  it('tries a record again inside the invocation until the broker is back', async () => {
    // Prepare
    const invocation = fakeInvocation(60_000);
    let down = 3;
    const { consume, handled } = setup({
      now: invocation.now,
      outageWait: invocation.outageWait,
      handle: async (record) => {
        if (record.offset === 11 && down-- > 0) throw brokerDown();
        handled.push(record);
      },
    });

    // Act
    const response = await consume(
      oneKeyPerPartition(batch()),
      invocation.context,
    );

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(offsetsOf(handled, 0)).toEqual([10, 11, 12]);
    expect(invocation.sleeps).toEqual([250, 500, 1_000]);
  });

  it('hands the record to the mapping before the invocation runs out', async () => {
    // Prepare: each try takes 3 s; the broker never comes back
    const invocation = fakeInvocation(60_000, 3_000);
    const { consume, handled } = setup({
      now: invocation.now,
      outageWait: invocation.outageWait,
      handle: async (record) => {
        if (record.offset === 11) {
          invocation.spendTry();
          throw brokerDown();
        }
        handled.push(record);
      },
    });

    // Act
    const response = await consume(
      oneKeyPerPartition(batch()),
      invocation.context,
    );

    // Assess
    expect(response).toEqual({
      batchItemFailures: [
        { itemIdentifier: { partition: 'order.placed.v1-0', offset: 11 } },
      ],
    });
    expect(offsetsOf(handled, 0)).toEqual([10]);
    const left = invocation.context.getRemainingTimeInMillis();
    expect(left).toBeGreaterThanOrEqual(DEFAULT_RESERVE_MS);
    // It waited for most of the invocation: the next try would not have fit.
    expect(left).toBeLessThan(DEFAULT_RESERVE_MS + 3_000 + 2_000);
    expect(invocation.sleeps.length).toBeGreaterThan(5);
  });

  it('waits out a store outage the same way', async () => {
    // Prepare
    const invocation = fakeInvocation(60_000);
    let down = 1;
    const { consume } = setup({
      now: invocation.now,
      outageWait: invocation.outageWait,
      handle: async (record) => {
        if (record.offset === 40 && down-- > 0) {
          throw new StoreUnavailableError('DynamoDB: ECONNREFUSED');
        }
      },
    });

    // Act
    const response = await consume(batch(), invocation.context);

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(invocation.sleeps).toEqual([250]);
  });

  it('dead-letters a poison record once the broker takes the dead letter', async () => {
    // Prepare
    const invocation = fakeInvocation(60_000);
    const event = batch();
    recordAt(event, 0, 11).value = base64('not json');
    const { consume, deadLetters, handled } = setup({
      now: invocation.now,
      outageWait: {
        ...invocation.outageWait,
        sleep: async (ms) => {
          await invocation.outageWait.sleep(ms);
          deadLetters.failWith = undefined;
        },
      },
    });
    deadLetters.failWith = brokerDown();

    // Act
    const response = await consume(event, invocation.context);

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(deadLetters.sent.map((sent) => sent.topic)).toEqual([
      'order.placed.v1.dead-letter',
    ]);
    expect(offsetsOf(handled, 0)).toEqual([10, 12]);
  });

  it.each([
    ['a transient failure that is no outage', new TransientError('conflict')],
    ['a bug', new TypeError('x is undefined')],
  ])('does not wait on %s', async (_what, error) => {
    // Prepare
    const invocation = fakeInvocation(60_000);
    const { consume } = setup({
      now: invocation.now,
      outageWait: invocation.outageWait,
      handle: async (record) => {
        if (record.offset === 11) throw error;
      },
    });

    // Act
    const response = await consume(batch(), invocation.context);

    // Assess
    expect(response.batchItemFailures).toHaveLength(1);
    expect(invocation.sleeps).toEqual([]);
  });

  it('does not wait without the invocation context (no deadline known)', async () => {
    // Prepare
    const invocation = fakeInvocation(60_000);
    const { consume } = setup({
      now: invocation.now,
      outageWait: invocation.outageWait,
      handle: async (record) => {
        if (record.offset === 11) throw brokerDown();
      },
    });

    // Act
    const response = await consume(batch());

    // Assess
    expect(response.batchItemFailures).toHaveLength(1);
    expect(invocation.sleeps).toEqual([]);
  });
});

describe('isDependencyOutage', () => {
  it.each([
    ['Kafka unavailable', brokerDown(), true],
    ['the store unavailable', new StoreUnavailableError('throttled'), true],
    [
      'a dead letter not written because Kafka is down',
      new DeadLetterWriteError('not written', { cause: brokerDown() }),
      true,
    ],
    ['a plain transient error', new TransientError('conflict'), false],
    ['a bug', new Error('bug'), false],
    ['not an error', 'ECONNREFUSED', false],
  ])('%s: %s', (_what, error, expected) => {
    // Act
    const outage = isDependencyOutage(error);

    // Assess
    expect(outage).toBe(expected);
  });

  it('ends on a cause cycle', () => {
    // Prepare
    const a = new Error('a');
    const b = new Error('b', { cause: a });
    a.cause = b;

    // Act
    const outage = isDependencyOutage(a);

    // Assess
    expect(outage).toBe(false);
  });
});

describe('createKafkaConsumer: ordering and concurrency', () => {
  it('handles the records of one key in offset order, one at a time', async () => {
    // Prepare
    const event = oneKeyPerPartition(batch());
    partitionOf(event, 0).reverse();
    const steps: string[] = [];
    const { consume } = setup({
      handle: async (record) => {
        if (record.partition !== 0) return;
        steps.push(`start ${record.offset}`);
        await Promise.resolve();
        steps.push(`end ${record.offset}`);
      },
    });

    // Act
    await consume(event);

    // Assess
    expect(steps).toEqual([
      'start 10',
      'end 10',
      'start 11',
      'end 11',
      'start 12',
      'end 12',
    ]);
  });

  it('handles partitions concurrently', async () => {
    // Prepare: each partition's first record waits until the other one has started,
    // which only completes if both are in flight at once.
    const started0 = Promise.withResolvers<void>();
    const started2 = Promise.withResolvers<void>();
    const { consume, handled } = setup({
      handle: async (record) => {
        if (record.offset === 10) {
          started0.resolve();
          await started2.promise;
        }
        if (record.offset === 40) {
          started2.resolve();
          await started0.promise;
        }
        handled.push(record);
      },
    });

    // Act
    const response = await consume(batch());

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(handled).toHaveLength(5);
  }, 2_000);
});

describe('createKafkaConsumer: the envelope', () => {
  it.each([
    ['an SQS event', { Records: [] }],
    ['a wrong event source', { ...batchFixture, eventSource: 'aws:sqs' }],
    ['records that are not lists', { ...batchFixture, records: { x: 1 } }],
    ['null', null],
  ])('fails the whole invocation for %s', async (_, event) => {
    // Prepare
    const { consume, handled } = setup();

    // Act
    const result = consume(structuredClone(event));

    // Assess
    await expect(result).rejects.toThrow(InvalidKafkaEventError);
    expect(handled).toEqual([]);
  });
});

describe('createKafkaConsumer: dead-letter topics', () => {
  function deadLetterTopicBatch(): MskEvent {
    const event = batch();
    const record = {
      ...recordAt(event, 0, 11),
      topic: `${TOPIC}.dead-letter`,
      value: base64('garbage'),
    };
    event.records = { [`${TOPIC}.dead-letter-0`]: [record] };
    return event;
  }

  it('parks a poison record through park, never writing .dead-letter.dead-letter', async () => {
    // Prepare
    const parked: ReceivedDeadLetter[] = [];
    const { consume, deadLetters } = setup({
      park: async (letter) => {
        parked.push(letter);
      },
    });

    // Act
    const response = await consume(deadLetterTopicBatch());

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(deadLetters.sent).toEqual([]);
    expect(parked).toHaveLength(1);
    expect(parked[0]).toMatchObject({
      id: `${TOPIC}.dead-letter:0:11`,
      source: 'consumer',
      error: { class: 'poison', name: 'NotJsonRecordError' },
      original: { topic: `${TOPIC}.dead-letter`, value: base64('garbage') },
    });
  });

  it('stops a dead-letter topic partition at a poison record when it cannot park', async () => {
    // Prepare
    const { consume, deadLetters } = setup();

    // Act
    const response = await consume(deadLetterTopicBatch());

    // Assess
    expect(response).toEqual({
      batchItemFailures: [
        {
          itemIdentifier: {
            partition: `${TOPIC}.dead-letter-0`,
            offset: 11,
          },
        },
      ],
    });
    expect(deadLetters.sent).toEqual([]);
  });
});

describe('createKafkaConsumer: metrics', () => {
  it('counts consumed, dead-lettered and failed records of the batch by topic', async () => {
    // Prepare: offset 11 transient (partition 0 stops), offset 40 poison.
    const metrics = new Metrics({ namespace: 'Test', serviceName: 'test' });
    const added = vi.spyOn(metrics, 'addMetric');
    const dimensions = vi.spyOn(metrics, 'addDimensions');
    const { consume } = setup({
      metrics,
      handle: async (record) => {
        if (record.offset === 11) throw new TransientError('throttled');
        if (record.offset === 40) throw new PoisonRecordError('bad');
      },
    });
    const event = oneKeyPerPartition(batch());
    const total = Object.values(event.records).flat().length;

    // Act
    await consume(event);

    // Assess
    expect(dimensions).toHaveBeenCalledWith({ topic: 'order.placed.v1' });
    const counts = Object.fromEntries(
      added.mock.calls.map(([name, , value]) => [name, value]),
    );
    expect(counts.RecordsFailed).toBe(1);
    expect(counts.RecordsDeadLettered).toBe(1);
    expect(counts.RecordsConsumed).toBeGreaterThan(0);
    // Records after the failed one in partition 0 were not attempted at all.
    expect(
      (counts.RecordsConsumed ?? 0) +
        (counts.RecordsDeadLettered ?? 0) +
        (counts.RecordsFailed ?? 0),
    ).toBeLessThan(total);
  });
});

/** One partition (0) whose records, from offset 10 on, have these keys. */
function keyedBatch(keys: readonly (string | null)[]): MskEvent {
  const event = batch();
  const template = recordAt(event, 0, 10);
  event.records = {
    [`${TOPIC}-0`]: keys.map((key, index) => ({
      ...structuredClone(template),
      offset: 10 + index,
      key: key === null ? null : base64(key),
      value: base64(JSON.stringify({ orderId: `o-${10 + index}` })),
      headers: [],
    })),
  };
  return event;
}

/** A stand-in event: the consumer hands events to the publisher unread. */
function fakeEvent(name: string): DomainEvent {
  return { eventId: name } as unknown as DomainEvent;
}

/** A publisher that records each publish call, and fails while told to. */
class RecordingPublisher implements BatchPublisher {
  readonly calls: string[][] = [];
  failures: Error[] = [];

  async publish(events: readonly DomainEvent[]): Promise<void> {
    const failure = this.failures.shift();
    if (failure) throw failure;
    this.calls.push(events.map((event) => event.eventId));
  }
}

describe('createKafkaConsumer: keys within a partition', () => {
  it('handles records of different keys side by side', async () => {
    // Prepare: 'a' waits until 'b' has started, which only happens if both are in
    // flight at once.
    const startedA = Promise.withResolvers<void>();
    const startedB = Promise.withResolvers<void>();
    const { consume, handled } = setup({
      handle: async (record) => {
        if (record.key === 'a') {
          startedA.resolve();
          await startedB.promise;
        }
        if (record.key === 'b') {
          startedB.resolve();
          await startedA.promise;
        }
        handled.push(record);
      },
    });

    // Act
    const response = await consume(keyedBatch(['a', 'b']));

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(handled).toHaveLength(2);
  }, 2_000);

  it('handles the records of one key in offset order, one at a time, keyless ones too', async () => {
    // Prepare
    const steps: Record<string, string[]> = { a: [], none: [] };
    const { consume } = setup({
      handle: async (record) => {
        const lane = steps[record.key ?? 'none'];
        lane?.push(`start ${record.offset}`);
        await new Promise((resolve) => setImmediate(resolve));
        lane?.push(`end ${record.offset}`);
      },
    });

    // Act
    await consume(keyedBatch(['a', null, 'a', null, 'a']));

    // Assess
    expect(steps.a).toEqual([
      'start 10',
      'end 10',
      'start 12',
      'end 12',
      'start 14',
      'end 14',
    ]);
    expect(steps.none).toEqual(['start 11', 'end 11', 'start 13', 'end 13']);
  });

  it('has at most `concurrency` records of a partition in flight', async () => {
    // Prepare
    let inFlight = 0;
    let most = 0;
    const { consume, handled } = setup({
      concurrency: 2,
      handle: async (record) => {
        inFlight += 1;
        most = Math.max(most, inFlight);
        await new Promise((resolve) => setImmediate(resolve));
        inFlight -= 1;
        handled.push(record);
      },
    });

    // Act
    await consume(keyedBatch(['a', 'b', 'c', 'd', 'e']));

    // Assess
    expect(handled).toHaveLength(5);
    expect(most).toBe(2);
  });

  it('refuses a concurrency below 1', () => {
    // Act, Assess
    expect(() => setup({ concurrency: 0 })).toThrow(RangeError);
  });

  it('stops a failed key, goes on with the others, and reports the lowest failed offset', async () => {
    // Prepare: a b a b a c; b fails at 11 and a at 12.
    const { consume, handled } = setup({
      handle: async (record) => {
        if (record.offset === 11 || record.offset === 12) {
          throw new TransientError('throttled');
        }
        handled.push(record);
      },
    });

    // Act
    const response = await consume(keyedBatch(['a', 'b', 'a', 'b', 'a', 'c']));

    // Assess: 13 (b) and 14 (a) wait behind their key's failure; c goes on.
    expect(response).toEqual({
      batchItemFailures: [
        { itemIdentifier: { partition: 'order.placed.v1-0', offset: 11 } },
      ],
    });
    expect(offsetsOf(handled).sort()).toEqual([10, 15]);
  });

  it('reports the lowest failed offset when a later key fails first', async () => {
    // Prepare: the record of 'b' at 13 fails before that of 'a' at 12 has ended.
    const bFailed = Promise.withResolvers<void>();
    const { consume } = setup({
      handle: async (record) => {
        if (record.offset === 13) {
          bFailed.resolve();
          throw new TransientError('throttled');
        }
        if (record.offset === 12) {
          await bFailed.promise;
          throw new TransientError('throttled');
        }
      },
    });

    // Act
    const response = await consume(keyedBatch(['a', 'b', 'a', 'b']));

    // Assess
    expect(response.batchItemFailures).toEqual([
      { itemIdentifier: { partition: 'order.placed.v1-0', offset: 12 } },
    ]);
  });

  it('waits out an outage on one key while the other keys go on', async () => {
    // Prepare: the store is down for 'a' twice; 'b' is handled meanwhile.
    const invocation = fakeInvocation(60_000);
    let down = 2;
    const { consume, handled } = setup({
      now: invocation.now,
      outageWait: invocation.outageWait,
      handle: async (record) => {
        if (record.offset === 10 && down-- > 0) {
          throw new StoreUnavailableError('throttled');
        }
        handled.push(record);
      },
    });

    // Act
    const response = await consume(
      keyedBatch(['a', 'b', 'a']),
      invocation.context,
    );

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(offsetsOf(handled)).toEqual([11, 10, 12]);
    expect(invocation.sleeps).toEqual([250, 500]);
  });

  it('makes no child logger for a record nobody logs about', async () => {
    // Prepare
    const logger = new Logger({ serviceName: 'test', logLevel: 'INFO' });
    const createChild = vi.spyOn(logger, 'createChild');
    const { consume } = setup({
      logger,
      handle: async (record) => record.debug('handled', { key: record.key }),
    });

    // Act
    const response = await consume(batch());

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(createChild).not.toHaveBeenCalled();
    expect(logLines.map((line) => line.message)).toEqual(['batch consumed']);
  });
});

describe('createKafkaConsumer: publishing with the batch', () => {
  it('publishes every record’s events in one call, then runs the follow-ups, then answers', async () => {
    // Prepare
    const publisher = new RecordingPublisher();
    const steps: string[] = [];
    const { consume } = setup({
      publisher,
      handle: async (record) => {
        record.publishWithBatch([fakeEvent(`e-${record.offset}`)], async () => {
          steps.push(`after ${record.offset} (${publisher.calls.length})`);
        });
      },
    });

    // Act
    const response = await consume(keyedBatch(['a', 'b', 'a', 'c']));

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(publisher.calls).toEqual([['e-10', 'e-11', 'e-12', 'e-13']]);
    expect(steps.sort()).toEqual([
      'after 10 (1)',
      'after 11 (1)',
      'after 12 (1)',
      'after 13 (1)',
    ]);
  });

  it('fails exactly the records that handed events over when the publish fails', async () => {
    // Prepare: 10 and 12 publish nothing; 11 and 13 do; the publish fails.
    const publisher = new RecordingPublisher();
    publisher.failures = [new Error('record too large')];
    const followUps: number[] = [];
    const { consume } = setup({
      publisher,
      handle: async (record) => {
        if (record.offset % 2 === 0) return;
        record.publishWithBatch([fakeEvent(`e-${record.offset}`)], async () => {
          followUps.push(record.offset);
        });
      },
    });

    // Act
    const response = await consume(keyedBatch(['a', 'b', 'c', 'd']));

    // Assess
    expect(response).toEqual({
      batchItemFailures: [
        { itemIdentifier: { partition: 'order.placed.v1-0', offset: 11 } },
      ],
    });
    expect(followUps).toEqual([]);
    expect(
      logLines.find((line) =>
        String(line.message).includes('events were not published'),
      ),
    ).toMatchObject({ records: 2, events: 2 });
  });

  it('fails a record whose follow-up fails, and only it', async () => {
    // Prepare
    const publisher = new RecordingPublisher();
    const { consume } = setup({
      publisher,
      handle: async (record) => {
        record.publishWithBatch([fakeEvent(`e-${record.offset}`)], async () => {
          if (record.offset === 12) throw new Error('conditional check');
        });
      },
    });

    // Act
    const response = await consume(keyedBatch(['a', 'b', 'c', 'd']));

    // Assess
    expect(response).toEqual({
      batchItemFailures: [
        { itemIdentifier: { partition: 'order.placed.v1-0', offset: 12 } },
      ],
    });
    expect(publisher.calls).toHaveLength(1);
  });

  it('drops the events of a try that failed, and of records that stopped', async () => {
    // Prepare: 11 hands an event over, then fails.
    const publisher = new RecordingPublisher();
    const { consume } = setup({
      publisher,
      handle: async (record) => {
        record.publishWithBatch([fakeEvent(`e-${record.offset}`)]);
        if (record.offset === 11) throw new TransientError('throttled');
      },
    });

    // Act
    const response = await consume(keyedBatch(['a', 'b', 'c']));

    // Assess
    expect(response.batchItemFailures).toEqual([
      { itemIdentifier: { partition: 'order.placed.v1-0', offset: 11 } },
    ]);
    expect(publisher.calls).toEqual([['e-10', 'e-12']]);
  });

  it('waits out a broker outage for the batch’s publish inside the invocation', async () => {
    // Prepare
    const invocation = fakeInvocation(60_000);
    const publisher = new RecordingPublisher();
    publisher.failures = [brokerDown(), brokerDown()];
    const { consume } = setup({
      publisher,
      now: invocation.now,
      outageWait: invocation.outageWait,
      handle: async (record) => {
        record.publishWithBatch([fakeEvent(`e-${record.offset}`)]);
      },
    });

    // Act
    const response = await consume(keyedBatch(['a', 'b']), invocation.context);

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(publisher.calls).toEqual([['e-10', 'e-11']]);
    expect(invocation.sleeps).toEqual([250, 500]);
  });

  it('fails a record that hands events over to a consumer without a publisher', async () => {
    // Prepare
    const { consume } = setup({
      handle: async (record) => {
        record.publishWithBatch([fakeEvent('e')]);
      },
    });

    // Act
    const response = await consume(keyedBatch(['a']));

    // Assess
    expect(response.batchItemFailures).toEqual([
      { itemIdentifier: { partition: 'order.placed.v1-0', offset: 10 } },
    ]);
  });
});
