/**
 * The lean record decoder (local/runtime/kafkajs-record-decoder.ts) against kafkajs'
 * own: records encoded by kafkajs' encoder, decoded by both, must come out the same,
 * field for field and byte for byte, and leave the decoder at the same position.
 */
import { Buffer } from 'node:buffer';
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type KafkajsDecoder,
  leanRecordDecoder,
  type RecordBatchContext,
  type RecordDecoder,
} from '../../../local/runtime/kafkajs-record-decoder.ts';
import type {
  InstallData,
  InstallReport,
} from './fixtures/install-lean-decoder.ts';

const require = createRequire(import.meta.url);
const kafkajsDecoder =
  require('kafkajs/src/protocol/recordBatch/record/v0/decoder.js') as RecordDecoder;
const Decoder = require('kafkajs/src/protocol/decoder.js') as new (
  buffer: Buffer,
) => KafkajsDecoder;
/** kafkajs' encoder of the wire format's primitives. */
interface Encoder {
  readonly buffer: Buffer;
  writeInt8(value: number): Encoder;
  writeVarInt(value: number): Encoder;
  writeVarLong(value: bigint): Encoder;
  writeVarIntString(value: string): Encoder;
  writeVarIntBytes(value: Buffer | null): Encoder;
}
const Encoder = require('kafkajs/src/protocol/encoder.js') as new () => Encoder;

interface RecordFields {
  readonly offsetDelta: number;
  readonly timestampDelta: bigint;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  /** In wire order: names may repeat, values may be null (kafkajs' encoder allows neither). */
  readonly headers: readonly (readonly [string, Buffer | null])[];
}

/** One record's bytes, length first (Kafka's record format v2). */
function encodeRecord(record: RecordFields): Buffer {
  const body = new Encoder()
    .writeInt8(0)
    .writeVarLong(record.timestampDelta)
    .writeVarInt(record.offsetDelta)
    .writeVarIntBytes(record.key)
    .writeVarIntBytes(record.value)
    .writeVarInt(record.headers.length);
  for (const [name, value] of record.headers) {
    body.writeVarIntString(name).writeVarIntBytes(value);
  }
  return new Encoder().writeVarIntBytes(body.buffer).buffer;
}
const { CREATE_TIME, LOG_APPEND_TIME } =
  require('kafkajs/src/protocol/timestampTypes.js') as {
    CREATE_TIME: number;
    LOG_APPEND_TIME: number;
  };

const lean = leanRecordDecoder(kafkajsDecoder);

/** A decoder at a record's first field, as kafkajs' batch decoder makes one. */
function at(record: Buffer): KafkajsDecoder {
  const bytes = new Decoder(record).readVarIntBytes();
  if (bytes === null) throw new Error('no record bytes');
  return new Decoder(bytes);
}

const bytes = fc.option(
  fc.uint8Array({ maxLength: 24 }).map((b) => Buffer.from(b)),
  { nil: null },
);
/** Small and huge, around 2^53 (where numbers stop being exact) and up to 2^63. */
const int64 = fc.oneof(
  fc.bigInt({ min: -1n, max: 10_000n }),
  fc.bigInt({ min: 1_600_000_000_000n, max: 1_900_000_000_000n }),
  fc.bigInt({ min: 2n ** 53n - 100_000n, max: 2n ** 53n + 100_000n }),
  fc.bigInt({ min: 2n ** 53n, max: 2n ** 63n - 2n ** 32n }),
);
const record = fc.record({
  offsetDelta: fc.oneof(
    fc.integer({ min: 0, max: 1_000 }),
    fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
  ),
  // 1 to 9 varlong bytes: more than 7 is left to kafkajs.
  timestampDelta: fc.oneof(
    fc.bigInt({ min: -1_000n, max: 1_000n }),
    fc.bigInt({ min: -(2n ** 49n), max: 2n ** 49n }),
    fc.bigInt({ min: -(2n ** 62n), max: 2n ** 62n }),
  ),
  key: bytes,
  value: bytes,
  headers: fc.array(
    fc.tuple(fc.constantFrom('a', 'b', 'content-type', 'é', ''), bytes),
    { maxLength: 5 },
  ),
});
const context = fc.record({
  firstOffset: int64,
  firstTimestamp: int64,
  maxTimestamp: int64,
  isControlBatch: fc.boolean(),
  logAppendTime: fc.boolean(),
});

describe('leanRecordDecoder', () => {
  it('is compared with kafkajs’ own decoder, not with itself', () => {
    // The BigInt-backed path this replaces: this process must not have installed it.
    expect(String(kafkajsDecoder)).toContain('readVarLong');
  });

  it('decodes every record as kafkajs does and stops where kafkajs stops', () => {
    fc.assert(
      fc.property(record, context, (r, c) => {
        const encoded = encodeRecord(r);
        const batchContext: RecordBatchContext = {
          firstOffset: String(c.firstOffset),
          firstTimestamp: String(c.firstTimestamp),
          maxTimestamp: String(c.maxTimestamp),
          magicByte: 2,
          isControlBatch: c.isControlBatch,
          timestampType: c.logAppendTime ? LOG_APPEND_TIME : CREATE_TIME,
        };
        const theirs = at(encoded);
        const ours = at(encoded);

        const expected = kafkajsDecoder(theirs, batchContext);
        const actual = lean(ours, batchContext);

        expect(actual).toStrictEqual(expected);
        expect(Object.keys(actual)).toEqual(Object.keys(expected));
        expect(Object.keys(actual.headers)).toEqual(
          Object.keys(expected.headers),
        );
        expect(ours.offset).toBe(theirs.offset);
      }),
      { numRuns: 2_000 },
    );
  });

  it('keeps one batch’s numbers apart from the next one’s', () => {
    // Prepare: two batches, decoded in turns, as compressed batches can be.
    const encoded = encodeRecord({
      offsetDelta: 2,
      timestampDelta: 5n,
      key: null,
      value: Buffer.from('v'),
      headers: [],
    });
    const batch = (firstOffset: string, firstTimestamp: string) => ({
      firstOffset,
      firstTimestamp,
      maxTimestamp: firstTimestamp,
      magicByte: 2,
      timestampType: CREATE_TIME,
    });
    const first = batch('100', '1700000000000');
    const second = batch('7', '1800000000000');

    // Act
    const decoded = [first, second, first].map((c) => lean(at(encoded), c));

    // Assess
    expect(decoded.map((d) => [d.offset, d.timestamp])).toEqual([
      ['102', '1700000000005'],
      ['9', '1800000000005'],
      ['102', '1700000000005'],
    ]);
  });

  it('gives headers named after Object.prototype members their own values', () => {
    // Prepare
    const encoded = encodeRecord({
      offsetDelta: 0,
      timestampDelta: 0n,
      key: null,
      value: null,
      headers: [
        ['toString', null],
        ['__proto__', Buffer.from('p')],
        ['toString', Buffer.from('t')],
      ],
    });
    const batchContext = {
      firstOffset: '0',
      firstTimestamp: '0',
      maxTimestamp: '0',
      magicByte: 2,
      timestampType: CREATE_TIME,
    };

    // Act
    const ours = lean(at(encoded), batchContext);
    const theirs = kafkajsDecoder(at(encoded), batchContext);

    // Assess: kafkajs mixes in the inherited members; a header is its value here.
    expect(Object.getPrototypeOf(ours.headers)).toBe(Object.prototype);
    expect(Object.entries(ours.headers)).toEqual([
      ['toString', [null, Buffer.from('t')]],
      ['__proto__', Buffer.from('p')],
    ]);
    expect(theirs.headers.toString).toEqual([
      Object.prototype.toString,
      null,
      Buffer.from('t'),
    ]);
  });
});

describe('installLeanRecordDecoder', () => {
  /** Runs the fixture in a thread of its own: a kafkajs of its own. */
  async function install(data: InstallData): Promise<InstallReport> {
    const worker = new Worker(
      new URL('./fixtures/install-lean-decoder.ts', import.meta.url),
      { workerData: data },
    );
    try {
      return await new Promise<InstallReport>((resolve, reject) => {
        worker.once('message', resolve);
        worker.once('error', reject);
      });
    } finally {
      await worker.terminate();
    }
  }

  it('puts the lean decoder under kafkajs’ record batch decoder, as the consumer thread does', async () => {
    // Act: kafkajs loaded first, as in the consumer thread.
    const report = await install({ batchDecoderFirst: false });

    // Assess: decoded by kafkajs' record batch decoder, through the lean one.
    expect(report).toEqual({
      kafkajs: true,
      installed: true,
      again: true,
      headers: { toString: 'a' },
    });
  });

  it('says so when kafkajs already holds its own, which then decodes', async () => {
    // Act
    const report = await install({ batchDecoderFirst: true });

    // Assess
    expect(report).toEqual({
      kafkajs: true,
      installed: false,
      again: false,
      headers: { toString: 'not bytes: object' },
    });
  });
});
