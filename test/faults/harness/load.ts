/**
 * Load for the fault suite: a few clients placing orders over the HTTP API, each
 * with its own orderId and an Idempotency-Key, some cancelling, at a modest rate.
 * Every answer is recorded: the invariant checker judges the system by what it told
 * its clients (docs/fault-suite.md).
 *
 * A client sends each request once. It does not retry a 503: a refusal is a
 * promise that nothing happened, and the checker holds the system to it.
 */
import { setTimeout as delay } from 'node:timers/promises';

/**
 * How long a client waits for an answer: above the gateway's 30 s integration
 * timeout (local/runtime/http/integration.ts), so that the gateway, not the client, gives up.
 */
export const CLIENT_TIMEOUT_MS = 45_000;

/** What the server answered: the status (0: no answer), and the problem type. */
export interface Answer {
  readonly status: number;
  readonly type?: string;
  /** From sending to the last byte of the answer. */
  readonly ms: number;
}

/** One order a client placed, and what it was told. */
export interface OrderAttempt {
  readonly orderId: string;
  /** The payment it should get: `decline-` ids are declined by the gateway. */
  readonly declined: boolean;
  place?: Answer;
  /** Set when the client asked to cancel (only after a 2xx to place). */
  cancel?: Answer;
}

/** Every answer of a load run, and the other HTTP answers seen meanwhile. */
export interface LoadRecord {
  readonly orders: OrderAttempt[];
  /** Status codes of every request the harness sent (load, checks, fuzz). */
  readonly statuses: Map<number, number>;
}

export function newLoadRecord(): LoadRecord {
  return { orders: [], statuses: new Map() };
}

/** Counts a status in the record (0 for no answer). */
export function countStatus(record: LoadRecord, status: number): void {
  record.statuses.set(status, (record.statuses.get(status) ?? 0) + 1);
}

/**
 * Sends one request and reads its answer, never throwing: a network error or the
 * client's timeout is status 0.
 */
export async function send(
  record: LoadRecord,
  url: string,
  init: RequestInit = {},
): Promise<Answer & { body?: unknown }> {
  const started = performance.now();
  try {
    const response = await fetch(url, {
      ...init,
      signal: AbortSignal.timeout(CLIENT_TIMEOUT_MS),
    });
    const text = await response.text();
    countStatus(record, response.status);
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      body = text;
    }
    const type =
      typeof body === 'object' && body !== null && 'type' in body
        ? String((body as { type: unknown }).type)
        : undefined;
    return {
      status: response.status,
      ...(type ? { type } : {}),
      ms: performance.now() - started,
      body,
    };
  } catch {
    countStatus(record, 0);
    return { status: 0, ms: performance.now() - started };
  }
}

/** The body of POST /orders: 2 x 19.99 EUR, well under every payment limit. */
export function orderBody(orderId: string) {
  return {
    orderId,
    customerId: 'cust-faults',
    currency: 'EUR',
    items: [{ productId: 'sku-1', quantity: 2, unitPrice: 1999 }],
    shippingAddress: {
      street: 'Hauptstraße 1',
      city: 'Köln',
      postalCode: '50667',
      country: 'DE',
    },
  };
}

/** The total the server computes for {@link orderBody}. */
export const ORDER_TOTAL = { amount: 3998, currency: 'EUR' } as const;

export interface LoadOptions {
  readonly url: string;
  /** Prefix of every orderId (unique per experiment). */
  readonly run: string;
  readonly clients: number;
  /** Orders per second, all clients together. */
  readonly ratePerSecond: number;
  /** The clients place orders until this resolves (or `until` passes). */
  readonly stop: Promise<void>;
  /** Every n-th order is a `decline-` order (0: none). */
  readonly declineEvery?: number;
  /** Every n-th acknowledged order is cancelled (0: none). */
  readonly cancelEvery?: number;
}

/**
 * Runs the clients until `stop` resolves, then waits for every request in flight
 * (each ends within {@link CLIENT_TIMEOUT_MS}). Cancels are sent after a short
 * pause that varies by order, so that some meet a PENDING order and some a PAID one.
 *
 * @example
 * ```ts
 * const record = newLoadRecord();
 * await runLoad(record, { url, run: 'x', clients: 4, ratePerSecond: 8, stop: delay(20_000) });
 * ```
 */
export async function runLoad(
  record: LoadRecord,
  options: LoadOptions,
): Promise<void> {
  let stopped = false;
  void options.stop.then(() => {
    stopped = true;
  });
  const declineEvery = options.declineEvery ?? 7;
  const cancelEvery = options.cancelEvery ?? 5;
  const gapMs = (1000 * options.clients) / options.ratePerSecond;
  const cancels: Promise<void>[] = [];
  let next = 0;

  const cancel = async (attempt: OrderAttempt, pauseMs: number) => {
    // Load shaping, not synchronisation: the cancel lands on whatever state the
    // order is in by then, and every state is a valid test.
    await delay(pauseMs);
    attempt.cancel = await send(
      record,
      `${options.url}/orders/${attempt.orderId}/cancel`,
      {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ reason: 'fault suite' }),
      },
    );
  };

  const client = async () => {
    while (!stopped) {
      const n = next++;
      const declined = declineEvery > 0 && n % declineEvery === 3;
      const orderId = `${declined ? 'decline' : 'order'}-${options.run}-${n}`;
      const attempt: OrderAttempt = { orderId, declined };
      record.orders.push(attempt);
      const started = performance.now();
      attempt.place = await send(record, `${options.url}/orders`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'idempotency-key': `key-${orderId}`,
        },
        body: JSON.stringify(orderBody(orderId)),
      });
      const ok = attempt.place.status >= 200 && attempt.place.status < 300;
      if (ok && cancelEvery > 0 && n % cancelEvery === 1) {
        cancels.push(cancel(attempt, (n % 4) * 700));
      }
      const rest = gapMs - (performance.now() - started);
      if (rest > 0 && !stopped) await Promise.race([delay(rest), options.stop]);
    }
  };

  await Promise.all(Array.from({ length: options.clients }, client));
  await Promise.all(cancels);
}
