// size: one linear scenario (system, warm-up, interleaved rounds of three measures, report) read top to bottom; its template and arrivals are bench/dev-template.ts and bench/arrivals.ts.
/**
 * `npm run bench:latency`: POST /orders -> PAID, against the raw Kafka round trip.
 *
 * Starts a broker and DynamoDB Local of its own (free ports), then the system as
 * `npm run dev` does (local/runtime/system.ts) from the dev template, whose order path
 * has batching window 0 (docs/performance.md, Latency and batching windows). After a
 * warm-up (cold sandboxes, first fetches), it alternates rounds of
 *
 * - the order path: N orders placed one after the other with POST /orders, each timed
 *   from the request to the moment a consumer sees its ShippingRequested, which
 *   order-events publishes right after the transaction that makes the order PAID
 *   (docs/domain.md section 5). So the figure is PAID as another service learns it:
 *   an upper bound on the write, by one produce and fetch. Every order is then read
 *   with GET /orders/{id} and must be PAID (not timed);
 * - the baseline: N messages produced one after the other (acks -1) to a topic of the
 *   same broker, each timed from the send to the moment a consumer (its own group,
 *   same fetch settings as the order path's observer) receives it;
 * - one hop of the local runtime: N messages produced one after the other to a topic
 *   whose mapping (window 0, as the dev order path's) invokes a no-op function in a
 *   sandbox (bench/noop-handler.ts), each timed from the send to the sandbox's answer.
 *   The order path has two such hops (into payment, into order-events) besides the
 *   HTTP API's invoke; what is left of its time is the functions' work.
 *
 * It prints p50/p90/p99 of each over every round, the medians of the rounds' p50, and
 * the ratio of the p99s (goal: <= 3 with the order path's windows at 0). For each
 * order, the records' CreateTime stamps (set by each producer, same clock, ms) split
 * the path: API (request -> OrderPlaced produced), payment (-> PaymentProcessed
 * produced: ESM fetch, invoke, charge), order-events (-> ShippingRequested produced:
 * ESM fetch, invoke, fold) and observe (-> seen by the bench's consumer).
 * Figures, not assertions: tests never time.
 *
 * Environment: BENCH_LATENCY_ORDERS (N, default 200), BENCH_ROUNDS (default 4),
 * BENCH_LATENCY_MAX_WAIT_MS (the consumers' maxWaitTimeInMs, default 5),
 * BENCH_LATENCY_WINDOW_SECONDS (the order path's window, set as cdk.json would set
 * `esm.orderPathBatchingWindowSeconds`; default: the dev stage's, 0).
 */
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { setTimeout as delay } from 'node:timers/promises';
import { Kafka, logLevel } from 'kafkajs';
import { TOPICS } from '#domain/events.ts';
import { startPlatform } from '#platform/platform.ts';
import {
  type Invoker,
  startEventSourceMapping,
} from '../local/runtime/esm/mapping.ts';
import { ConsumerThread } from '../local/runtime/kafka-consumer-thread.ts';
import { startLocalLambda } from '../local/runtime/lambda.ts';
import { type LocalSystem, startLocalSystem } from '../local/runtime/system.ts';
import { Arrivals } from './arrivals.ts';
import { devTemplate } from './dev-template.ts';
import { percentile } from './stats.ts';

const ORDERS = Number(process.env.BENCH_LATENCY_ORDERS ?? 200);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 4);
/** How long a consumer's fetch may wait at the broker for data (kafkajs). */
const MAX_WAIT_MS = Number(process.env.BENCH_LATENCY_MAX_WAIT_MS ?? 5);
const WARM_UP = 10;
/** An order that is not PAID by then is a failure, not a figure. */
const DEADLINE_MS = 30_000;
const BASELINE_TOPIC = 'bench.latency.v1';
/** The topic of the one-hop series: the local ESM into a no-op sandbox. */
const HOP_TOPIC = 'bench.latency.hop.v1';
/** Stamped on every record of the path, in the order they are produced. */
const STAGES = ['api', 'payment', 'order-events', 'observe'] as const;
const WINDOW_SECONDS = process.env.BENCH_LATENCY_WINDOW_SECONDS;

const median = (values: readonly number[]) => percentile(values, 50);
const ms = (value: number) => `${value.toFixed(1).padStart(7)} ms`;

const env = { ...process.env };
delete env.KAFKA_BROKERS;
delete env.DYNAMODB_ENDPOINT;
const platform = await startPlatform({
  env,
  kafkaPort: 0,
  dynamodbPort: 0,
  log: console.log,
});
const logs: string[] = [];
let system: LocalSystem | undefined;
/** What to stop, in reverse order, however the run ends. */
const stops: (() => Promise<void>)[] = [];
try {
  const running = await startLocalSystem(platform, {
    template: devTemplate(WINDOW_SECONDS),
    port: 0,
    log: (line) => logs.push(line),
  });
  system = running;
  const apiUrl = running.url;
  /** POSTs answered 503 and sent again. */
  let refused = 0;
  const kafka = new Kafka({
    clientId: 'bench-latency',
    brokers: [...platform.kafka.brokers],
    logLevel: logLevel.NOTHING,
  });
  await platform.createTopics([
    { name: BASELINE_TOPIC, partitions: 3 },
    { name: HOP_TOPIC, partitions: 3 },
  ]);
  const consumerSettings = {
    maxWaitTimeInMs: MAX_WAIT_MS,
    sessionTimeout: 30_000,
    heartbeatInterval: 3_000,
  };

  // The order path's observer: when each record of an order was produced, and when
  // the ShippingRequested was seen.
  interface Stamps {
    placed?: number;
    processed?: number;
    shipping?: number;
    seen?: number;
  }
  const stamps = new Map<string, Stamps>();
  /** Date.now() when each order's POST was sent, beside the records' CreateTime. */
  const startedAt = new Map<string, number>();
  const paid = new Arrivals<number>(DEADLINE_MS);
  const observer = kafka.consumer({
    groupId: `bench-latency-observer-${randomUUID()}`,
    ...consumerSettings,
  });
  await observer.connect();
  stops.push(() => observer.disconnect());
  await observer.subscribe({
    topics: [
      TOPICS.orderPlaced,
      TOPICS.paymentProcessed,
      TOPICS.shippingRequested,
    ],
    fromBeginning: true,
  });
  const stampOf: Record<string, keyof Stamps> = {
    [TOPICS.orderPlaced]: 'placed',
    [TOPICS.paymentProcessed]: 'processed',
    [TOPICS.shippingRequested]: 'shipping',
  };

  // The baseline's consumer.
  const received = new Arrivals<number>(DEADLINE_MS);
  const baselineConsumer = kafka.consumer({
    groupId: `bench-latency-baseline-${randomUUID()}`,
    ...consumerSettings,
  });
  await baselineConsumer.connect();
  stops.push(() => baselineConsumer.disconnect());
  await baselineConsumer.subscribe({
    topics: [BASELINE_TOPIC],
    fromBeginning: true,
  });

  const joined = (consumer: typeof observer) => {
    const { promise, resolve } = Promise.withResolvers<void>();
    const off = consumer.on(consumer.events.GROUP_JOIN, () => {
      off();
      resolve();
    });
    return promise;
  };
  const observerJoined = joined(observer);
  const baselineJoined = joined(baselineConsumer);
  await observer.run({
    eachMessage: async ({ topic, message }) => {
      const now = Date.now();
      const seenAt = performance.now();
      const event = JSON.parse(message.value?.toString() ?? '{}') as {
        data?: { orderId?: string };
      };
      const orderId = event.data?.orderId;
      const stamp = stampOf[topic];
      if (orderId === undefined || stamp === undefined) return;
      const entry = stamps.get(orderId) ?? {};
      entry[stamp] = Number(message.timestamp);
      if (stamp === 'shipping') {
        entry.seen = now;
        paid.arrive(orderId, seenAt);
      }
      stamps.set(orderId, entry);
    },
  });
  await baselineConsumer.run({
    eachMessage: async ({ message }) => {
      received.arrive(message.key?.toString() ?? '', performance.now());
    },
  });
  await Promise.all([observerJoined, baselineJoined]);
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  stops.push(() => producer.disconnect());

  // One hop: a mapping like the dev order path's, on a consumer thread of its own,
  // into a no-op sandbox. One message is in flight at a time, so the invocation that
  // answers next is the current message's.
  const noop = startLocalLambda(
    {
      logicalId: 'Noop',
      name: 'noop',
      entry: 'bench/noop-handler.ts',
      handler: 'handler',
      environment: {},
      timeoutSeconds: 60,
      memoryMb: 512,
    },
    { log: (line) => logs.push(line) },
  );
  stops.push(() => noop.stop());
  let hopDone: ((at: number) => void) | undefined;
  const hopTarget: Invoker = {
    name: noop.name,
    invoke: (event) => noop.invoke(event),
    async invokeKafka(envelope, records) {
      const result = await noop.invokeKafka(envelope, records);
      hopDone?.(performance.now());
      hopDone = undefined;
      return result;
    },
  };
  const hopThread = new ConsumerThread();
  stops.push(() => hopThread.stop());
  const hopMapping = await startEventSourceMapping(
    {
      logicalId: 'BenchHop',
      functionLogicalId: 'Noop',
      topic: HOP_TOPIC,
      consumerGroupId: `bench-latency-hop-${randomUUID()}`,
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
    hopTarget,
    { brokers: platform.kafka.brokers, consumerThread: hopThread },
  );
  stops.push(() => hopMapping.stop());

  /** One hop: produce (acks -1), then wait for the no-op function's answer. */
  async function hop(): Promise<number> {
    const { promise, resolve, reject } = Promise.withResolvers<number>();
    const timer = setTimeout(
      () => reject(new Error(`a hop not invoked within ${DEADLINE_MS} ms`)),
      DEADLINE_MS,
    );
    hopDone = (at) => {
      clearTimeout(timer);
      resolve(at);
    };
    const started = performance.now();
    await producer.send({
      topic: HOP_TOPIC,
      acks: -1,
      messages: [{ key: randomUUID(), value: 'x'.repeat(300) }],
    });
    return (await promise) - started;
  }

  /**
   * One order: POST, then wait for its ShippingRequested; then check it is PAID. A
   * 503 (a dependency too slow on a loaded machine) is sent again after its
   * Retry-After with the same orderId, as a careful client does; the time counts
   * from the first send, and the retries are counted.
   */
  async function placeOrder(): Promise<{
    total: number;
    post: number;
    id: string;
  }> {
    const id = `bench-${randomUUID()}`;
    const body = JSON.stringify({
      orderId: id,
      customerId: 'cust-bench',
      currency: 'EUR',
      items: [{ productId: 'sku-1', quantity: 2, unitPrice: 1999 }],
      shippingAddress: {
        street: 'Hauptstraße 1',
        city: 'Köln',
        postalCode: '50667',
        country: 'DE',
      },
    });
    const startedAtWall = Date.now();
    const started = performance.now();
    for (let attempt = 1; ; attempt += 1) {
      const response = await fetch(`${apiUrl}/orders`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
      });
      await response.body?.cancel();
      if (response.status === 201 || response.status === 202) break;
      // After a 503, a 409 means the first attempt placed it.
      if (response.status === 409 && attempt > 1) break;
      if (response.status !== 503 || attempt === 5) {
        throw new Error(`POST /orders answered ${response.status}`);
      }
      refused += 1;
      await delay(Number(response.headers.get('retry-after') ?? 1) * 1000);
    }
    const post = performance.now() - started;
    const seen = await paid.wait(id);
    const order = (await (await fetch(`${apiUrl}/orders/${id}`)).json()) as {
      status?: string;
    };
    if (order.status !== 'PAID') {
      throw new Error(
        `order ${id} is ${order.status} after its ShippingRequested`,
      );
    }
    startedAt.set(id, startedAtWall);
    return { total: seen - started, post, id };
  }

  /** One raw round trip: produce (acks -1), then wait until the consumer has it. */
  async function roundTrip(): Promise<number> {
    const key = randomUUID();
    const started = performance.now();
    await producer.send({
      topic: BASELINE_TOPIC,
      acks: -1,
      messages: [{ key, value: 'x'.repeat(300) }],
    });
    const seen = await received.wait(key);
    return seen - started;
  }

  const orderTimes: number[] = [];
  const postTimes: number[] = [];
  const baselineTimes: number[] = [];
  const hopTimes: number[] = [];
  const roundMedians = { orders: [] as number[], baseline: [] as number[] };
  const measured: string[] = [];

  for (let i = 0; i < WARM_UP; i += 1) {
    await placeOrder();
    await roundTrip();
    await hop();
  }
  const perRound = Math.max(1, Math.round(ORDERS / ROUNDS));
  for (let round = 1; round <= ROUNDS; round += 1) {
    const orders: number[] = [];
    const trips: number[] = [];
    const runOrders = async () => {
      for (let i = 0; i < perRound; i += 1) {
        const { total, post, id } = await placeOrder();
        orders.push(total);
        postTimes.push(post);
        measured.push(id);
      }
    };
    const runBaseline = async () => {
      for (let i = 0; i < perRound; i += 1) trips.push(await roundTrip());
      for (let i = 0; i < perRound; i += 1) hopTimes.push(await hop());
    };
    if (round % 2 === 1) {
      await runOrders();
      await runBaseline();
    } else {
      await runBaseline();
      await runOrders();
    }
    orderTimes.push(...orders);
    baselineTimes.push(...trips);
    roundMedians.orders.push(median(orders));
    roundMedians.baseline.push(median(trips));
    console.log(
      `round ${round}/${ROUNDS}: POST -> PAID p50 ${median(orders).toFixed(1)} ms, round trip p50 ${median(trips).toFixed(1)} ms`,
    );
  }

  // Where an order's time goes, from the records' CreateTime (ms, one clock).
  const split: Record<(typeof STAGES)[number], number[]> = {
    api: [],
    payment: [],
    'order-events': [],
    observe: [],
  };
  for (const id of measured) {
    const s = stamps.get(id);
    const start = startedAt.get(id);
    if (!s || start === undefined) continue;
    const { placed, processed, shipping, seen } = s;
    if (
      placed === undefined ||
      processed === undefined ||
      shipping === undefined ||
      seen === undefined
    ) {
      continue;
    }
    split.api.push(placed - start);
    split.payment.push(processed - placed);
    split['order-events'].push(shipping - processed);
    split.observe.push(seen - shipping);
  }

  const windows = system.model.mappings
    .filter((m) =>
      [TOPICS.orderPlaced, TOPICS.paymentProcessed].includes(m.topic as never),
    )
    .map((m) => `${m.topic} ${m.maximumBatchingWindowSeconds} s`)
    .join(', ');
  const row = (name: string, values: readonly number[]) =>
    `  ${name.padEnd(34)} p50 ${ms(percentile(values, 50))}  p90 ${ms(percentile(values, 90))}  p99 ${ms(percentile(values, 99))}  (n=${values.length})`;
  const ratio = percentile(orderTimes, 99) / percentile(baselineTimes, 99);
  console.log(
    [
      '',
      `POST /orders -> PAID, ${orderTimes.length} orders one after the other, ${ROUNDS} interleaved rounds`,
      `(windows: ${windows}; consumers' maxWaitTimeInMs ${MAX_WAIT_MS})`,
      row('POST -> PAID (ShippingRequested seen)', orderTimes),
      row('  of which POST answered', postTimes),
      `  POSTs answered 503 and sent again: ${refused}`,
      row('raw produce -> consume (acks -1)', baselineTimes),
      row('one hop: produce -> ESM -> no-op', hopTimes),
      `  medians of the rounds' p50: POST -> PAID ${median(roundMedians.orders).toFixed(1)} ms, round trip ${median(roundMedians.baseline).toFixed(1)} ms`,
      `  p99 ratio POST -> PAID / round trip: ${ratio.toFixed(2)} (goal <= 3)`,
      '',
      "Where the time goes (records' CreateTime, ms resolution):",
      row('api: request -> OrderPlaced', split.api),
      row('payment: -> PaymentProcessed', split.payment),
      row('order-events: -> ShippingRequested', split['order-events']),
      row('observe: -> seen by the bench', split.observe),
    ].join('\n'),
  );
} catch (error) {
  console.error(`the system's last log lines:\n${logs.slice(-40).join('\n')}`);
  process.exitCode = 1;
  throw error;
} finally {
  for (const stop of stops.reverse()) await stop().catch(() => {});
  await system?.stop();
  await platform.stop();
}
