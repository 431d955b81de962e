/**
 * The invariant checker of the fault suite (docs/fault-suite.md): reads the final
 * state (the Orders, Payments and DeadLetters tables, the payment topics, every
 * consumer group's lag, and each order through GET /orders/{id}) and judges it
 * against what the clients were told:
 *
 * - every acknowledged (2xx) order ends in a final state (docs/domain.md section 5)
 *   that fits what the client asked, with a payment that fits the state;
 * - none is charged twice (two PaymentProcessed with different transactions, or two
 *   refunds);
 * - nothing happened after a 503 (no order, no charge, no cancellation), and no
 *   charge exists without its order;
 * - no answer is a 5xx other than 503;
 * - every record is processed or dead-lettered: every group's lag is 0.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { Kafka, logLevel } from 'kafkajs';
import { TOPICS } from '#domain/events.ts';
import { TABLES } from '#infra/tables.ts';
import { LOCAL_AWS } from '#platform/dynamodb.ts';
import { pollUntil, retryRetriable } from '#platform/wait.ts';
import type {
  LocalMapping,
  SystemModel,
} from '../../../local/runtime/template.ts';
import {
  type Answer,
  type LoadRecord,
  ORDER_TOTAL,
  type OrderAttempt,
  send,
} from './load.ts';

/** docs/domain.md section 5: the states an order ends in. */
export const FINAL_STATES = new Set([
  'PAID',
  'PAYMENT_FAILED',
  'CANCELLED',
  'REFUNDED',
]);
const CANCELLED_STATES = new Set([
  'CANCELLED',
  'CANCELLATION_REQUESTED',
  'REFUNDED',
]);

export interface OrderSnapshot {
  readonly orderId: string;
  readonly status: string;
  readonly version: number;
}

export interface PaymentItems {
  payment?: { status: string; amount?: { amount: number; currency: string } };
  refund?: { status: string };
}

/** What the tables hold, read with Scan (eventually consistent on AWS; exact on DynamoDB Local). */
export interface StoreState {
  readonly orders: Map<string, OrderSnapshot>;
  readonly payments: Map<string, PaymentItems>;
  readonly deadLetters: readonly {
    readonly status: string;
    readonly topic: string;
    readonly key: string | null;
  }[];
}

/** The figures printed for each experiment. */
export interface Figures {
  readonly experiment: string;
  /** Orders the clients tried to place. */
  readonly sent: number;
  /** Answered 2xx. */
  readonly acknowledged: number;
  /** Answered 503. */
  readonly refused: number;
  /** No answer, or an answer that is neither 2xx nor 503. */
  readonly unanswered: number;
  /** Acknowledged orders in a final state that fits the request. */
  readonly final: number;
  /** Acknowledged orders not in a final state (or gone). */
  readonly lost: number;
  /** Acknowledged orders in a final state that does not fit, or whose payment does not. */
  readonly wrong: number;
  /** Orders charged or refunded twice. */
  readonly duplicated: number;
  /** Effects after a 503, and charges without an order. */
  readonly ghosts: number;
  /** Answers 500-599 other than 503, every request of the experiment counted. */
  readonly serverErrors: number;
  readonly deadLetters: number;
  /** Records not yet processed, every mapping's group together. */
  readonly lag: number;
  /** From the fault's end until everything acknowledged was final and the lag 0. */
  readonly recoveryMs: number | undefined;
  /** A few order ids per kind of failure, for the log. */
  readonly examples: Readonly<Record<string, readonly string[]>>;
}

const isOk = (answer: Answer | undefined) =>
  answer !== undefined && answer.status >= 200 && answer.status < 300;

function documentClient(endpoint: string) {
  return DynamoDBDocumentClient.from(
    new DynamoDBClient({
      endpoint,
      ...LOCAL_AWS,
      maxAttempts: 2,
      requestHandler: { connectionTimeout: 2_000, requestTimeout: 10_000 },
    }),
  );
}

async function scanAll(
  client: DynamoDBDocumentClient,
  table: string,
): Promise<Record<string, unknown>[]> {
  const items: Record<string, unknown>[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const page = await client.send(
      new ScanCommand({ TableName: table, ExclusiveStartKey: start }),
    );
    items.push(...((page.Items ?? []) as Record<string, unknown>[]));
    start = page.LastEvaluatedKey;
  } while (start);
  return items;
}

/** Where the system keeps its tables: the local names, from the functions' environment. */
export interface StoreTables {
  readonly endpoint: string;
  readonly orders: string;
  readonly payments: string;
  readonly deadLetters: string;
}

/**
 * The local table names of a system, as its functions find them (each function's
 * environment names the tables it uses, infra/tables.ts).
 */
export function storeTables(
  model: Pick<SystemModel, 'functions'>,
  endpoint: string,
): StoreTables {
  const find = (envVar: string) => {
    for (const fn of model.functions) {
      const name = fn.environment[envVar];
      if (name) return name;
    }
    throw new Error(`no function names a table in ${envVar}`);
  };
  return {
    endpoint,
    orders: find(TABLES.orders.envVar),
    payments: find(TABLES.payments.envVar),
    deadLetters: find(TABLES.deadLetters.envVar),
  };
}

/**
 * Reads the Orders snapshots, the Payments items and the dead letters.
 *
 * @example
 * ```ts
 * const state = await readStore(storeTables(system.model, platform.dynamodb.endpoint));
 * ```
 */
export async function readStore(tables: StoreTables): Promise<StoreState> {
  const client = documentClient(tables.endpoint);
  try {
    const [orderItems, paymentItems, letterItems] = await Promise.all([
      scanAll(client, tables.orders),
      scanAll(client, tables.payments),
      scanAll(client, tables.deadLetters),
    ]);
    const orders = new Map<string, OrderSnapshot>();
    for (const item of orderItems) {
      if (item.sk !== 'SNAPSHOT') continue;
      const orderId = String(item.orderId);
      orders.set(orderId, {
        orderId,
        status: String(item.status),
        version: Number(item.version),
      });
    }
    const payments = new Map<string, PaymentItems>();
    for (const item of paymentItems) {
      const orderId = String(item.pk).replace(/^ORDER#/, '');
      const entry = payments.get(orderId) ?? {};
      const value = {
        status: String(item.status),
        ...(item.amount ? { amount: item.amount as never } : {}),
      };
      if (item.sk === 'PAYMENT') entry.payment = value;
      if (item.sk === 'REFUND') entry.refund = value;
      payments.set(orderId, entry);
    }
    const deadLetters = letterItems.map((item) => {
      const original = (item.original ?? {}) as {
        topic?: string;
        key?: string | null;
      };
      return {
        status: String(item.status),
        topic: String(original.topic),
        key:
          typeof original.key === 'string'
            ? Buffer.from(original.key, 'base64').toString('utf8')
            : null,
      };
    });
    return { orders, payments, deadLetters };
  } finally {
    client.destroy();
  }
}

/**
 * Every mapping's consumer group against its topic: the records after the group's
 * committed offset, summed (a group with no commit yet counts from the log start).
 */
export async function consumerLag(
  brokers: readonly string[],
  mappings: readonly LocalMapping[],
  byTopic?: Map<string, number>,
): Promise<number> {
  const admin = new Kafka({
    clientId: 'faults-lag',
    brokers: [...brokers],
    logLevel: logLevel.NOTHING,
    connectionTimeout: 2_000,
    requestTimeout: 10_000,
    retry: { retries: 1 },
  }).admin();
  await admin.connect();
  try {
    let lag = 0;
    for (const mapping of mappings) {
      const ends = await retryRetriable(
        () => admin.fetchTopicOffsets(mapping.topic),
        10_000,
      );
      const [committed] = await retryRetriable(
        () =>
          admin.fetchOffsets({
            groupId: mapping.consumerGroupId,
            topics: [mapping.topic],
          }),
        10_000,
      );
      for (const end of ends) {
        const at = committed?.partitions.find(
          (p) => p.partition === end.partition,
        )?.offset;
        // No commit yet (-1), or a symbolic one (-2: earliest, as kafkajs'
        // resetOffsets writes it): the group starts from the log start.
        const from = at === undefined || Number(at) < 0 ? end.low : at;
        const behind = Math.max(0, Number(end.high) - Number(from));
        lag += behind;
        if (behind > 0) {
          byTopic?.set(
            mapping.topic,
            (byTopic.get(mapping.topic) ?? 0) + behind,
          );
        }
      }
    }
    return lag;
  } finally {
    await admin.disconnect();
  }
}

/** The end offset of every partition of `topics`, as `topic:partition` -> offset. */
export async function endOffsets(
  brokers: readonly string[],
  topics: readonly string[],
): Promise<Map<string, string>> {
  const admin = new Kafka({
    clientId: 'faults-offsets',
    brokers: [...brokers],
    logLevel: logLevel.NOTHING,
  }).admin();
  await admin.connect();
  try {
    const ends = new Map<string, string>();
    for (const topic of topics) {
      for (const end of await retryRetriable(
        () => admin.fetchTopicOffsets(topic),
        10_000,
      )) {
        ends.set(`${topic}:${end.partition}`, end.high);
      }
    }
    return ends;
  } finally {
    await admin.disconnect();
  }
}

/**
 * The payment outcomes on the payment topics, per order: the distinct
 * transactions charged and refunds made. Reads each topic to its end offset.
 */
export async function paymentOutcomes(
  brokers: readonly string[],
  timeoutMs = 60_000,
): Promise<{
  charges: Map<string, Set<string>>;
  refunds: Map<string, Set<string>>;
}> {
  const topics = [TOPICS.paymentProcessed, TOPICS.paymentRefunded];
  const ends = await endOffsets(brokers, topics);
  const charges = new Map<string, Set<string>>();
  const refunds = new Map<string, Set<string>>();
  const reached = new Map<string, number>();
  const kafka = new Kafka({
    clientId: 'faults-reader',
    brokers: [...brokers],
    logLevel: logLevel.NOTHING,
  });
  const consumer = kafka.consumer({
    groupId: `faults-reader-${crypto.randomUUID()}`,
  });
  const add = (map: Map<string, Set<string>>, key: string, id: string) => {
    const set = map.get(key) ?? new Set<string>();
    set.add(id);
    map.set(key, set);
  };
  await consumer.connect();
  try {
    await consumer.subscribe({ topics, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ topic, partition, message }) => {
        reached.set(`${topic}:${partition}`, Number(message.offset) + 1);
        try {
          const event = JSON.parse(message.value?.toString('utf8') ?? '') as {
            data?: {
              orderId?: string;
              transactionId?: string;
              refundId?: string;
            };
          };
          const orderId = event.data?.orderId;
          if (!orderId) return;
          if (topic === TOPICS.paymentProcessed && event.data?.transactionId)
            add(charges, orderId, event.data.transactionId);
          if (topic === TOPICS.paymentRefunded && event.data?.refundId)
            add(refunds, orderId, event.data.refundId);
        } catch {
          // not an event: the poison experiment writes such records
        }
      },
    });
    const done = await pollUntil(
      () =>
        [...ends].every(
          ([where, end]) => (reached.get(where) ?? 0) >= Number(end),
        ) || undefined,
      timeoutMs,
      200,
    );
    if (!done) throw new Error('the payment topics were not read to their end');
    return { charges, refunds };
  } finally {
    await consumer.disconnect();
  }
}

/** Whether an acknowledged order's state and payment are what its client was told. */
function judge(
  attempt: OrderAttempt,
  order: OrderSnapshot | undefined,
  items: PaymentItems | undefined,
): 'final' | 'lost' | 'wrong' | 'ghost' {
  if (!order || !FINAL_STATES.has(order.status)) return 'lost';
  const base = attempt.declined ? ['PAYMENT_FAILED'] : ['PAID'];
  const cancel = attempt.cancel?.status;
  if (cancel === 503 && CANCELLED_STATES.has(order.status)) return 'ghost';
  const expected =
    cancel === undefined || cancel === 503 || cancel === 409
      ? base
      : cancel === 200
        ? ['CANCELLED', 'REFUNDED']
        : [...base, 'CANCELLED', 'REFUNDED'];
  if (!expected.includes(order.status)) return 'wrong';
  const payment = items?.payment?.status;
  const refund = items?.refund?.status;
  const amountOk =
    items?.payment?.amount === undefined ||
    (items.payment.amount.amount === ORDER_TOTAL.amount &&
      items.payment.amount.currency === ORDER_TOTAL.currency);
  if (!amountOk) return 'wrong';
  switch (order.status) {
    case 'PAID':
      return payment === 'CHARGED' && refund === undefined ? 'final' : 'wrong';
    case 'PAYMENT_FAILED':
      return payment === 'REJECTED' ? 'final' : 'wrong';
    case 'REFUNDED':
      return payment === 'CHARGED' && refund === 'REFUNDED' ? 'final' : 'wrong';
    default:
      // CANCELLED: never charged, or charged (a race) and refunded.
      return payment === 'VOIDED' ||
        payment === 'REJECTED' ||
        (payment === 'CHARGED' && refund === 'REFUNDED')
        ? 'final'
        : 'wrong';
  }
}

/**
 * Whether every acknowledged order has stopped moving: final, or stuck in a way that
 * waiting will not change. Still moving: not final, a charge or refund claimed but
 * not decided, a CANCELLED order charged by a race and not refunded yet.
 */
export function allSettled(record: LoadRecord, state: StoreState): boolean {
  return record.orders
    .filter((attempt) => isOk(attempt.place))
    .every((attempt) => {
      const order = state.orders.get(attempt.orderId);
      const items = state.payments.get(attempt.orderId);
      if (!order || !FINAL_STATES.has(order.status)) return false;
      if (items?.payment?.status === 'CLAIMED') return false;
      if (items?.refund?.status === 'CLAIMED') return false;
      return !(
        order.status === 'CANCELLED' &&
        items?.payment?.status === 'CHARGED' &&
        items.refund?.status !== 'REFUNDED'
      );
    });
}

/**
 * Polls the store and the groups' lag until every acknowledged order is settled and
 * the lag is 0, or the deadline passes; the time it took from `since` (ms), or
 * undefined at the deadline.
 */
export async function awaitRecovery(
  record: LoadRecord,
  endpoints: { brokers: readonly string[]; store: StoreTables },
  mappings: readonly LocalMapping[],
  since: number,
  timeoutMs: number,
): Promise<number | undefined> {
  const done = await pollUntil(
    async () => {
      try {
        const state = await readStore(endpoints.store);
        if (!allSettled(record, state)) return undefined;
        const lag = await consumerLag(endpoints.brokers, mappings);
        return lag === 0 ? performance.now() : undefined;
      } catch {
        return undefined; // a server still recovering: ask again
      }
    },
    timeoutMs,
    1_000,
  );
  return done === undefined ? undefined : done - since;
}

/**
 * Reads the final state and computes the figures. Every acknowledged and refused
 * order is also read through GET /orders/{orderId}, as a client would.
 */
export async function checkInvariants(
  experiment: string,
  record: LoadRecord,
  system: { url: string; model: { mappings: readonly LocalMapping[] } },
  endpoints: { brokers: readonly string[]; store: StoreTables },
  recoveryMs: number | undefined,
): Promise<Figures> {
  const state = await readStore(endpoints.store);
  const lagByTopic = new Map<string, number>();
  const lag = await consumerLag(
    endpoints.brokers,
    system.model.mappings,
    lagByTopic,
  );
  const { charges, refunds } = await paymentOutcomes(endpoints.brokers);
  const examples: Record<string, string[]> = {};
  if (lagByTopic.size > 0) {
    examples.lag = [...lagByTopic].map(([topic, n]) => `${topic}=${n}`);
  }
  const note = (kind: string, orderId: string) => {
    const list = examples[kind] ?? [];
    if (list.length < 5) list.push(orderId);
    examples[kind] = list;
  };

  // The API's view of each order the clients were told about.
  const viaApi = new Map<string, number>();
  const told = record.orders.filter(
    (a) => isOk(a.place) || a.place?.status === 503,
  );
  for (let i = 0; i < told.length; i += 8) {
    await Promise.all(
      told.slice(i, i + 8).map(async (attempt) => {
        const answer = await send(
          record,
          `${system.url}/orders/${attempt.orderId}`,
        );
        const body = answer.body as { status?: string } | undefined;
        viaApi.set(attempt.orderId, answer.status);
        const stored = state.orders.get(attempt.orderId);
        if (answer.status === 200 && body?.status !== stored?.status) {
          note('api-disagrees-with-store', attempt.orderId);
        }
      }),
    );
  }

  let acknowledged = 0;
  let refused = 0;
  let final = 0;
  let lost = 0;
  let wrong = 0;
  const ghostIds = new Set<string>();
  for (const attempt of record.orders) {
    if (isOk(attempt.place)) {
      acknowledged += 1;
      const verdict = judge(
        attempt,
        state.orders.get(attempt.orderId),
        state.payments.get(attempt.orderId),
      );
      if (verdict === 'final') final += 1;
      if (verdict === 'lost') lost += 1;
      if (verdict === 'wrong') wrong += 1;
      if (verdict === 'ghost') ghostIds.add(attempt.orderId);
      if (verdict !== 'final') note(verdict, attempt.orderId);
    } else if (attempt.place?.status === 503) {
      refused += 1;
      const exists =
        state.orders.has(attempt.orderId) ||
        state.payments.has(attempt.orderId) ||
        viaApi.get(attempt.orderId) === 200;
      if (exists) {
        ghostIds.add(attempt.orderId);
        note('ghost', attempt.orderId);
      }
    }
  }
  for (const [orderId, items] of state.payments) {
    if (items.payment?.status === 'CHARGED' && !state.orders.has(orderId)) {
      if (!ghostIds.has(orderId)) note('charge-without-order', orderId);
      ghostIds.add(orderId);
    }
  }
  let duplicated = 0;
  for (const orderId of new Set([...charges.keys(), ...refunds.keys()])) {
    if (
      (charges.get(orderId)?.size ?? 0) > 1 ||
      (refunds.get(orderId)?.size ?? 0) > 1
    ) {
      duplicated += 1;
      note('duplicated', orderId);
    }
  }
  let serverErrors = 0;
  for (const [status, count] of record.statuses) {
    if (status >= 500 && status !== 503) serverErrors += count;
  }
  return {
    experiment,
    sent: record.orders.length,
    acknowledged,
    refused,
    unanswered: record.orders.length - acknowledged - refused,
    final,
    lost,
    wrong,
    duplicated,
    ghosts: ghostIds.size,
    serverErrors,
    deadLetters: state.deadLetters.length,
    lag,
    recoveryMs,
    examples,
  };
}

/** One line of figures, and the example ids on the next when anything failed. */
export function formatFigures(figures: Figures): string {
  const recovery =
    figures.recoveryMs === undefined
      ? 'none'
      : `${(figures.recoveryMs / 1000).toFixed(1)}s`;
  const line =
    `[faults] ${figures.experiment}: sent=${figures.sent} acknowledged=${figures.acknowledged} ` +
    `refused=${figures.refused} unanswered=${figures.unanswered} final=${figures.final} ` +
    `lost=${figures.lost} wrong=${figures.wrong} duplicated=${figures.duplicated} ` +
    `ghosts=${figures.ghosts} 5xx=${figures.serverErrors} dead-letters=${figures.deadLetters} ` +
    `lag=${figures.lag} recovery=${recovery}`;
  const examples = Object.entries(figures.examples)
    .map(([kind, ids]) => `${kind}: ${ids.join(', ')}`)
    .join('; ');
  return examples ? `${line}\n[faults]   examples: ${examples}` : line;
}
