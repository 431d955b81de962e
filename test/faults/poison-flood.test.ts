/**
 * Experiment 4 (docs/fault-suite.md): several hundred malformed records produced
 * straight to every consumed topic, in the middle of a stream of good orders. Each
 * must end as a dead letter (docs/domain.md section 7) and the good orders as usual.
 */
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { TOPICS } from '#domain/events.ts';
import {
  assertInvariants,
  type Experiment,
  hold,
  startExperiment,
} from './harness/experiment.ts';

/** How many malformed records, spread over the five consumed topics. */
const POISON = 400;

let experiment: Experiment;
beforeAll(async () => {
  experiment = await startExperiment('poison-flood');
});
afterAll(() => experiment?.stop());

/** A malformed record of one of the kinds docs/domain.md section 7 calls poison. */
function poison(n: number, key: string): Buffer | string | null {
  switch (n % 5) {
    case 0:
      return 'not json at all';
    case 1:
      return '{"not":"an event"}';
    case 2:
      return null; // a tombstone
    case 3:
      return Buffer.from([0xff, 0xfe, 0x00, 0x80]); // not UTF-8
    default:
      return JSON.stringify({
        eventId: 'not-a-uuid',
        eventType: 'OrderPlaced',
        version: 1,
        occurredAt: 'yesterday',
        correlationId: key,
        causationId: null,
        data: { orderId: key },
      });
  }
}

it('dead-letters every poison record and still completes every good order', async () => {
  const topics = [
    TOPICS.orderPlaced,
    TOPICS.orderCancelled,
    TOPICS.paymentProcessed,
    TOPICS.paymentFailed,
    TOPICS.paymentRefunded,
  ];
  const producer = new Kafka({
    clientId: 'faults-poison',
    brokers: [...experiment.platform.kafka.brokers],
    logLevel: logLevel.NOTHING,
  }).producer({ idempotent: true });
  await producer.connect();
  let floodEnded = 0;
  try {
    await experiment.withLoad(async () => {
      await hold(5_000);
      // In bursts of 50, between good orders.
      for (let from = 0; from < POISON; from += 50) {
        await producer.sendBatch({
          acks: -1,
          topicMessages: topics.map((topic, t) => ({
            topic,
            messages: Array.from({ length: 10 }, (_, i) => {
              const n = from + t * 10 + i;
              const key = `poison-${experiment.run}-${n}`;
              return { key, value: poison(n, key) };
            }),
          })),
        });
        await hold(500);
      }
      floodEnded = performance.now();
      await hold(5_000);
    });
  } finally {
    await producer.disconnect();
  }
  const figures = await experiment.figures(
    await experiment.recovery(floodEnded),
  );
  const letters = (await experiment.store()).deadLetters.filter((letter) =>
    letter.key?.startsWith(`poison-${experiment.run}-`),
  );
  console.log(
    `[faults] poison-flood: poison sent=${POISON} dead-lettered=${letters.length} (${new Set(letters.map((l) => l.status)).size} statuses: ${[...new Set(letters.map((l) => l.status))].join(', ')})`,
  );
  expect(figures.acknowledged).toBeGreaterThan(0);
  assertInvariants(figures);
  expect.soft(letters.length, 'poison records dead-lettered').toBe(POISON);
});
