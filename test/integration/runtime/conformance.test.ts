/**
 * Conformance: what the local event source mapping delivers is the event AWS delivers.
 * It parses with Powertools' `KafkaMskEventSchema` (after the caveat of
 * docs/aws-kafka-esm.md, Event payload: that schema cannot take signed header bytes,
 * which real events carry, nor tombstones), and has the keys and JSON types of the
 * shared AWS fixture.
 */
import { randomUUID } from 'node:crypto';
import { KafkaMskEventSchema } from '@aws-lambda-powertools/parser/schemas/kafka';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { createTopics } from '#platform/platform.ts';
import { pollUntil } from '#platform/wait.ts';
import {
  type LocalEventSourceMapping,
  startEventSourceMapping,
} from '../../../local/runtime/esm/mapping.ts';
import { loadFixture } from '../../fixtures/fixtures.ts';
import { CONSUMED_MS } from '../deadlines.ts';

const fixture = loadFixture('aws-events/msk-base.json') as Record<
  string,
  unknown
>;

/** The shape of a JSON value: keys and `typeof` all the way down (arrays by first item). */
function shape(value: unknown): unknown {
  if (Array.isArray(value))
    return [value.length > 0 ? shape(value[0]) : 'empty'];
  if (value === null) return 'null';
  if (typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value as Record<string, unknown>)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([key, inner]) => [key, shape(inner)]),
    );
  }
  return typeof value;
}

/** The first record of an event's first partition, and the event without `records`. */
function split(event: Record<string, unknown>) {
  const { records, ...envelope } = event as {
    records: Record<string, unknown[]>;
  };
  const [partition] = Object.values(records);
  return { envelope, record: partition?.[0] };
}

/**
 * docs/aws-kafka-esm.md, Event payload: Powertools reads header bytes as code points,
 * unsigned.
 */
function unsignedHeaders(event: Record<string, unknown>) {
  const copy = structuredClone(event) as {
    records: Record<string, { headers: Record<string, number[]>[] }[]>;
  };
  for (const records of Object.values(copy.records)) {
    for (const record of records) {
      record.headers = record.headers.map((header) =>
        Object.fromEntries(
          Object.entries(header).map(([name, bytes]) => [
            name,
            bytes.map((b) => (b < 0 ? b + 256 : b)),
          ]),
        ),
      );
    }
  }
  return copy;
}

describe('local event source mapping: conformance', () => {
  const brokers = inject('kafkaBrokers');
  let esm: LocalEventSourceMapping | undefined;
  afterAll(async () => {
    await esm?.stop();
  });

  it('delivers events Powertools parses, shaped like the AWS fixture', async () => {
    // Prepare: records with a key and headers (one not ASCII), and one without a key.
    const topic = `conformance.${randomUUID()}`;
    await createTopics(brokers, [{ name: topic, partitions: 2 }]);
    const producer = new Kafka({
      clientId: 'conformance',
      brokers,
      logLevel: logLevel.NOTHING,
    }).producer({ idempotent: true }); // a retried send appends nothing twice
    await producer.connect();
    await producer.send({
      topic,
      messages: [
        {
          key: 'recordKey',
          value: '{"key":"value"}',
          headers: { headerKey: 'headerValue', city: 'café' },
        },
        { value: '{"no":"key"}', headers: { 'correlation-id': 'c-1' } },
      ],
    });
    await producer.disconnect();
    const events: Record<string, unknown>[] = [];

    // Act
    esm = await startEventSourceMapping(
      {
        logicalId: 'Conformance',
        functionLogicalId: 'Fake',
        topic,
        consumerGroupId: `conformance-${randomUUID()}`,
        startingPosition: 'TRIM_HORIZON',
        batchSize: 100,
        maximumBatchingWindowSeconds: 0,
        maximumRetryAttempts: -1,
        maximumRecordAgeSeconds: -1,
        bisectBatchOnFunctionError: false,
        reportBatchItemFailures: true,
        enabled: true,
        filters: [],
      },
      {
        name: 'fake',
        async invoke(event) {
          events.push(event as Record<string, unknown>);
          return { ok: true, result: { batchItemFailures: [] }, durationMs: 0 };
        },
      },
      { brokers },
    );
    const delivered = () =>
      events.flatMap((e) =>
        Object.values(
          (e as { records: Record<string, unknown[]> }).records,
        ).flat(),
      );
    await pollUntil(
      () => (delivered().length >= 2 ? true : undefined),
      CONSUMED_MS,
    );

    // Assess: every event parses; the keyed record looks like the fixture's.
    for (const event of events) {
      expect(() =>
        KafkaMskEventSchema.parse(unsignedHeaders(event)),
      ).not.toThrow();
    }
    const keyed = delivered().find(
      (r) => (r as { key?: string }).key !== undefined,
    ) as Record<string, unknown>;
    const expected = split(fixture);
    const actual = split(events[0] as Record<string, unknown>);
    expect(shape(actual.envelope)).toEqual(shape(expected.envelope));
    expect(shape(keyed)).toEqual(shape(expected.record));
    // Header values are Java's signed bytes: 'é' is [-61, -87].
    const headers = keyed.headers as Record<string, number[]>[];
    expect(headers).toContainEqual({ city: [99, 97, 102, -61, -87] });
  });
});
