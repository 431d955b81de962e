/**
 * `npm run dev -- --demo`: a steady trickle of orders through the local HTTP API, so a
 * newcomer sees every path in the logs within a minute: paid, declined by the gateway,
 * suspected fraud, over the limit, a transient gateway failure that is retried, a
 * cancellation that is refunded, and a poison record that ends in the dead letters.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Kafka, logLevel } from 'kafkajs';
import { TOPICS } from '#domain/events.ts';

/** One demo step: what it does, for the log line. */
type Step = (n: number) => Promise<string>;

/** A running demo; stop() waits for the step in progress. */
export interface Demo {
  stop(): Promise<void>;
}

/**
 * Starts the demo against a running local system.
 *
 * @example
 * ```ts
 * const demo = startDemo(system.url, platform.kafka.brokers, console.log);
 * await demo.stop();
 * ```
 */
export function startDemo(
  url: string,
  brokers: readonly string[],
  log: (line: string) => void,
  everyMs = 2_000,
): Demo {
  const order = (orderId: string, unitPrice = 1999) => ({
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
  const place = async (orderId: string, unitPrice?: number) => {
    const response = await fetch(`${url}/orders`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-correlation-id': `demo-${orderId}`,
      },
      body: JSON.stringify(order(orderId, unitPrice)),
    });
    return `POST /orders ${orderId} -> ${response.status}`;
  };
  const producer = new Kafka({
    clientId: 'demo',
    brokers: [...brokers],
    logLevel: logLevel.NOTHING,
  }).producer();
  const steps: Step[] = [
    (n) => place(`demo-${n}`),
    (n) => place(`decline-${n}`),
    (n) => place(`suspicious-${n}`),
    (n) => place(`big-${n}`, 60_000),
    (n) => place(`flaky-${n}`),
    async (n) => {
      // Cancelled once paid, so the refund path shows (PAID -> REFUNDED).
      const orderId = `cancel-${n}`;
      await place(orderId);
      const deadline = Date.now() + 10_000;
      while (Date.now() < deadline) {
        const order = (await (
          await fetch(`${url}/orders/${orderId}`)
        ).json()) as { status?: string };
        if (order.status === 'PAID') break;
        await sleep(250);
      }
      const response = await fetch(`${url}/orders/${orderId}/cancel`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ reason: 'changed my mind (demo)' }),
      });
      return `POST /orders/${orderId}/cancel -> ${response.status}`;
    },
    async (n) => {
      await producer.connect();
      await producer.send({
        topic: TOPICS.orderPlaced,
        messages: [
          {
            key: `poison-${n}`,
            value: '{"eventType":"OrderPlaced","this is":"not an event"}',
            headers: { 'correlation-id': `demo-poison-${randomUUID()}` },
          },
        ],
      });
      return `a poison record on ${TOPICS.orderPlaced} (see GET /dead-letters)`;
    },
  ];
  let n = 0;
  let running: Promise<void> = Promise.resolve();
  const timer = setInterval(() => {
    const step = steps[n % steps.length] as Step;
    const index = n;
    n += 1;
    running = step(index)
      .then((line) => log(`[demo] ${line}`))
      .catch((error: unknown) => log(`[demo] failed: ${String(error)}`));
  }, everyMs);
  return {
    async stop() {
      clearInterval(timer);
      await running;
      await producer.disconnect();
    },
  };
}
