/**
 * `npm run bench:consumer`: the consumer module's own cost, and a batch of payments
 * with every dependency call slowed down (docs/performance.md).
 *
 * 1. Per record, in interleaved rounds over the same batches of OrderPlaced records
 *    (100 per batch, 3 partitions, a correlation-id header): a bare loop that
 *    decodes each value and JSON.parses it (the baseline), and the consumer module
 *    with a no-op handler and a pass-through schema; the difference is the module's
 *    own cost. The same two with the payment schema, for reference.
 * 2. Settle time of one batch of 100 OrderPlaced of distinct orders through the
 *    payment handler (real repository, DynamoDB Local) with 5 ms added to every
 *    DynamoDB call (an SDK middleware) and to every publish (a stand-in publisher
 *    that waits 5 ms and keeps nothing); the gateway is the in-process simulated
 *    one. Against the same batch with nothing added, in the same rounds.
 *
 * Figures, not assertions: tests never time. Medians over rounds.
 */
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { Logger } from '@aws-lambda-powertools/logger';
import { PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { Context } from 'aws-lambda';
import * as z from 'zod';
import { DEFAULT_BUDGETS } from '#commons/config.ts';
import { createDocumentClient } from '#commons/dynamodb.ts';
import { createKafkaConsumer } from '#commons/kafka-consumer.ts';
import type { EventPublisher } from '#commons/kafka-publisher.ts';
import { MskEvent } from '#commons/msk-event.ts';
import type { PaymentRepository } from '#commons/payment-repository.ts';
import { type DomainEvent, PaymentInput } from '#domain/events.ts';
import {
  createSimulatedGateway,
  DEFAULT_PAYMENT_RULES,
} from '#domain/payment.ts';
import { createTableInput, TABLES } from '#infra/tables.ts';
import { DYNAMODB_LOCAL, ensureArtifacts } from '#platform/artifacts.ts';
import { LOCAL_AWS, startDynamoDbLocal } from '#platform/dynamodb.ts';
import { findJava } from '#platform/java.ts';
import { createTables } from '#platform/platform.ts';
import { createMemoryPaymentRepository } from './memory-payments.ts';
import { batchOf, clock, ids } from './order-placed-batches.ts';
import { dynamoDbPayments } from './payment-wiring.ts';
import { median } from './stats.ts';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 7);
const BATCHES = Number(process.env.BENCH_BATCHES ?? 40);
const DELAY_MS = Number(process.env.BENCH_DELAY_MS ?? 5);
const PER_BATCH = 100;
const PARTITIONS = 3;

// The one line per batch at INFO goes nowhere: the bench times the module, not a
// terminal. Restored before printing.
const write = process.stdout.write.bind(process.stdout);
const writeErr = process.stderr.write.bind(process.stderr);
const mute = () => {
  process.stdout.write = () => true;
  // The metrics middleware warns on stderr that a batch had no metrics to flush.
  process.stderr.write = () => true;
};
const unmute = () => {
  process.stdout.write = write;
  process.stderr.write = writeErr;
};

// ---- 1. The module's own cost per record ----------------------------------------

const batches = Array.from({ length: BATCHES }, () =>
  batchOf(ids(PER_BATCH), PARTITIONS),
);
const recordsPerRound = BATCHES * PER_BATCH;
const logger = new Logger({ serviceName: 'bench', logLevel: 'INFO' });
const deadLetters = { send: async () => {} };
const passThrough = createKafkaConsumer({
  name: 'bench',
  schema: z.unknown(),
  deadLetters,
  logger,
  handle: async () => {},
});
const withSchema = createKafkaConsumer({
  name: 'bench',
  schema: PaymentInput,
  deadLetters,
  logger,
  handle: async () => {},
});

/** The baseline: what any consumer does for a record, decode and JSON.parse. */
function bareLoop(event: MskEvent, validate?: (value: unknown) => unknown) {
  let kept = 0;
  for (const records of Object.values(event.records)) {
    for (const record of records) {
      const value: unknown = JSON.parse(
        Buffer.from(record.value ?? '', 'base64').toString('utf8'),
      );
      if ((validate ? validate(value) : value) !== undefined) kept += 1;
    }
  }
  return kept;
}

async function microsPerRecord(run: (event: MskEvent) => unknown) {
  const started = performance.now();
  for (const event of batches) await run(event);
  return ((performance.now() - started) * 1000) / recordsPerRound;
}

const envelope: number[] = [];
const bare: number[] = [];
const bareSchema: number[] = [];
const module: number[] = [];
const moduleSchema: number[] = [];
mute();
try {
  // Warm-up: one of each, not counted.
  await microsPerRecord((event) => bareLoop(event));
  await microsPerRecord((event) => passThrough(event));
  await microsPerRecord((event) => withSchema(event));
  for (let round = 0; round < ROUNDS; round += 1) {
    envelope.push(await microsPerRecord((event) => MskEvent.safeParse(event)));
    bare.push(await microsPerRecord((event) => bareLoop(event)));
    module.push(await microsPerRecord((event) => passThrough(event)));
    bareSchema.push(
      await microsPerRecord((event) =>
        bareLoop(event, (value) => PaymentInput.safeParse(value).data),
      ),
    );
    moduleSchema.push(await microsPerRecord((event) => withSchema(event)));
  }
} finally {
  unmute();
}

// ---- 2. One batch of payments, every call slowed down ---------------------------

const java = findJava();
const libDir = await ensureArtifacts(DYNAMODB_LOCAL, {
  java,
  log: console.log,
});
const dynamo = await startDynamoDbLocal({ java, libDir });
// The payment module wires its own handler at load: these values only let it load.
process.env.KAFKA_BROKERS ??= '127.0.0.1:9';
process.env.PAYMENTS_TABLE ??= 'bench-unused';
process.env.POWERTOOLS_METRICS_DISABLED = 'true';
const { createPaymentHandler } = await import('../functions/payment.ts');

/** DynamoDB Local with the consumers' budget, as the payment function has it. */
const storeConfig = () => ({
  endpoint: dynamo.endpoint,
  budget: DEFAULT_BUDGETS.consumer.store,
});

const context = {
  functionName: 'payment',
  getRemainingTimeInMillis: () => 60_000,
} as Context;

/** Every method of `payments` waits `delayMs` first. */
function slowed(
  payments: PaymentRepository,
  delayMs: number,
): PaymentRepository {
  return new Proxy(payments, {
    get(target, name, receiver) {
      const member: unknown = Reflect.get(target, name, receiver);
      if (typeof member !== 'function') return member;
      return async (...args: unknown[]) => {
        await sleep(delayMs);
        return member.apply(target, args);
      };
    },
  });
}

function paymentHandler(
  store: 'dynamodb' | 'memory',
  tableName: string,
  delayMs: number,
  concurrency: number,
) {
  const pause = () => (delayMs > 0 ? sleep(delayMs) : Promise.resolve());
  const publisher: EventPublisher = {
    publish: async (_events: readonly DomainEvent[]) => pause(),
    send: async () => pause(),
    disconnect: async () => {},
  };
  const quiet = new Logger({ serviceName: 'payment', logLevel: 'WARN' });
  return createPaymentHandler({
    payments:
      store === 'memory'
        ? slowed(createMemoryPaymentRepository(), delayMs)
        : dynamoDbPayments(
            { ...storeConfig(), region: LOCAL_AWS.region },
            tableName,
            delayMs,
            { credentials: LOCAL_AWS.credentials },
          ),
    publisher,
    gateway: createSimulatedGateway({}, clock),
    rules: DEFAULT_PAYMENT_RULES,
    clock,
    logger: quiet,
    concurrency,
    retry: {
      maxAttempts: 1,
      baseDelayMs: 0,
      maxDelayMs: 0,
      sleep: async () => {},
      random: Math.random,
    },
  });
}

const settle: Record<string, number[]> = {};
try {
  const tableName = `bench-payments-${randomUUID()}`;
  await createTables(dynamo.endpoint, [
    createTableInput(TABLES.payments, tableName),
  ]);
  const cases = [
    {
      name: `DynamoDB Local + ${DELAY_MS} ms/call, 3 partitions`,
      store: 'dynamodb',
      delay: DELAY_MS,
      partitions: 3,
      concurrency: 16,
    },
    {
      name: `DynamoDB Local + ${DELAY_MS} ms/call, 1 partition`,
      store: 'dynamodb',
      delay: DELAY_MS,
      partitions: 1,
      concurrency: 16,
    },
    {
      name: 'DynamoDB Local, nothing added, 3 partitions',
      store: 'dynamodb',
      delay: 0,
      partitions: 3,
      concurrency: 16,
    },
    {
      name: `in memory + ${DELAY_MS} ms/call, 3 partitions`,
      store: 'memory',
      delay: DELAY_MS,
      partitions: 3,
      concurrency: 16,
    },
    {
      name: `in memory + ${DELAY_MS} ms/call, 1 partition`,
      store: 'memory',
      delay: DELAY_MS,
      partitions: 1,
      concurrency: 16,
    },
    {
      name: 'in memory, nothing added, 3 partitions',
      store: 'memory',
      delay: 0,
      partitions: 3,
      concurrency: 16,
    },
    {
      name: `in memory + ${DELAY_MS} ms/call, 3 partitions, concurrency 1`,
      store: 'memory',
      delay: DELAY_MS,
      partitions: 3,
      concurrency: 1,
    },
  ] as const;
  const handlers = cases.map((c) =>
    paymentHandler(c.store, tableName, c.delay, c.concurrency),
  );
  // DynamoDB Local alone: a charged payment's three writes (conditional Put, two
  // Updates) for 100 orders, 48 orders at once (3 partitions x 16), no handler.
  const raw = createDocumentClient(
    { ...storeConfig(), region: LOCAL_AWS.region },
    { credentials: LOCAL_AWS.credentials },
  );
  const rawWrites = async () => {
    const queue = ids(PER_BATCH);
    const lane = async () => {
      for (let orderId = queue.pop(); orderId; orderId = queue.pop()) {
        const Key = { pk: `ORDER#${orderId}`, sk: 'PAYMENT' };
        await raw.send(
          new PutCommand({
            TableName: tableName,
            Item: { ...Key, status: 'CLAIMED' },
            ConditionExpression: 'attribute_not_exists(pk)',
          }),
        );
        for (const status of ['CHARGED', 'PUBLISHED']) {
          await raw.send(
            new UpdateCommand({
              TableName: tableName,
              Key,
              UpdateExpression: 'SET #s = :s',
              ExpressionAttributeNames: { '#s': 'status' },
              ExpressionAttributeValues: { ':s': status },
            }),
          );
        }
      }
    };
    await Promise.all(Array.from({ length: 48 }, lane));
  };
  const RAW = 'DynamoDB Local alone: the same 300 writes, 48 at once';
  mute();
  try {
    for (let round = 0; round <= ROUNDS; round += 1) {
      const started = performance.now();
      await rawWrites();
      if (round > 0) {
        settle[RAW] ??= [];
        settle[RAW]?.push(performance.now() - started);
      }
      for (const [index, c] of cases.entries()) {
        const handler = handlers[index];
        if (!handler) continue;
        const event = batchOf(ids(PER_BATCH), c.partitions);
        const started = performance.now();
        const response = await handler(event, context);
        const ms = performance.now() - started;
        if (response.batchItemFailures.length > 0) {
          throw new Error(`${c.name}: the batch failed`);
        }
        // Round 0 warms the connections up.
        if (round > 0) {
          settle[c.name] ??= [];
          settle[c.name]?.push(ms);
        }
      }
    }
  } finally {
    unmute();
  }
} finally {
  await dynamo.stop();
}

const us = (values: readonly number[]) => `${median(values).toFixed(1)} µs`;
const own = median(module) - median(bare);
const ownSchema = median(moduleSchema) - median(bareSchema);
console.log(`
Consumer module, per record (median of ${ROUNDS} rounds of ${recordsPerRound} records, ${PER_BATCH} per batch on ${PARTITIONS} partitions, no-op handler)
  bare loop: base64 + JSON.parse (baseline)        ${us(bare)}
  consumer, pass-through schema                     ${us(module)}
  consumer's own cost (difference)                  ${own.toFixed(1)} µs   (goal <= 5 µs)
    of which the envelope's zod check (msk-event.ts) ${us(envelope)}
  bare loop + PaymentInput.safeParse                ${us(bareSchema)}
  consumer, PaymentInput schema                     ${us(moduleSchema)}
  consumer's own cost with the payment schema       ${ownSchema.toFixed(1)} µs

Payment batch of ${PER_BATCH} distinct orders, settle time (median of ${ROUNDS}; DynamoDB Local ${dynamo.version})`);
for (const [name, values] of Object.entries(settle)) {
  console.log(`  ${name.padEnd(54)} ${median(values).toFixed(1)} ms`);
}
console.log(`  (goal with ${DELAY_MS} ms per call: <= 100 ms)`);
