import { describe, expect, it } from 'vitest';
import {
  type ConsumerFailure,
  decodeDeadLetter,
  describeFailure,
  encodeConsumerDeadLetter,
  parseDeadLetter,
  poisonDeadLetter,
  UnreadableDeadLetterError,
} from '#commons/dead-letter-codec.ts';
import {
  decodeHeaders,
  decodeKey,
  decodeValue,
  type MskEvent,
  type MskRecord,
} from '#commons/msk-event.ts';
import { classifyFailure, PoisonRecordError } from '#domain/failures.ts';
import { loadFixture } from '../fixtures/fixtures.ts';

const batchFixture = loadFixture('msk-order-placed-batch.json') as MskEvent;
const esmFixture = loadFixture('esm-on-failure-record.json') as {
  requestContext: { condition: string; functionArn: string };
  responseContext: { functionError?: string } | null;
  payload: { records: Record<string, MskRecord[]> };
};

const NOW = new Date('2026-01-02T03:04:05.678Z');
const POSITION = {
  topic: 'order.placed.v1.dead-letter',
  partition: 4,
  offset: '9007199254740993',
};

/** The first record of the batch fixture, with a header that is not UTF-8. */
function originalRecord(): MskRecord {
  const [record] = Object.values(structuredClone(batchFixture).records).flat();
  if (!record) throw new Error('fixture has no record');
  record.headers.push({ blob: [-1, 0, -128, 127] });
  return record;
}

function failure(overrides: Partial<ConsumerFailure> = {}): ConsumerFailure {
  return {
    record: originalRecord(),
    error: new PoisonRecordError('unknown event type'),
    consumer: 'payment',
    correlationId: 'corr-1',
    attempt: 3,
    now: NOW,
    ...overrides,
  };
}

function esmRecord() {
  return structuredClone(esmFixture);
}

function esmMessage(value: unknown) {
  return { ...POSITION, value: Buffer.from(JSON.stringify(value), 'utf8') };
}

describe('consumer dead letters', () => {
  it('round-trips: decoding gives back the original bytes and the failure', () => {
    // Prepare
    const input = failure();
    const record = input.record;

    // Act
    const message = encodeConsumerDeadLetter(input);
    const letter = decodeDeadLetter({ ...POSITION, value: message.value });

    // Assess
    expect(letter).toMatchObject({
      id: 'order.placed.v1.dead-letter:4:9007199254740993',
      source: 'consumer',
      consumer: 'payment',
      attempt: 3,
      correlationId: 'corr-1',
      failedAt: '2026-01-02T03:04:05.678Z',
      error: {
        class: 'poison',
        name: 'PoisonRecordError',
        message: 'unknown event type',
      },
      original: {
        topic: 'order.placed.v1',
        partition: 0,
        offset: '10',
        timestamp: 1767225600010,
      },
    });
    const { original } = letter;
    expect(Buffer.from(original.key ?? '', 'base64')).toEqual(
      decodeKey(record),
    );
    expect(Buffer.from(original.value ?? '', 'base64')).toEqual(
      decodeValue(record),
    );
    expect(
      original.headers.map(({ key, value }) => ({
        key,
        value: Buffer.from(value, 'base64'),
      })),
    ).toEqual(decodeHeaders(record.headers));
  });

  it('keys the message by the original key, with the dead-letter headers', () => {
    // Prepare
    const input = failure();

    // Act
    const message = encodeConsumerDeadLetter(input);

    // Assess
    expect(message.key?.toString('utf8')).toBe('order-10');
    expect(message.headers).toEqual({
      'correlation-id': 'corr-1',
      'content-type': 'application/json',
      'event-type': 'DeadLetter',
    });
    expect(JSON.parse(message.value.toString('utf8'))).toMatchObject({
      kind: 'consumer-dead-letter',
      version: 1,
    });
  });

  it('keeps a missing key and a tombstone as null', () => {
    // Prepare
    const record = originalRecord();
    delete record.key;
    record.value = null;

    // Act
    const message = encodeConsumerDeadLetter(failure({ record }));
    const letter = decodeDeadLetter({ ...POSITION, value: message.value });

    // Assess
    expect(message.key).toBeNull();
    expect(letter.original.key).toBeNull();
    expect(letter.original.value).toBeNull();
  });

  it('sends no correlation-id header when there is none', () => {
    // Prepare
    const input = failure({ correlationId: null });

    // Act
    const message = encodeConsumerDeadLetter(input);

    // Assess
    expect(message.headers).not.toHaveProperty('correlation-id');
    expect(
      decodeDeadLetter({ ...POSITION, value: message.value }).correlationId,
    ).toBeNull();
  });
});

describe('describeFailure', () => {
  it('keeps the first stack frame, not the repeated message line', () => {
    // Prepare
    const error = new PoisonRecordError('line one\nline two');

    // Act
    const described = describeFailure(error);

    // Assess
    expect(described.stack).toMatch(/^at .*dead-letter-codec\.test\.ts/);
    expect(described.message).toBe('line one\nline two');
  });

  it('describes a thrown non-error as transient', () => {
    // Prepare
    const thrown = 'just a string';

    // Act
    const described = describeFailure(thrown);

    // Assess
    expect(described).toEqual({
      class: 'transient',
      name: 'string',
      message: 'just a string',
      stack: null,
    });
  });

  it('caps a huge message', () => {
    // Prepare
    const error = new PoisonRecordError('x'.repeat(100_000));

    // Act
    const described = describeFailure(error);

    // Assess
    expect(described.message.length).toBe(4096);
  });
});

describe('ESM on-failure records', () => {
  it('round-trips the record the ESM wrote to kafka://', () => {
    // Prepare
    const esm = esmRecord();
    const [record] = Object.values(esm.payload.records).flat();
    if (!record) throw new Error('fixture has no record');

    // Act
    const letter = decodeDeadLetter(esmMessage(esm));

    // Assess
    expect(letter).toMatchObject({
      id: 'order.placed.v1.dead-letter:4:9007199254740993',
      source: 'event-source-mapping',
      consumer:
        'arn:aws:lambda:eu-west-1:111122223333:function:order-events:$LATEST',
      attempt: 1,
      correlationId: 'corr-esm-77',
      failedAt: '2026-01-01T00:00:05.568Z',
      error: {
        class: 'transient',
        name: 'RetriesExhausted',
        stack: null,
      },
      original: {
        topic: 'payment.processed.v1',
        partition: 1,
        offset: '100',
        timestamp: 1749116692330,
      },
    });
    expect(letter.error.message).toContain('3 invocation');
    expect(Buffer.from(letter.original.value ?? '', 'base64')).toEqual(
      decodeValue(record),
    );
    expect(Buffer.from(letter.original.key ?? '', 'base64')).toEqual(
      decodeKey(record),
    );
    const binary = letter.original.headers.find(({ key }) => key === 'binary');
    expect(Buffer.from(binary?.value ?? '', 'base64')).toEqual(
      Buffer.from([0xff, 0x00, 0x80, 0x7f]),
    );
  });

  it.each([
    ['RetriesExhausted', 'transient'],
    ['RetryAttemptsExhausted', 'transient'],
    ['RecordAgeExceeded', 'transient'],
    ['MaximumPayloadSizeExceeded', 'poison'],
    ['SomethingNew', 'poison'],
  ])('classifies the condition %s as %s', (condition, expected) => {
    // Prepare
    const esm = esmRecord();
    esm.requestContext.condition = condition;
    esm.responseContext = null;

    // Act
    const letter = decodeDeadLetter(esmMessage(esm));

    // Assess
    expect(letter.error.class).toBe(expected);
    expect(letter.error.name).toBe(condition);
  });

  it('takes the correlation id from the value when the headers have none', () => {
    // Prepare
    const esm = esmRecord();
    const [record] = Object.values(esm.payload.records).flat();
    if (!record) throw new Error('fixture has no record');
    record.headers = [];
    record.value = Buffer.from(
      JSON.stringify({ correlationId: 'corr-in-value' }),
    ).toString('base64');

    // Act
    const letter = decodeDeadLetter(esmMessage(esm));

    // Assess
    expect(letter.correlationId).toBe('corr-in-value');
    expect(letter.attempt).toBe(0);
  });

  it('refuses a payload that does not carry exactly one record', () => {
    // Prepare
    const esm = esmRecord();
    const records = Object.values(esm.payload.records).flat();
    esm.payload.records = {
      'payment.processed.v1-1': [...records, ...records],
    };

    // Act
    const decode = () => decodeDeadLetter(esmMessage(esm));

    // Assess
    expect(decode).toThrow(UnreadableDeadLetterError);
    expect(decode).toThrow(/exactly one record, got 2/);
  });
});

describe('unreadable dead letters', () => {
  it.each([
    ['a tombstone', null],
    ['not JSON', Buffer.from('{oops')],
    ['JSON of another shape', Buffer.from('{"hello":"world"}')],
    [
      'a consumer dead letter of an unknown version',
      Buffer.from('{"kind":"consumer-dead-letter","version":2}'),
    ],
  ])('throws UnreadableDeadLetterError, a poison error, for %s', (_, value) => {
    // Prepare
    const message = { ...POSITION, value };

    // Act
    let thrown: unknown;
    try {
      decodeDeadLetter(message);
    } catch (error) {
      thrown = error;
    }

    // Assess
    expect(thrown).toBeInstanceOf(UnreadableDeadLetterError);
    expect(classifyFailure(thrown)).toBe('poison');
  });

  it('parses an already-parsed value the same way', () => {
    // Prepare
    const value = JSON.parse(
      encodeConsumerDeadLetter(failure()).value.toString('utf8'),
    );

    // Act
    const letter = parseDeadLetter(value, { ...POSITION, offset: 7 });

    // Assess
    expect(letter.id).toBe('order.placed.v1.dead-letter:4:7');
    expect(letter.source).toBe('consumer');
  });

  it('builds a parked letter from the unreadable message itself, raw bytes kept', () => {
    // Prepare
    const record = originalRecord();
    record.topic = 'order.placed.v1.dead-letter';
    record.value = Buffer.from([0xff, 0xfe]).toString('base64');
    const error = new UnreadableDeadLetterError('dead letter is not JSON');

    // Act
    const letter = poisonDeadLetter(
      failure({ record, error, consumer: 'dlq-reprocessor' }),
    );

    // Assess
    expect(letter).toMatchObject({
      id: 'order.placed.v1.dead-letter:0:10',
      source: 'consumer',
      consumer: 'dlq-reprocessor',
      error: { class: 'poison', name: 'UnreadableDeadLetterError' },
      original: { topic: 'order.placed.v1.dead-letter', offset: '10' },
    });
    expect(Buffer.from(letter.original.value ?? '', 'base64')).toEqual(
      Buffer.from([0xff, 0xfe]),
    );
  });
});

describe('lineage of a record that failed again after a redrive', () => {
  const PREDECESSOR = 'payment.processed.v1.dead-letter:2:31';
  const ROOT = 'payment.processed.v1.dead-letter:0:5';

  /** MSK headers are arrays of signed bytes; these ids are ASCII. */
  const mskHeader = (key: string, text: string) => ({
    [key]: [...Buffer.from(text, 'utf8')],
  });

  it('links a consumer-written letter to the letter it was redriven from', () => {
    // Prepare: the redriven record carries the headers the redrive set.
    const record = originalRecord();
    record.headers.push(
      mskHeader('redriven-from', PREDECESSOR),
      mskHeader('redrive-lineage', ROOT),
    );

    // Act
    const message = encodeConsumerDeadLetter(failure({ record }));
    const letter = decodeDeadLetter({ ...POSITION, value: message.value });

    // Assess: the link comes from the record's own headers, not a new field.
    expect(letter).toMatchObject({
      redrivenFrom: PREDECESSOR,
      lineageId: ROOT,
    });
    const document = JSON.parse(message.value.toString('utf8'));
    expect(document).not.toHaveProperty('redrivenFrom');
    expect(document).not.toHaveProperty('lineageId');
  });

  it('links an ESM-written letter the same way', () => {
    // Prepare
    const esm = esmRecord();
    const [record] = Object.values(esm.payload.records).flat();
    if (!record) throw new Error('fixture has no record');
    record.headers.push(mskHeader('redriven-from', PREDECESSOR));

    // Act
    const letter = decodeDeadLetter(esmMessage(esm));

    // Assess: with no lineage header, the chain starts at the predecessor.
    expect(letter).toMatchObject({
      redrivenFrom: PREDECESSOR,
      lineageId: PREDECESSOR,
    });
  });

  it('starts its own chain when the record was never redriven', () => {
    // Act
    const consumer = decodeDeadLetter({
      ...POSITION,
      value: encodeConsumerDeadLetter(failure()).value,
    });
    const esm = decodeDeadLetter(esmMessage(esmRecord()));

    // Assess
    for (const letter of [consumer, esm]) {
      expect(letter).toMatchObject({
        redrivenFrom: null,
        lineageId: 'order.placed.v1.dead-letter:4:9007199254740993',
      });
    }
  });
});
