/**
 * The demo's steps, one scenario each: paid, declined by the gateway, suspected
 * fraud, over the limit, a flaky gateway, a cancellation that is refunded, and a
 * poison record that ends in the dead letters.
 */
import type { Producer } from 'kafkajs';
import { TOPICS } from '#domain/events.ts';
import type { DemoClient } from './demo-client.ts';
import { type DemoOutcome, refusedOutcome } from './outcome.ts';

/** One demo step: places something, then reports how it ended. */
export type Step = (n: number) => Promise<DemoOutcome | undefined>;

/** What the steps use. */
export interface ScenarioContext {
  readonly client: DemoClient;
  readonly producer: Producer;
  /** The id of step `n` of this run, by the prefix that picks its path. */
  readonly idOf: (prefix: string, n: number) => string;
  /** Lets the demo find its poison record among the dead letters (admin routes). */
  readonly adminToken: string | undefined;
}

/** What the demo reads of a dead letter. */
interface DeadLetterView {
  readonly id: string;
  readonly status: string;
  readonly failedAt: string;
  readonly original: { readonly keyText?: string | null; timestamp: number };
  readonly error: { readonly name: string };
}

/**
 * The steps, in the order the demo takes them, round and round.
 *
 * @example
 * ```ts
 * const steps = demoSteps({ client, producer, idOf, adminToken });
 * const outcome = await steps[0]?.(0);
 * ```
 */
export function demoSteps(context: ScenarioContext): Step[] {
  return [
    paymentStep(context, 'paid', 'paid'),
    paymentStep(context, 'card declined', 'decline'),
    paymentStep(context, 'fraud suspected', 'suspicious'),
    // 2 x 600.00 EUR: above the 1 000 EUR limit.
    paymentStep(context, 'over the limit', 'big', 60_000),
    paymentStep(context, 'flaky gateway', 'flaky'),
    (n) => cancelRefundStep(context, n),
    (n) => poisonStep(context, n),
  ];
}

/** A step that places one order and follows it until its payment is decided. */
function paymentStep(
  { client, idOf }: ScenarioContext,
  scenario: string,
  prefix: string,
  unitPrice?: number,
): Step {
  return async (n) => {
    const orderId = idOf(prefix, n);
    const refused = await client.place(orderId, unitPrice);
    if (refused) return refusedOutcome(scenario, orderId, refused);
    return client.settle(scenario, orderId, (status) => status !== 'PENDING');
  };
}

/** Cancelled once paid, so the refund path shows (PAID -> REFUNDED). */
async function cancelRefundStep(
  { client, idOf }: ScenarioContext,
  n: number,
): Promise<DemoOutcome> {
  const scenario = 'cancel, refund';
  const orderId = idOf('cancel', n);
  const refused = await client.place(orderId);
  if (refused) return refusedOutcome(scenario, orderId, refused);
  const paid = await client.settle(scenario, orderId, (s) => s !== 'PENDING');
  if (paid.state !== 'PAID') return paid;
  const response = await client.call(`/orders/${orderId}/cancel`, {
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
  return client.settle(
    scenario,
    orderId,
    (s) => s !== 'PAID' && s !== 'CANCELLATION_REQUESTED',
  );
}

/** A record on `order.placed.v1` that is not an event: it ends in the dead letters. */
async function poisonStep(
  context: ScenarioContext,
  n: number,
): Promise<DemoOutcome> {
  const { producer, idOf } = context;
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
  return poisonOutcome(context, key);
}

/** Finds the poison record among the parked dead letters, with the admin token. */
async function poisonOutcome(
  { client, adminToken }: ScenarioContext,
  key: string,
): Promise<DemoOutcome> {
  const scenario = 'poison record';
  if (adminToken === undefined) {
    return {
      scenario,
      id: key,
      state: 'sent',
      settled: true,
      see: `to ${TOPICS.orderPlaced}: see GET /dead-letters`,
    };
  }
  const headers = { authorization: `Bearer ${adminToken}` };
  const started = Date.now();
  const seen = await client.follow(
    async () => {
      const response = await client.call(
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
}
