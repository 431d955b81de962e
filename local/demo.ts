/**
 * `npm run dev -- --demo`: a steady trickle of orders through the local HTTP API, so a
 * newcomer sees every path within a minute: paid, declined by the gateway, suspected
 * fraud, over the limit, a transient gateway failure that is retried, a cancellation
 * that is refunded, and a poison record that ends in the dead letters.
 *
 * Each order is followed over HTTP (GET /orders/{id}, polled with a growing pause)
 * until it settles, then shown in one line: the scenario, the order id, its final
 * state, why it failed, the gateway retries it took (counted from the payment
 * function's warnings, which the demo is shown through `observe`) and how long it
 * took: from its createdAt to its updatedAt, the time of the event that settled it
 * (docs/local-output.md).
 */
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Kafka, logLevel } from 'kafkajs';
import { TOPICS } from '#domain/events.ts';
import { GATEWAY_RETRY_MESSAGE } from '#domain/payment.ts';

/** A running demo. */
export interface Demo {
  /**
   * Reads one line of the system's log: the payment function's retry warnings are
   * counted per order, for that order's line.
   */
  observe(line: string): void;
  /** Stops placing orders, stops following them, waits for the calls under way. */
  stop(): Promise<void>;
}

/** Options of {@link startDemo}. */
export interface DemoOptions {
  /** A new step this often. Default 2 s. */
  readonly everyMs?: number;
  /** An order not settled by then is shown as it is, with the wait. Default 30 s. */
  readonly settleTimeoutMs?: number;
  /** Lets the demo find its poison record among the dead letters (admin routes). */
  readonly adminToken?: string;
}

/** How one demo order (or poison record) ended, for its line. */
export interface DemoOutcome {
  /** `paid`, `card declined`, ... */
  readonly scenario: string;
  /** The order id, or the poison record's key. */
  readonly id: string;
  /** The final status (`PAID`, `PAYMENT_FAILED`, `REFUNDED`, `PARKED`), or the last seen. */
  readonly state: string;
  /** False when the wait ended first: `state` is the last status seen. */
  readonly settled: boolean;
  /** Why it ended so, in words: a payment failure's reason, a cancellation's. */
  readonly reason?: string;
  /** Transient gateway failures retried while charging it. */
  readonly gatewayRetries?: number;
  /** How long it took to settle, or how long it was waited for. */
  readonly tookMs?: number;
  /** Where to look further (a dead letter's route). */
  readonly see?: string;
}

/** The `PaymentFailed` reasons (docs/domain.md section 6), in words. */
const FAILURE_REASONS: Readonly<Record<string, string>> = {
  GATEWAY_DECLINED: 'declined by the gateway',
  FRAUD_SUSPECTED: 'fraud suspected',
  AMOUNT_LIMIT_EXCEEDED: 'over the amount limit',
};

/**
 * The line of one settled demo order.
 *
 * @example
 * ```ts
 * formatOutcome({ scenario: 'flaky gateway', id: 'flaky-4e1f0a-4', state: 'PAID',
 *   settled: true, gatewayRetries: 2, tookMs: 870 });
 * // '[demo] flaky gateway    flaky-4e1f0a-4       PAID            after 2 gateway retries, in 870 ms'
 * ```
 */
export function formatOutcome(outcome: DemoOutcome): string {
  const details: string[] = [];
  if (!outcome.settled) {
    details.push(
      `not settled after ${seconds(outcome.tookMs ?? 0)}: see the function logs above`,
    );
  }
  if (outcome.reason) details.push(outcome.reason);
  const retries = outcome.gatewayRetries ?? 0;
  if (retries > 0) {
    details.push(
      `after ${retries} gateway ${retries === 1 ? 'retry' : 'retries'}`,
    );
  }
  if (outcome.settled && outcome.tookMs !== undefined) {
    details.push(`in ${seconds(outcome.tookMs)}`);
  }
  if (outcome.see) details.push(outcome.see);
  return `[demo] ${outcome.scenario.padEnd(16)} ${outcome.id.padEnd(20)} ${outcome.state.padEnd(15)} ${details.join(', ')}`.trimEnd();
}

/**
 * An order's `statusReason` in words: a payment failure's reason (with its code), or
 * the reason given to the cancel route.
 *
 * @example
 * ```ts
 * describeReason('PAYMENT_FAILED', 'FRAUD_SUSPECTED'); // 'fraud suspected (FRAUD_SUSPECTED)'
 * ```
 */
export function describeReason(
  status: string,
  statusReason: string | null | undefined,
): string | undefined {
  if (!statusReason) return undefined;
  if (status === 'PAYMENT_FAILED') {
    const words = FAILURE_REASONS[statusReason];
    return words ? `${words} (${statusReason})` : statusReason;
  }
  return `cancelled: ${statusReason}`;
}

/**
 * The order id of a payment retry warning (`[payment] {...}`, the function's JSON
 * log line as the local runtime prints it); undefined for any other line.
 *
 * @example
 * ```ts
 * gatewayRetryOf('[payment] {"message":"charge failed transiently: trying again","orderId":"flaky-4"}');
 * // 'flaky-4'
 * ```
 */
export function gatewayRetryOf(line: string): string | undefined {
  if (!line.includes(GATEWAY_RETRY_MESSAGE)) return undefined;
  const json = /^\[[^\]]+\] (\{.*\})$/.exec(line)?.[1];
  if (json === undefined) return undefined;
  try {
    const entry = JSON.parse(json) as { message?: unknown; orderId?: unknown };
    return entry.message === GATEWAY_RETRY_MESSAGE &&
      typeof entry.orderId === 'string'
      ? entry.orderId
      : undefined;
  } catch {
    return undefined;
  }
}

/** What the demo reads of an order. */
interface OrderView {
  readonly status: string;
  readonly statusReason: string | null;
  readonly createdAt: string;
  readonly updatedAt: string;
}

/** What the demo reads of a dead letter. */
interface DeadLetterView {
  readonly id: string;
  readonly status: string;
  readonly failedAt: string;
  readonly original: { readonly keyText?: string | null; timestamp: number };
  readonly error: { readonly name: string };
}

/** One demo step: places something, then reports how it ended. */
type Step = (n: number) => Promise<DemoOutcome | undefined>;

/** Every HTTP call of the demo gives up after this. */
const CALL_TIMEOUT_MS = 5_000;

/**
 * Starts the demo against a running local system.
 *
 * @example
 * ```ts
 * const demo = startDemo(system.url, platform.kafka.brokers, console.log, {
 *   adminToken: system.adminToken,
 * });
 * await demo.stop();
 * ```
 */
export function startDemo(
  url: string,
  brokers: readonly string[],
  log: (line: string) => void,
  options: DemoOptions = {},
): Demo {
  const everyMs = options.everyMs ?? 2_000;
  const settleTimeoutMs = options.settleTimeoutMs ?? 30_000;
  const stopping = new AbortController();
  // Ids of this run (`flaky-k3x9-4`): a DynamoDB kept from an earlier run
  // (DYNAMODB_ENDPOINT) already holds the earlier ones. The prefix picks the path.
  const run = randomBytes(3).toString('hex');
  const idOf = (prefix: string, n: number) => `${prefix}-${run}-${n}`;
  /** Gateway retries seen, per order the demo follows. */
  const retries = new Map<string, number>();

  const call = async (path: string, init: RequestInit = {}) =>
    fetch(`${url}${path}`, {
      ...init,
      signal: AbortSignal.any([
        stopping.signal,
        AbortSignal.timeout(CALL_TIMEOUT_MS),
      ]),
    });

  const order = (orderId: string, unitPrice: number) => ({
    orderId,
    customerId: 'cust-demo',
    currency: 'EUR',
    items: [{ productId: 'sku-1', quantity: 2, unitPrice }],
    shippingAddress: {
      street: 'Hauptstraße 1',
      city: 'Köln',
      postalCode: '50667',
      country: 'DE',
    },
  });

  /** Places the order; the answer's status when it is not 201 or 202. */
  const place = async (orderId: string, unitPrice = 1999) => {
    retries.set(orderId, 0);
    const response = await call('/orders', {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-correlation-id': `demo-${orderId}`,
      },
      body: JSON.stringify(order(orderId, unitPrice)),
    });
    await response.body?.cancel();
    return response.status === 201 || response.status === 202
      ? undefined
      : `POST /orders answered ${response.status}`;
  };

  /**
   * Polls `read` with a growing pause (300 ms, doubling to 2 s) until `done` says so
   * or the settle time has passed; the last value read, and whether it was done.
   */
  const follow = async <T>(
    read: () => Promise<T | undefined>,
    done: (value: T) => boolean,
  ): Promise<{ value: T | undefined; done: boolean }> => {
    const deadline = Date.now() + settleTimeoutMs;
    let value: T | undefined;
    for (let pause = 300; ; pause = Math.min(2 * pause, 2_000)) {
      await sleep(pause, undefined, { signal: stopping.signal });
      value = await read();
      if (value !== undefined && done(value)) return { value, done: true };
      if (Date.now() >= deadline) return { value, done: false };
    }
  };

  const readOrder = async (orderId: string) => {
    const response = await call(`/orders/${orderId}`);
    if (response.status !== 200) {
      await response.body?.cancel();
      return undefined;
    }
    return (await response.json()) as OrderView;
  };

  /** Follows an order until `settled` says so; its outcome line. */
  const settle = async (
    scenario: string,
    orderId: string,
    settled: (status: string) => boolean,
  ): Promise<DemoOutcome> => {
    const started = Date.now();
    const seen = await follow(
      () => readOrder(orderId),
      (o) => settled(o.status),
    );
    const last = seen.value;
    const gatewayRetries = retries.get(orderId) ?? 0;
    if (seen.done) retries.delete(orderId);
    const reason = describeReason(last?.status ?? '', last?.statusReason);
    return {
      scenario,
      id: orderId,
      state: last?.status ?? 'not found',
      settled: seen.done,
      ...(reason ? { reason } : {}),
      gatewayRetries,
      tookMs:
        seen.done && last
          ? Date.parse(last.updatedAt) - Date.parse(last.createdAt)
          : Date.now() - started,
    };
  };

  /** A step that places one order and follows it until its payment is decided. */
  const paymentStep =
    (scenario: string, prefix: string, unitPrice?: number): Step =>
    async (n) => {
      const orderId = idOf(prefix, n);
      const refused = await place(orderId, unitPrice);
      if (refused) return refusedOutcome(scenario, orderId, refused);
      return settle(scenario, orderId, (status) => status !== 'PENDING');
    };

  const producer = new Kafka({
    clientId: 'demo',
    brokers: [...brokers],
    logLevel: logLevel.NOTHING,
  }).producer();

  const steps: Step[] = [
    paymentStep('paid', 'paid'),
    paymentStep('card declined', 'decline'),
    paymentStep('fraud suspected', 'suspicious'),
    // 2 x 600.00 EUR: above the 1 000 EUR limit.
    paymentStep('over the limit', 'big', 60_000),
    paymentStep('flaky gateway', 'flaky'),
    async (n) => {
      // Cancelled once paid, so the refund path shows (PAID -> REFUNDED).
      const scenario = 'cancel, refund';
      const orderId = idOf('cancel', n);
      const refused = await place(orderId);
      if (refused) return refusedOutcome(scenario, orderId, refused);
      const paid = await settle(scenario, orderId, (s) => s !== 'PENDING');
      if (paid.state !== 'PAID') return paid;
      const response = await call(`/orders/${orderId}/cancel`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ reason: 'changed my mind (demo)' }),
      });
      await response.body?.cancel();
      if (response.status !== 200) {
        return refusedOutcome(
          scenario,
          orderId,
          `POST /orders/${orderId}/cancel answered ${response.status}`,
        );
      }
      return settle(
        scenario,
        orderId,
        (s) => s !== 'PAID' && s !== 'CANCELLATION_REQUESTED',
      );
    },
    async (n) => {
      const key = idOf('poison', n);
      await producer.connect();
      await producer.send({
        topic: TOPICS.orderPlaced,
        messages: [
          {
            key,
            value: '{"eventType":"OrderPlaced","this is":"not an event"}',
            headers: { 'correlation-id': `demo-${key}` },
          },
        ],
      });
      return poisonOutcome(key);
    },
  ];

  /** Finds the poison record among the parked dead letters, with the admin token. */
  const poisonOutcome = async (key: string): Promise<DemoOutcome> => {
    const scenario = 'poison record';
    if (options.adminToken === undefined) {
      return {
        scenario,
        id: key,
        state: 'sent',
        settled: true,
        see: `to ${TOPICS.orderPlaced}: see GET /dead-letters`,
      };
    }
    const headers = { authorization: `Bearer ${options.adminToken}` };
    const started = Date.now();
    const seen = await follow(
      async () => {
        const response = await call(
          `/dead-letters?topic=${TOPICS.orderPlaced}&status=PARKED&limit=100`,
          { headers },
        );
        if (response.status !== 200) {
          await response.body?.cancel();
          return undefined;
        }
        const page = (await response.json()) as { items: DeadLetterView[] };
        return page.items.find((letter) => letter.original.keyText === key);
      },
      () => true,
    );
    const letter = seen.value;
    if (!letter) {
      return {
        scenario,
        id: key,
        state: 'sent',
        settled: false,
        tookMs: Date.now() - started,
        see: 'no dead letter for it yet: see GET /dead-letters',
      };
    }
    return {
      scenario,
      id: key,
      state: letter.status,
      settled: true,
      reason: `dead-lettered: ${letter.error.name}`,
      tookMs: Date.parse(letter.failedAt) - letter.original.timestamp,
      see: `GET /dead-letters/${letter.id}`,
    };
  };

  let n = 0;
  const running = new Set<Promise<void>>();
  const timer = setInterval(() => {
    const step = steps[n % steps.length] as Step;
    const index = n;
    n += 1;
    const run = step(index)
      .then((outcome) => {
        if (outcome) log(formatOutcome(outcome));
      })
      .catch((error: unknown) => {
        if (!stopping.signal.aborted) log(`[demo] failed: ${String(error)}`);
      })
      .finally(() => running.delete(run));
    running.add(run);
  }, everyMs);

  return {
    observe(line) {
      const orderId = gatewayRetryOf(line);
      const counted = orderId === undefined ? undefined : retries.get(orderId);
      if (orderId !== undefined && counted !== undefined) {
        retries.set(orderId, counted + 1);
      }
    },
    async stop() {
      clearInterval(timer);
      stopping.abort();
      await Promise.allSettled([...running]);
      await producer.disconnect();
    },
  };
}

function refusedOutcome(
  scenario: string,
  id: string,
  refused: string,
): DemoOutcome {
  return { scenario, id, state: 'refused', settled: true, reason: refused };
}

/** `40 ms` under a second, `1.3 s` from there. */
function seconds(ms: number): string {
  const whole = Math.max(0, Math.round(ms));
  return whole < 1000 ? `${whole} ms` : `${(whole / 1000).toFixed(1)} s`;
}
