/**
 * Experiment 5 (docs/fault-suite.md): after traffic has settled, every consumer
 * group is rewound to the start of its topic and the system started again. Every
 * record is delivered a second time; nothing may change (docs/domain.md section 9):
 * no order state or version, no payment, no new record on any topic.
 */
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { retryRetriable } from '#platform/wait.ts';
import {
  assertInvariants,
  type Experiment,
  hold,
  startExperiment,
} from './harness/experiment.ts';
import { endOffsets } from './harness/invariants.ts';

let experiment: Experiment;
beforeAll(async () => {
  experiment = await startExperiment('rewind');
});
afterAll(() => experiment?.stop());

async function observable() {
  const { orders, payments } = await experiment.store();
  const topics = experiment.system.model.topics.map((t) => t.name);
  return {
    orders: Object.fromEntries(orders),
    payments: Object.fromEntries(payments),
    offsets: Object.fromEntries(
      await endOffsets(experiment.platform.kafka.brokers, topics),
    ),
  };
}

it('changes nothing when every consumer group is rewound to 0', async () => {
  // Prepare: traffic, settled.
  let loadEnded = 0;
  await experiment.withLoad(async () => {
    await hold(15_000);
    loadEnded = performance.now();
  });
  expect(await experiment.recovery(loadEnded)).toBeDefined();
  const before = await observable();

  // Act: stop the system (its groups go empty), rewind them, start it again.
  await experiment.restartSystem(async () => {
    const admin = new Kafka({
      clientId: 'faults-rewind',
      brokers: [...experiment.platform.kafka.brokers],
      logLevel: logLevel.NOTHING,
    }).admin();
    await admin.connect();
    try {
      // To each partition's first offset (0: nothing has been deleted yet), as
      // a number, not kafkajs' symbolic 'earliest' (-2).
      for (const mapping of experiment.system.model.mappings) {
        const offsets = await retryRetriable(
          () => admin.fetchTopicOffsets(mapping.topic),
          60_000,
        );
        await retryRetriable(
          () =>
            admin.setOffsets({
              groupId: mapping.consumerGroupId,
              topic: mapping.topic,
              partitions: offsets.map(({ partition, low }) => ({
                partition,
                offset: low,
              })),
            }),
          60_000,
        );
      }
    } finally {
      await admin.disconnect();
    }
  });
  const restarted = performance.now();

  // Assess
  const figures = await experiment.figures(
    await experiment.recovery(restarted),
  );
  assertInvariants(figures);
  const after = await observable();
  expect.soft(after.orders, 'order states and versions').toEqual(before.orders);
  expect.soft(after.payments, 'payments').toEqual(before.payments);
  expect.soft(after.offsets, 'records on every topic').toEqual(before.offsets);
});
