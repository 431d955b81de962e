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
import { Kafka, logLevel } from 'kafkajs';
import { DemoClient } from './demo/demo-client.ts';
import { formatOutcome, gatewayRetryOf } from './demo/outcome.ts';
import { demoSteps, type Step } from './demo/scenarios.ts';

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
  const client = new DemoClient(url, settleTimeoutMs, stopping.signal);
  const producer = new Kafka({
    clientId: 'demo',
    brokers: [...brokers],
    logLevel: logLevel.NOTHING,
  }).producer();
  const steps = demoSteps({
    client,
    producer,
    idOf: (prefix, n) => `${prefix}-${run}-${n}`,
    adminToken: options.adminToken,
  });

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
      if (orderId !== undefined) client.countRetry(orderId);
    },
    async stop() {
      clearInterval(timer);
      stopping.abort();
      await Promise.allSettled([...running]);
      await producer.disconnect();
    },
  };
}
