// size: one linear scenario (platform, load, interleaved rounds of five runs, report) read top to bottom; the table check and the ceiling's writes are bench/payments-table-check.ts and bench/payment-ceiling.ts.
/**
 * `npm run bench:payment`: throughput of the payment pipeline (docs/performance.md,
 * Payment pipeline benchmark).
 *
 * Starts the local platform, creates the dev template's topics and tables, and
 * produces RECORDS valid OrderPlaced.v1 events (distinct orders, keyed by order id;
 * some rejected by the payment rules or declined by the simulated gateway) to
 * order.placed.v1, with the template's partitions. Then, in interleaved rounds (the
 * order alternates), each run in a fresh consumer group from the oldest record:
 * - the payment function behind the local ESM, with the dev template's mapping of
 *   order.placed.v1 (batch size, window, retries, bisect) and the function's
 *   environment, as `npm run dev` runs it (one batch in flight, one warm sandbox),
 *   storing in DynamoDB Local (its table emptied first);
 * - the same with the payment repository in memory (./memory-payments.ts);
 * - the Python peer (./peers/payment_consumer.py): confluent-kafka, the same rules,
 *   one result produced per order, auto-commit, no store;
 * - the DynamoDB Local ceiling: the payment's writes for each order (startPayment,
 *   recordOutcome unless a rule rejected it, markPublished) through the real
 *   repository, without Kafka, at the concurrency the function uses;
 * - AWS-like: the DynamoDB variant with INJECTED_DELAY_MS before every DynamoDB call
 *   and every produce (./payment-function.ts), stopped after AWS_RECORDS records. On
 *   a backlog the ESM cuts each batch from one partition, and runs one at a time: the
 *   rate is what one partition sustains, and the durations of the full batches of one
 *   partition are what one batch of 100 takes to settle. (A topic of its own with one
 *   partition will not do: the payment function dead-letters an OrderPlaced read
 *   from any topic but order.placed.v1.)
 * After each DynamoDB run the table must hold exactly one published, decided payment
 * per order, with the outcome the rules give: a run that charged wrongly is a failure,
 * not a figure. Rates count from the end of a run's first batch to its last record
 * (the group join and the cold start are paid once, not per record); the peer's from
 * its first record polled to its last result acknowledged. Prints medians, the
 * ratios against the peer and the ceiling measured in the same run, and the
 * conditions. Figures, not assertions: tests never time.
 *
 * Knobs (environment): BENCH_ROUNDS (3), BENCH_PAYMENT_RECORDS (20 000),
 * BENCH_PAYMENT_AWS_RECORDS (1 000), BENCH_PAYMENT_RUNS (e.g. `memory,peer`: only
 * those), BENCH_PAYMENT_CEILING_CONCURRENCY (partitions x in-batch concurrency),
 * BENCH_PAYMENT_DEADLINE_MS (per run, 900 000).
 */
import { randomUUID } from 'node:crypto';
import { cpus, loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { DeleteTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DEFAULT_BUDGETS } from '#commons/config.ts';
import { DEFAULT_CONSUMER_CONCURRENCY } from '#commons/kafka-consumer.ts';
import { createKafkaPublisher } from '#commons/kafka-publisher.ts';
import { type Clock, TOPICS } from '#domain/events.ts';
import { DYNAMODB_LOCAL, KAFKA } from '#platform/artifacts.ts';
import { LOCAL_AWS } from '#platform/dynamodb.ts';
import {
  createTables,
  createTopics,
  startPlatform,
} from '#platform/platform.ts';
import {
  type Invoker,
  startEventSourceMapping,
} from '../local/runtime/esm/mapping.ts';
import { holdRecords } from '../local/runtime/esm/records/held-records.ts';
import { recordCount } from '../local/runtime/esm/records/packed-records.ts';
import { ConsumerThread } from '../local/runtime/kafka-consumer-thread.ts';
import { startLocalLambda } from '../local/runtime/lambda.ts';
import { readSystem, synthesizeTemplate } from '../local/runtime/template.ts';
import { writePayments } from './payment-ceiling.ts';
import { expectedStatus, orderPlaced } from './payment-orders.ts';
import {
  BENCH_ENV,
  type BenchStore,
  dynamoDbPayments,
} from './payment-wiring.ts';
import { verifyPaymentsTable } from './payments-table-check.ts';
import { ensurePeer, runPeer } from './python-peer.ts';
import { median } from './stats.ts';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const RECORDS = Number(process.env.BENCH_PAYMENT_RECORDS ?? 20_000);
/** The AWS-like variant runs on one partition, at a few hundred records/s at best. */
const AWS_RECORDS = Number(process.env.BENCH_PAYMENT_AWS_RECORDS ?? 1_000);
/** BENCH_PAYMENT_RUNS=memory,peer runs only those (to profile one side). */
const ONLY = process.env.BENCH_PAYMENT_RUNS?.split(',');
/** A run that has not seen every record by then is a failure, not a figure. */
const DEADLINE_MS = Number(process.env.BENCH_PAYMENT_DEADLINE_MS ?? 900_000);
/** A round trip to DynamoDB or to an MSK broker in the same region, roughly. */
const INJECTED_DELAY_MS = 5;
/** Orders written to DynamoDB Local before the rounds, to warm it up. */
const WARM_UP_ORDERS = 5_000;
/**
 * Records the payment function handles at once: the consumer module's lanes (one
 * per key, DEFAULT_CONSUMER_CONCURRENCY of them) in the one batch the local ESM has
 * in flight. The concurrency of the DynamoDB ceiling.
 */
const FUNCTION_CONCURRENCY = DEFAULT_CONSUMER_CONCURRENCY;

const log = (line: string) => process.stdout.write(`${line}\n`);
const load = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');

/** A pipeline run's figures. */
interface PipelineFigures {
  readonly rate: number;
  /** Durations of the full one-partition batches after the first, in ms. */
  readonly batchMs: readonly number[];
}

const platform = await startPlatform({
  kafkaPort: 0,
  dynamodbPort: 0,
  log,
});
const consumerThread = new ConsumerThread();
try {
  const brokers = platform.kafka.brokers;
  const dynamodbEndpoint = platform.dynamodb.endpoint;
  const model = readSystem(synthesizeTemplate('dev'), {
    brokers,
    dynamodbEndpoint,
  });
  const paymentFunction = model.functions.find((fn) => fn.name === 'payment');
  const mapping = model.mappings.find(
    (m) =>
      m.functionLogicalId === paymentFunction?.logicalId &&
      m.topic === TOPICS.orderPlaced,
  );
  const table = model.tables.find(
    (t) => t.tableName === paymentFunction?.environment.PAYMENTS_TABLE,
  );
  const partitions = model.topics.find(
    (t) => t.name === TOPICS.orderPlaced,
  )?.partitions;
  if (!paymentFunction || !mapping || !table || partitions === undefined) {
    throw new Error(
      'the dev template has no payment function with an order.placed.v1 mapping and its table',
    );
  }
  // BENCH_PAYMENT_CEILING_CONCURRENCY: how DynamoDB Local scales (information).
  const concurrency = Number(
    process.env.BENCH_PAYMENT_CEILING_CONCURRENCY ?? FUNCTION_CONCURRENCY,
  );
  await createTopics(
    brokers,
    model.topics.map((t) => ({ name: t.name, partitions: t.partitions })),
  );
  await createTables(
    dynamodbEndpoint,
    model.tables.map((t) => t.createTableInput),
  );
  const peerVersions = ONLY?.includes('peer') === false ? '' : ensurePeer(log);

  // Load phase, not measured.
  const run = randomUUID().slice(0, 8);
  const clock: Clock = { now: () => new Date(), uuid: randomUUID };
  const events = Array.from({ length: RECORDS }, (_, i) =>
    orderPlaced(i, run, clock),
  );
  const publisher = createKafkaPublisher(
    {
      brokers: [...brokers],
      clusterArn: undefined,
      auth: 'none',
      clientId: 'bench-payment',
      region: 'us-east-1',
    },
    { budget: DEFAULT_BUDGETS.consumer.kafka },
  );
  let t = performance.now();
  for (let from = 0; from < events.length; from += 1_000) {
    await publisher.publish(events.slice(from, from + 1_000));
  }
  await publisher.disconnect();
  const rejected = events.filter((e) => expectedStatus(e) === 'REJECTED');
  log(
    `produced ${RECORDS} OrderPlaced.v1 to ${TOPICS.orderPlaced} (${partitions} partitions; ${rejected.length} to be rejected) in ${(performance.now() - t).toFixed(0)} ms`,
  );

  const dynamodb = new DynamoDBClient({
    endpoint: dynamodbEndpoint,
    ...LOCAL_AWS,
  });
  const tableName = table.tableName;
  /** An empty Payments table: every run charges every order anew. */
  const resetTable = async () => {
    await dynamodb.send(new DeleteTableCommand({ TableName: tableName }));
    await createTables(dynamodbEndpoint, [table.createTableInput]);
  };
  const byOrder = new Map(events.map((e) => [e.data.orderId, e]));
  /**
   * Exactly one decided, published payment per order handled (`count` of them), as
   * the rules decide, and nothing else in the table.
   */
  const verifyTable = (count: number) =>
    verifyPaymentsTable(dynamodb, tableName, byOrder, count);

  /** The last lines the sandboxes and mappings logged, for a failure's message. */
  const recent: string[] = [];
  const keep = (line: string) => {
    recent.push(line);
    if (recent.length > 20) recent.shift();
  };

  /** The payment function behind the local ESM, in a fresh sandbox and group. */
  const pipeline = async (options: {
    readonly label: string;
    readonly store: BenchStore;
    readonly delayMs: number;
    /**
     * Records to wait for. Exactly the topic's (`exact`), or at least so many: then
     * the run stops there, and the batches in flight finish.
     */
    readonly records: number;
    readonly exact: boolean;
    /** Times the full batches of one partition each (not the first). */
    readonly timeBatches: boolean;
  }): Promise<PipelineFigures> => {
    if (options.store === 'dynamodb') await resetTable();
    const lambda = startLocalLambda(
      {
        ...paymentFunction,
        entry: 'bench/payment-function.ts',
        handler: 'handler',
        environment: {
          // As `npm run dev` runs it: no EMF blob per invocation.
          POWERTOOLS_METRICS_DISABLED: 'true',
          ...paymentFunction.environment,
          [BENCH_ENV.store]: options.store,
          [BENCH_ENV.delayMs]: String(options.delayMs),
        },
      },
      { log: keep },
    );
    let seen = 0;
    let firstAt: number | undefined;
    let firstCount = 0;
    let lastAt = 0;
    const batchMs: number[] = [];
    const all = Promise.withResolvers<void>();
    const fail = (message: string) =>
      all.reject(
        new Error(`${options.label}: ${message}\n${recent.join('\n')}`),
      );
    const timer = setTimeout(
      () => fail(`${seen}/${options.records} records after ${DEADLINE_MS} ms`),
      DEADLINE_MS,
    );
    const invoker: Invoker = {
      name: lambda.name,
      invoke: (event) => lambda.invoke(event),
      async invokeKafka(envelope, records) {
        const count = recordCount(records);
        // Read before the records go to the sandbox (they are transferred).
        const onePartition =
          options.timeBatches &&
          new Set(holdRecords(records, (r) => r.partition)).size === 1;
        const result = await lambda.invokeKafka(envelope, records);
        const failures = result.ok
          ? (result.result as { batchItemFailures?: unknown[] } | null)
              ?.batchItemFailures?.length
          : undefined;
        if (!result.ok) {
          fail(`a batch failed: ${result.errorType}: ${result.errorMessage}`);
        } else if (failures) {
          fail(`${failures} records of a batch failed`);
        } else {
          if (firstAt === undefined) {
            firstAt = performance.now();
            firstCount = count;
          } else if (onePartition && count === mapping.batchSize) {
            batchMs.push(result.durationMs);
          }
          seen += count;
          lastAt = performance.now();
          if (options.exact && seen > options.records) {
            // More than the topic holds: a record delivered twice would inflate the rate.
            fail(`${seen} records of ${options.records}`);
          } else if (seen >= options.records) all.resolve();
        }
        return result;
      },
    };
    const running = await startEventSourceMapping(
      {
        ...mapping,
        consumerGroupId: `bench-payment-${randomUUID()}`,
        startingPosition: 'TRIM_HORIZON',
      },
      invoker,
      { brokers, consumerThread, log: keep },
    );
    try {
      await all.promise;
    } finally {
      clearTimeout(timer);
      await running.stop();
      await lambda.stop();
    }
    if (options.store === 'dynamodb') await verifyTable(seen);
    const records = Math.max(1, seen - firstCount);
    return {
      rate: (records / Math.max(lastAt - (firstAt ?? 0), 1e-3)) * 1000,
      batchMs,
    };
  };

  /** The payment's writes per order, straight to DynamoDB Local, `concurrency` at once. */
  const ceiling = async (orders = events.length): Promise<number> => {
    await resetTable();
    const payments = dynamoDbPayments(
      {
        endpoint: dynamodbEndpoint,
        region: 'us-east-1',
        budget: DEFAULT_BUDGETS.consumer.store,
      },
      tableName,
      0,
      { credentials: LOCAL_AWS.credentials },
    );
    const start = performance.now();
    await writePayments(payments, events, orders, concurrency);
    const rate = (orders / (performance.now() - start)) * 1000;
    await verifyTable(orders);
    return rate;
  };

  const runs: Record<string, () => Promise<PipelineFigures>> = {
    dynamodb: () =>
      pipeline({
        label: 'DynamoDB Local',
        store: 'dynamodb',
        delayMs: 0,
        records: RECORDS,
        exact: true,
        timeBatches: false,
      }),
    memory: () =>
      pipeline({
        label: 'in memory',
        store: 'memory',
        delayMs: 0,
        records: RECORDS,
        exact: true,
        timeBatches: false,
      }),
    peer: async () => ({
      rate: (
        await runPeer({
          brokers,
          topic: TOPICS.orderPlaced,
          group: `bench-peer-${randomUUID()}`,
          records: RECORDS,
          deadlineSeconds: DEADLINE_MS / 1000,
        })
      ).recordsPerSecond,
      batchMs: [],
    }),
    ceiling: async () => ({ rate: await ceiling(), batchMs: [] }),
    'aws-like': () =>
      pipeline({
        label: 'AWS-like',
        store: 'dynamodb',
        delayMs: INJECTED_DELAY_MS,
        records: AWS_RECORDS,
        exact: false,
        timeBatches: true,
      }),
  };
  const names = Object.keys(runs).filter(
    (name) => ONLY?.includes(name) ?? true,
  );
  const results: Record<string, PipelineFigures[]> = Object.fromEntries(
    names.map((name) => [name, []]),
  );
  // Warm-up, not measured: a fresh DynamoDB Local JVM takes about half the writes
  // per second it takes once its JIT has compiled the hot paths.
  if (names.some((name) => name !== 'peer' && name !== 'memory')) {
    await ceiling(Math.min(events.length, WARM_UP_ORDERS));
  }
  const loadBefore = load();
  t = performance.now();
  for (let round = 1; round <= ROUNDS; round += 1) {
    const order = round % 2 === 1 ? names : [...names].reverse();
    const line: string[] = [];
    for (const name of order) {
      const figures = await runs[name]?.();
      if (!figures) continue;
      results[name]?.push(figures);
      log(`  ${name}: ${figures.rate.toFixed(0)} records/s`);
      line.push(`${name} ${figures.rate.toFixed(0)}/s`);
    }
    log(`round ${round}/${ROUNDS}: ${line.join(', ')}`);
  }
  const minutes = (performance.now() - t) / 60_000;

  const rate = (name: string) =>
    median((results[name] ?? []).map((r) => r.rate));
  /** The rounds' ratios: each pair ran in the same round, on the same load. */
  const perRound = (name: string, base: string) =>
    (results[name] ?? []).map(
      (r, i) => r.rate / (results[base]?.[i]?.rate ?? Number.NaN),
    );
  const row = (label: string, value: string) => `  ${label.padEnd(64)}${value}`;
  const rateRow = (label: string, name: string) =>
    row(label, `${rate(name).toFixed(0).padStart(7)} records/s`);
  const ratioRow = (label: string, name: string, base: string) =>
    row(
      label,
      `${median(perRound(name, base)).toFixed(2)}  (rounds: ${perRound(
        name,
        base,
      )
        .map((r) => r.toFixed(2))
        .join(' ')})`,
    );
  const batches = (results['aws-like'] ?? []).flatMap((r) => r.batchMs);
  const window = mapping.maximumBatchingWindowSeconds;
  log(
    [
      '',
      `Payment pipeline (median of ${ROUNDS} interleaved rounds, ${minutes.toFixed(1)} min; ratios: median of the rounds' ratios)`,
      `  ${cpus().length} cores, load average ${loadBefore} before, ${load()} after; Node ${process.version}; ${KAFKA.title}; ${DYNAMODB_LOCAL.title}${peerVersions ? `; ${peerVersions}` : ''}`,
      `  ${RECORDS} OrderPlaced.v1 (${rejected.length} rejected), ${partitions} partitions; dev mapping: batch ${mapping.batchSize}, window ${window} s, one batch in flight, one sandbox`,
      rateRow('payment function, DynamoDB Local', 'dynamodb'),
      rateRow('payment function, repository in memory', 'memory'),
      rateRow('Python peer (confluent-kafka, no store)', 'peer'),
      rateRow(
        `DynamoDB Local ceiling (the payment's 2-3 writes per order, ${concurrency} at once)`,
        'ceiling',
      ),
      ratioRow('in memory / Python peer (goal >= 2)', 'memory', 'peer'),
      row(
        'DynamoDB Local (goal >= 2000 records/s)',
        `${rate('dynamodb').toFixed(0)} records/s`,
      ),
      ratioRow('DynamoDB Local / ceiling (goal >= 0.5)', 'dynamodb', 'ceiling'),
      `  AWS-like: ${INJECTED_DELAY_MS} ms before every DynamoDB call and every produce, the first ${AWS_RECORDS}+ records; batches of one partition, one at a time`,
      rateRow('  one partition sustains', 'aws-like'),
      row(
        '  one batch of 100 settles in (median; goal <= 100 ms)',
        `${median(batches).toFixed(0)} ms (min ${Math.min(...batches).toFixed(0)}, max ${Math.max(...batches).toFixed(0)}, ${batches.length} batches)`,
      ),
      '',
    ].join('\n'),
  );
  dynamodb.destroy();
} finally {
  await consumerThread.stop();
  await platform.stop();
}
