// size: one linear scenario (platform, load, interleaved rounds, report) read top to bottom; its thread CPU accounting is bench/thread-cpu.ts.
/**
 * `npm run bench` (second part): throughput of the local Kafka event source mapping.
 *
 * Starts the local platform, produces a fixed number of records to a 6-partition topic
 * (not measured), then, on the same broker and topic, times in each round a bare
 * kafkajs consumer (the baseline: what reading the topic costs at all) and the local
 * ESM behind a no-op function, each in a fresh consumer group from the oldest record.
 * The baseline runs on a thread of its own that lives for the whole bench, like the
 * ESM's consumer; the same consumer on the main thread, for information, is slower.
 * The mapping and the function run as `npm run dev` runs them (local/runtime/system.ts):
 * one batch in flight per mapping, the function in one warm local Lambda sandbox (a
 * worker thread), which receives every event in full, and every mapping's consumer on
 * one consumer thread that lives as long as the session (here: the bench). One more
 * run, for information, has 5 batches in flight in 5 sandboxes, AWS's concurrency
 * (docs/aws-kafka-esm.md, Ordering and concurrency).
 * The ESM's consumer thread decodes records with a leaner decoder than kafkajs' own
 * (local/runtime/kafkajs-record-decoder.ts); so that its gain and the ESM's own cost
 * are told apart, one more bare consumer, for information, decodes with it too.
 * The order alternates between rounds; it prints records/s, the medians and the ratio
 * ESM / baseline (goal: ≥ 0.90, i.e. the ESM is never the bottleneck). With each rate
 * goes the CPU per record, and on Linux how much of it the consumer's thread and V8's
 * GC helper threads took, which shows the GC mode a run fell into. Last, for
 * information, the cost of one invocation without records, which a mapping pays per
 * batch. Figures, not assertions: tests never time.
 */
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import { Kafka, logLevel } from 'kafkajs';
import { KAFKA } from '#platform/artifacts.ts';
import { startPlatform } from '#platform/platform.ts';
import {
  type Invoker,
  type LocalMapping,
  startEventSourceMapping,
} from '../local/runtime/esm/mapping.ts';
import {
  packRecords,
  recordCount,
} from '../local/runtime/esm/records/packed-records.ts';
import {
  CONSUMER_THREAD_NAME,
  ConsumerThread,
} from '../local/runtime/kafka-consumer-thread.ts';
import { type LocalLambda, startLocalLambda } from '../local/runtime/lambda.ts';
import {
  sandboxThreadName,
  workerExecArgv,
} from '../local/runtime/lambda-sandbox.ts';
import type {
  BareConsumerData,
  FromBareConsumer,
  ToBareConsumer,
} from './bare-consumer.ts';
import { median } from './stats.ts';
import { cpuByThread, cpuPer, GC_THREAD, MAIN_THREAD } from './thread-cpu.ts';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
/** Enough for runs of seconds: steady state, not the first fetches. */
const RECORDS = Number(process.env.BENCH_ESM_RECORDS ?? 1_600_000);
const PARTITIONS = 6;
const VALUE_BYTES = 300;
const PRODUCE_BATCH = 5_000;
/** A run that has not seen every record by then is a failure, not a figure. */
const DEADLINE_MS = Number(process.env.BENCH_ESM_DEADLINE_MS ?? 120_000);
/**
 * docs/aws-kafka-esm.md, Ordering and concurrency: up to 5 concurrent batches per
 * poller, as the informational run has.
 */
const AWS_IN_FLIGHT = 5;
const TOPIC = 'bench.esm.v1';
/** Round trips timed for the cost of one invocation. */
const INVOCATIONS = 20_000;
/** The baseline's thread. */
const BARE_CONSUMER_THREAD = 'bare-consumer';
/** The thread of the bare consumer with the ESM's record decoder. */
const LEAN_CONSUMER_THREAD = 'bare-lean';

/** A run's figures, between its first delivery and its last. */
interface Figures {
  /** Records per second. */
  readonly rate: number;
  /** CPU time of this process (every thread) per record, in microseconds. */
  readonly cpuPerRecord: number;
  /** Of which the thread that runs the kafkajs consumer (NaN: not on Linux). */
  readonly readerPerRecord: number;
  /**
   * Of which V8's helper threads, which mark and scavenge for every isolate: 0.4 µs
   * and more tells a run whose kafkajs consumer kept V8 doing full collections
   * (its decoded fetches outlived scavenges) from one whose fetches died young.
   */
  readonly gcPerRecord: number;
}

/**
 * Counts delivered records; `done` resolves once all RECORDS arrived (rejects at the
 * deadline) with the figures between the first delivery and the last: the steady
 * state, without the group join and start-up that each side pays once. `reader` is
 * the name of the thread that runs the run's kafkajs consumer.
 */
function untilAll(label: string, reader: string) {
  let seen = 0;
  let firstAt: number | undefined;
  let firstCpu = process.cpuUsage();
  let firstThreads = new Map<string, number>();
  let firstCount = 0;
  const all = Promise.withResolvers<Figures>();
  const timer = setTimeout(
    () =>
      all.reject(
        new Error(
          `${label}: ${seen}/${RECORDS} records after ${DEADLINE_MS} ms`,
        ),
      ),
    DEADLINE_MS,
  );
  return {
    add(n: number) {
      if (firstAt === undefined) {
        firstThreads = cpuByThread();
        firstAt = performance.now();
        firstCpu = process.cpuUsage();
        firstCount = n;
      }
      seen += n;
      if (seen > RECORDS) {
        // More than the topic holds: a record delivered twice would inflate the rate.
        all.reject(new Error(`${label}: ${seen} records of ${RECORDS}`));
      } else if (seen === RECORDS) {
        const ms = performance.now() - (firstAt ?? 0);
        const cpu = process.cpuUsage(firstCpu);
        const threads = cpuByThread();
        const records = Math.max(1, seen - firstCount);
        all.resolve({
          rate: (records / Math.max(ms, 1e-3)) * 1000,
          cpuPerRecord: (cpu.user + cpu.system) / records,
          readerPerRecord: cpuPer(firstThreads, threads, reader, records),
          gcPerRecord: cpuPer(firstThreads, threads, GC_THREAD, records),
        });
      }
    },
    fail(message: string) {
      all.reject(new Error(`${label}: ${message}`));
    },
    done: all.promise.finally(() => clearTimeout(timer)),
    seen: () => seen,
  };
}

const platform = await startPlatform({
  kafkaPort: 0,
  dynamodbPort: 0,
  log: console.log,
});
try {
  const brokers = platform.kafka.brokers;
  const kafka = new Kafka({
    clientId: 'bench-esm',
    brokers: [...brokers],
    logLevel: logLevel.NOTHING,
  });
  await platform.createTopics([{ name: TOPIC, partitions: PARTITIONS }]);
  const noopFunction = {
    logicalId: 'Noop',
    name: 'noop',
    entry: 'bench/noop-handler.ts',
    handler: 'handler',
    environment: {},
    timeoutSeconds: 60,
    memoryMb: 1024,
  };
  // One sandbox, as `npm run dev` starts a function.
  const noop = startLocalLambda(noopFunction, { log: console.log });
  // Lambda runs concurrent batches in concurrent sandboxes (docs/aws-kafka-esm.md,
  // Ordering and concurrency).
  const noops = startLocalLambda(noopFunction, {
    log: console.log,
    concurrency: AWS_IN_FLIGHT,
  });
  // Every run's consumer, as `npm run dev` runs its mappings' consumers.
  const consumerThread = new ConsumerThread();
  /** Where a run's batches go: as `npm run dev` sends them, or with AWS's concurrency. */
  const asDev = { target: noop };
  const asAws = { target: noops, maxInFlight: AWS_IN_FLIGHT };
  // The cold starts, not measured.
  await noop.invoke({});
  await Promise.all(
    Array.from({ length: AWS_IN_FLIGHT }, () => noops.invoke({})),
  );

  /**
   * What one invocation costs besides its records: an event without records,
   * invoked over and over in the warm sandbox. Most of it is the two hops between
   * threads, in which the OS wakes the side that sleeps; a mapping pays it once per
   * batch.
   */
  const invocationCost = async () => {
    const envelope = {
      eventSourceArn: `arn:aws:kafka:us-east-1:000000000000:cluster/bench/${randomUUID()}`,
      bootstrapServers: '127.0.0.1:9092',
    };
    const invokeOften = async (times: number) => {
      for (let i = 0; i < times; i += 1) {
        // Its buffer goes to the sandbox by transfer: a new one each time.
        await noop.invokeKafka(envelope, packRecords(TOPIC, 'CREATE_TIME', []));
      }
    };
    await invokeOften(INVOCATIONS / 10);
    const threads = cpuByThread();
    const start = performance.now();
    await invokeOften(INVOCATIONS);
    const wall = ((performance.now() - start) * 1000) / INVOCATIONS;
    const after = cpuByThread();
    const sandbox = sandboxThreadName(noopFunction.name);
    return {
      wall,
      main: cpuPer(threads, after, MAIN_THREAD, INVOCATIONS),
      sandbox: cpuPer(threads, after, sandbox, INVOCATIONS),
    };
  };

  // Load phase, not measured.
  const producer = kafka.producer();
  await producer.connect();
  const filler = 'x'.repeat(VALUE_BYTES);
  const value = (i: number) => {
    const json = JSON.stringify({
      orderId: `order-${i}`,
      customerId: `customer-${i % 997}`,
      amount: { value: (i % 10_000) / 100, currency: 'EUR' },
      placedAt: new Date(1_700_000_000_000 + i).toISOString(),
      note: '',
    });
    return json.replace(
      '"note":""',
      `"note":"${filler.slice(0, VALUE_BYTES - json.length)}"`,
    );
  };
  const t = performance.now();
  for (let from = 0; from < RECORDS; from += PRODUCE_BATCH) {
    const messages = [];
    for (let i = from; i < Math.min(RECORDS, from + PRODUCE_BATCH); i += 1) {
      messages.push({
        key: `customer-${i % 997}`,
        value: value(i),
        headers: { 'content-type': 'application/json' },
      });
    }
    await producer.send({ topic: TOPIC, acks: 1, messages });
  }
  await producer.disconnect();
  console.log(
    `produced ${RECORDS} records of ${VALUE_BYTES} B to ${TOPIC} (${PARTITIONS} partitions) in ${(performance.now() - t).toFixed(0)} ms`,
  );

  /** A bare consumer, new group, from the beginning, doing nothing. */
  const onMainThread = async (): Promise<Figures> => {
    const progress = untilAll('baseline (main thread)', MAIN_THREAD);
    const consumer = kafka.consumer({ groupId: `bench-base-${randomUUID()}` });
    try {
      await consumer.connect();
      await consumer.subscribe({ topic: TOPIC, fromBeginning: true });
      await consumer.run({
        eachBatch: async ({ batch }) => {
          progress.add(batch.messages.length);
        },
      });
      return await progress.done;
    } finally {
      await consumer.disconnect();
    }
  };

  /**
   * A bare consumer on a thread of its own for the whole bench: the baseline, or
   * with `leanRecordDecoder` the same decoding as the ESM's consumer thread.
   */
  const bareConsumer = (name: string, data: BareConsumerData) => {
    const thread = new Worker(new URL('./bare-consumer.ts', import.meta.url), {
      name,
      execArgv: workerExecArgv(),
      workerData: data,
    });
    const run = async (): Promise<Figures> => {
      const progress = untilAll(name, name);
      const stopped = Promise.withResolvers<void>();
      const listen = (message: FromBareConsumer) => {
        if (message.type === 'batch') progress.add(message.records);
        else if (message.type === 'failed') progress.fail(message.message);
        else stopped.resolve();
      };
      const send = (message: ToBareConsumer) => thread.postMessage(message);
      thread.on('message', listen);
      send({
        type: 'run',
        brokers,
        topic: TOPIC,
        groupId: `bench-base-${randomUUID()}`,
      });
      try {
        return await progress.done;
      } finally {
        send({ type: 'stop' });
        await stopped.promise;
        thread.off('message', listen);
      }
    };
    return { run, stop: () => thread.terminate() };
  };
  const baseline = bareConsumer(BARE_CONSUMER_THREAD, {
    leanRecordDecoder: false,
  });
  const leanBaseline = bareConsumer(LEAN_CONSUMER_THREAD, {
    leanRecordDecoder: true,
  });

  /**
   * The local ESM behind a no-op function, new group, TRIM_HORIZON: as `npm run dev`
   * starts it (one batch in flight), or with AWS's 5.
   */
  const esm = async (
    batchSize: number,
    { target, maxInFlight }: { target: LocalLambda; maxInFlight?: number },
  ): Promise<Figures> => {
    const progress = untilAll(`esm batch ${batchSize}`, CONSUMER_THREAD_NAME);
    // Counts what the function has run: the records of each successful invocation.
    const invoker: Invoker = {
      name: target.name,
      invoke: (event) => target.invoke(event),
      async invokeKafka(envelope, records) {
        const count = recordCount(records);
        const result = await target.invokeKafka(envelope, records);
        if (result.ok) progress.add(count);
        return result;
      },
    };
    const mapping: LocalMapping = {
      logicalId: 'BenchMapping',
      functionLogicalId: 'Noop',
      topic: TOPIC,
      consumerGroupId: `bench-esm-${randomUUID()}`,
      startingPosition: 'TRIM_HORIZON',
      batchSize,
      maximumBatchingWindowSeconds: 0,
      maximumRetryAttempts: -1,
      maximumRecordAgeSeconds: -1,
      bisectBatchOnFunctionError: false,
      reportBatchItemFailures: true,
      enabled: true,
      filters: [],
    };
    const running = await startEventSourceMapping(mapping, invoker, {
      brokers,
      consumerThread,
      ...(maxInFlight === undefined ? {} : { maxInFlight }),
    });
    try {
      return await progress.done;
    } finally {
      await running.stop();
    }
  };

  const runs: Record<string, () => Promise<Figures>> = {
    baseline: baseline.run,
    'baseline lean': leanBaseline.run,
    'baseline main': onMainThread,
    'esm 100': () => esm(100, asDev),
    'esm 1000': () => esm(1000, asDev),
    'esm 100 x5': () => esm(100, asAws),
  };
  // BENCH_ESM_RUNS=baseline,esm 100 runs only those (to profile one side).
  const only = process.env.BENCH_ESM_RUNS?.split(',');
  const names = Object.keys(runs).filter(
    (name) => only?.includes(name) ?? true,
  );
  const results: Record<string, Figures[]> = Object.fromEntries(
    names.map((name) => [name, []]),
  );
  /** ` (reader 1.27, GC 0.09)`: where the CPU went, when /proc says. */
  const split = ({ readerPerRecord, gcPerRecord }: Figures) =>
    Number.isNaN(readerPerRecord)
      ? ''
      : ` (reader ${readerPerRecord.toFixed(2)}, GC ${gcPerRecord.toFixed(2)})`;
  // Warm-up, not measured: the first pass through kafkajs' decoder pays the JIT.
  for (const name of names) await runs[name]?.();
  for (let round = 1; round <= ROUNDS; round += 1) {
    const order = round % 2 === 1 ? names : [...names].reverse();
    const line: string[] = [];
    for (const name of order) {
      const run = runs[name];
      if (run === undefined) continue;
      const figures = await run();
      results[name]?.push(figures);
      line.push(
        `${name} ${figures.rate.toFixed(0)} rec/s ${figures.cpuPerRecord.toFixed(2)} µs CPU/rec${split(figures)}`,
      );
    }
    console.log(`round ${round}/${ROUNDS}: ${line.join(', ')}`);
  }

  const invocation = await invocationCost();
  /** `, CPU 26.0 µs main + 21.5 µs sandbox`, when /proc says. */
  const invocationCpu = Number.isNaN(invocation.main)
    ? ''
    : `, CPU ${invocation.main.toFixed(1)} µs main + ${invocation.sandbox.toFixed(1)} µs sandbox`;

  /** The median of each figure of a run, over the rounds. */
  const medians = (name: string): Figures => {
    const of = (field: keyof Figures) =>
      median((results[name] ?? []).map((figures) => figures[field]));
    return {
      rate: of('rate'),
      cpuPerRecord: of('cpuPerRecord'),
      readerPerRecord: of('readerPerRecord'),
      gcPerRecord: of('gcPerRecord'),
    };
  };
  const rate = (name: string) => medians(name).rate;
  const figures = (name: string) => {
    const m = medians(name);
    return `${m.rate.toFixed(0).padStart(7)} records/s  ${m.cpuPerRecord.toFixed(2)} µs CPU/record${split(m)}`;
  };
  const ratios = (name: string, base: string) =>
    (results[name] ?? [])
      .map((r, i) =>
        (r.rate / (results[base]?.[i]?.rate ?? Number.NaN)).toFixed(2),
      )
      .join(' ');
  const row = (label: string, value: string) => `  ${label.padEnd(60)}${value}`;
  const ratio = (label: string, name: string, base = 'baseline') =>
    row(
      label,
      `${(rate(name) / rate(base)).toFixed(2)}  (rounds: ${ratios(name, base)})`,
    );
  console.log(
    [
      '',
      `Local ESM throughput (median of ${ROUNDS}, ${RECORDS} records of ${VALUE_BYTES} B, ${PARTITIONS} partitions, ${KAFKA.title})`,
      row(
        'bare kafkajs consumer, eachBatch, own thread (baseline)',
        figures('baseline'),
      ),
      row(
        "the same with the ESM's record decoder (information)",
        figures('baseline lean'),
      ),
      row(
        'the same as the baseline, on the main thread (information)',
        figures('baseline main'),
      ),
      row('ESM, batch 100, window 0, no-op function', figures('esm 100')),
      row('ESM, batch 1000, window 0, no-op function', figures('esm 1000')),
      row(
        `ESM, batch 100, ${AWS_IN_FLIGHT} batches in flight, ${AWS_IN_FLIGHT} sandboxes`,
        figures('esm 100 x5'),
      ),
      '  (as under npm run dev: one batch in flight, the function in a warm local Lambda',
      '   sandbox, one consumer thread for every mapping; CPU: this process, every thread,',
      '   per record delivered, broker excluded; of it, the thread running the kafkajs',
      "   consumer (reader) and V8's GC helper threads (GC). GC at 0.4 µs or more behind",
      "   kafkajs' own decoder: V8 was doing full collections of that heap (README, Measured))",
      ratio('ESM batch 100 / baseline (goal ≥ 0.90)', 'esm 100'),
      ratio('ESM batch 1000 / baseline (goal ≥ 0.90)', 'esm 1000'),
      ratio(
        `ESM batch 100, ${AWS_IN_FLIGHT} in flight / baseline (information)`,
        'esm 100 x5',
      ),
      ratio(
        "ESM batch 100 / bare with the ESM's decoder (information)",
        'esm 100',
        'baseline lean',
      ),
      ratio(
        "ESM batch 1000 / bare with the ESM's decoder (information)",
        'esm 1000',
        'baseline lean',
      ),
      '  (rates from the first record delivered to the last)',
      row(
        'one invocation, no records, warm sandbox (information)',
        `${invocation.wall.toFixed(1)} µs wall${invocationCpu}`,
      ),
      '  (paid once per batch: at batch 100, a hundredth of it per record)',
      '',
    ].join('\n'),
  );
  await Promise.all([
    noop.stop(),
    noops.stop(),
    consumerThread.stop(),
    baseline.stop(),
    leanBaseline.stop(),
  ]);
} finally {
  await platform.stop();
}
