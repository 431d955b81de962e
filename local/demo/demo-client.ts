/**
 * The demo's HTTP side: places orders through the local HTTP API and follows them
 * (GET /orders/{id}, polled with a growing pause) until they settle, counting the
 * gateway retries of each order it follows.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { type DemoOutcome, describeReason } from './outcome.ts';

/** What the demo reads of an order. */
interface OrderView {
  readonly status: string;
  readonly statusReason: string | null;
  readonly createdAt: string;
  readonly updatedAt: string;
}

/** Every HTTP call of the demo gives up after this. */
const CALL_TIMEOUT_MS = 5_000;

/**
 * The demo's calls to one local HTTP API.
 *
 * @example
 * ```ts
 * const client = new DemoClient(url, 30_000, stopping.signal);
 * await client.place('paid-4e1f0a-0');
 * const outcome = await client.settle('paid', 'paid-4e1f0a-0', (s) => s !== 'PENDING');
 * ```
 */
export class DemoClient {
  /** Gateway retries seen, per order the demo follows. */
  readonly #retries = new Map<string, number>();
  readonly #url: string;
  readonly #settleTimeoutMs: number;
  readonly #stopping: AbortSignal;

  constructor(url: string, settleTimeoutMs: number, stopping: AbortSignal) {
    this.#url = url;
    this.#settleTimeoutMs = settleTimeoutMs;
    this.#stopping = stopping;
  }

  /** One call, given up after 5 s or when the demo stops. */
  async call(path: string, init: RequestInit = {}): Promise<Response> {
    return fetch(`${this.#url}${path}`, {
      ...init,
      signal: AbortSignal.any([
        this.#stopping,
        AbortSignal.timeout(CALL_TIMEOUT_MS),
      ]),
    });
  }

  /** Counts a gateway retry of an order the demo follows; others are ignored. */
  countRetry(orderId: string): void {
    const counted = this.#retries.get(orderId);
    if (counted !== undefined) this.#retries.set(orderId, counted + 1);
  }

  /** Places the order; the answer's status when it is not 201 or 202. */
  async place(orderId: string, unitPrice = 1999): Promise<string | undefined> {
    this.#retries.set(orderId, 0);
    const response = await this.call('/orders', {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-correlation-id': `demo-${orderId}`,
      },
      body: JSON.stringify(demoOrder(orderId, unitPrice)),
    });
    await response.body?.cancel();
    return response.status === 201 || response.status === 202
      ? undefined
      : `POST /orders answered ${response.status}`;
  }

  /**
   * Polls `read` with a growing pause (300 ms, doubling to 2 s) until `done` says so
   * or the settle time has passed; the last value read, and whether it was done.
   */
  async follow<T>(
    read: () => Promise<T | undefined>,
    done: (value: T) => boolean,
  ): Promise<{ value: T | undefined; done: boolean }> {
    const deadline = Date.now() + this.#settleTimeoutMs;
    let value: T | undefined;
    for (let pause = 300; ; pause = Math.min(2 * pause, 2_000)) {
      await sleep(pause, undefined, { signal: this.#stopping });
      value = await read();
      if (value !== undefined && done(value)) return { value, done: true };
      if (Date.now() >= deadline) return { value, done: false };
    }
  }

  /** Follows an order until `settled` says so; its outcome line. */
  async settle(
    scenario: string,
    orderId: string,
    settled: (status: string) => boolean,
  ): Promise<DemoOutcome> {
    const started = Date.now();
    const seen = await this.follow(
      () => this.#readOrder(orderId),
      (o) => settled(o.status),
    );
    const last = seen.value;
    const gatewayRetries = this.#retries.get(orderId) ?? 0;
    if (seen.done) this.#retries.delete(orderId);
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
  }

  async #readOrder(orderId: string): Promise<OrderView | undefined> {
    const response = await this.call(`/orders/${orderId}`);
    if (response.status !== 200) {
      await response.body?.cancel();
      return undefined;
    }
    return (await response.json()) as OrderView;
  }
}

/** The demo's order: two items at `unitPrice` minor units. */
function demoOrder(orderId: string, unitPrice: number) {
  return {
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
  };
}
