/**
 * Fault switches through `npm run dev`'s own code path (startLocalSystem's
 * `environment` and `chaos`, docs/local-faults.md), on a broker and DynamoDB Local of
 * its own (the mappings' consumer groups are the template's, so another system's
 * records must not reach them). One order shows both:
 * - `--env payment:GATEWAY_TRANSIENT_FAILURES=3,PAYMENT_RETRY_ATTEMPTS=1`: a gateway
 *   outage longer than one invocation; the payment mapping retries until the fourth
 *   invocation charges it;
 * - `--chaos order-events:fail=1`: every invocation of the order function fails, so
 *   its mapping retries as its settings say and then writes the PaymentProcessed
 *   record to its on-failure destination, where the reprocessor stores it.
 */
import { randomUUID } from 'node:crypto';
import {
  afterAll,
  beforeAll,
  describe,
  expect,
  it,
  onTestFailed,
} from 'vitest';
import { TOPICS } from '#domain/events.ts';
import { type LocalPlatform, startPlatform } from '#platform/platform.ts';
import { pollUntil } from '#platform/wait.ts';
import { UnknownFunctionError } from '../../../local/runtime/overrides.ts';
import {
  type LocalSystem,
  startLocalSystem,
} from '../../../local/runtime/system.ts';
import {
  type CfnTemplate,
  synthesizeTemplate,
} from '../../../local/runtime/template.ts';
import { PIPELINE_MS } from '../deadlines.ts';
import { orderRequest } from '../order-request.ts';

let platform: LocalPlatform;
let template: CfnTemplate;
let system: LocalSystem;
const logs: string[] = [];

beforeAll(async () => {
  const env = { ...process.env };
  delete env.KAFKA_BROKERS;
  delete env.DYNAMODB_ENDPOINT;
  platform = await startPlatform({ env, kafkaPort: 0, dynamodbPort: 0 });
  template = synthesizeTemplate('dev');
  system = await startLocalSystem(platform, {
    port: 0,
    template,
    log: (line) => logs.push(line),
    environment: {
      payment: { GATEWAY_TRANSIENT_FAILURES: '3', PAYMENT_RETRY_ATTEMPTS: '1' },
    },
    chaos: {
      'order-events': { fail: 1, timeout: 0, when: 'before', seed: 5 },
    },
  });
}, 180_000);

afterAll(async () => {
  await system?.stop();
  await platform?.stop();
}, 60_000);

interface Letter {
  original: { topic: string; keyText: string | null };
  error: { name: string; message: string };
  consumer: string;
}

/** The SCHEDULED (transient, redriven later) dead letters; none while the API is busy. */
async function scheduledLetters(): Promise<Letter[]> {
  const response = await fetch(
    `${system.url}/dead-letters?status=SCHEDULED&limit=100`,
    { headers: { authorization: `Bearer ${system.adminToken}` } },
  );
  if (response.status === 503) {
    await response.body?.cancel();
    return [];
  }
  expect(response.status).toBe(200);
  return ((await response.json()) as { items: Letter[] }).items;
}

describe('fault switches in the local system', () => {
  it('shows its overrides and chaos, with the seed, at start-up', () => {
    const described = system.describe();
    expect(described).toMatch(
      /Environment overrides \(--env\)\n {2}payment +GATEWAY_TRANSIENT_FAILURES=3\n {2}payment +PAYMENT_RETRY_ATTEMPTS=1/,
    );
    expect(described).toMatch(
      /Chaos \(--chaos\)\n {2}order-events +fail 100%, before the handler \(seed 5\)/,
    );
  });

  it('carries an order through a gateway outage of three invocations, then dead-letters its outcome from the failing order function', async () => {
    // Prepare: an order the simulated gateway fails transiently at first ('flaky').
    const orderId = `flaky-${randomUUID().slice(0, 8)}`;
    const from = logs.length;
    onTestFailed(() => {
      console.error(`the system's log:\n${logs.slice(from).join('\n')}`);
    });
    const retries = (topic: string) =>
      system.model.mappings.find((m) => m.topic === topic)
        ?.maximumRetryAttempts ?? Number.NaN;

    // Act
    const placed = await fetch(`${system.url}/orders`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(orderRequest(orderId)),
    });
    const letter = await pollUntil(
      async () =>
        (await scheduledLetters()).find(
          (item) =>
            item.original.topic === TOPICS.paymentProcessed &&
            item.original.keyText === orderId,
        ),
      PIPELINE_MS,
      200,
    );

    // Assess 1 (--env): the payment function saw GATEWAY_TRANSIENT_FAILURES=3 and one
    // attempt per invocation: three invocations failed, the fourth charged (the
    // mapping allows retries(order.placed) + 1 >= 4 invocations).
    // 201, or 202 when the publish was slow and left to the outbox relay.
    expect([201, 202]).toContain(placed.status);
    expect(retries(TOPICS.orderPlaced)).toBeGreaterThanOrEqual(3);
    const attempts = logs
      .slice(from)
      .filter((l) => l.startsWith('[payment] ') && l.includes(orderId))
      .flatMap((l) => /attempt (\d) of (\d) simulated failures/.exec(l) ?? []);
    expect(attempts).toEqual([
      'attempt 1 of 3 simulated failures',
      '1',
      '3',
      'attempt 2 of 3 simulated failures',
      '2',
      '3',
      'attempt 3 of 3 simulated failures',
      '3',
      '3',
    ]);

    // Assess 2 (--chaos): the PaymentProcessed record reached the order function's
    // mapping, which invoked it 1 + its retries times, each an injected failure, then
    // wrote it to its on-failure destination.
    expect(letter).toMatchObject({
      error: {
        name: 'RetriesExhausted',
        message: `RetriesExhausted, after ${retries(TOPICS.paymentProcessed) + 1} invocation(s), function error Unhandled`,
      },
      consumer: expect.stringMatching(/:function:order-events$/),
    });
    expect(
      logs.some(
        (l) =>
          l.startsWith('[order-events] ') &&
          l.includes('"errorType":"ChaosError"'),
      ),
    ).toBe(true);
    const order = await fetch(`${system.url}/orders/${orderId}`);
    expect(await order.json()).toMatchObject({ status: 'PENDING' });
  });

  it('refuses an override of a function the template lacks, naming those it has', async () => {
    await expect(
      startLocalSystem(platform, {
        port: 0,
        template,
        environment: { paymnt: { GATEWAY_FAIL_ALL: 'true' } },
      }),
    ).rejects.toThrow(
      new UnknownFunctionError(
        '--env: no function named paymnt; the functions are order-api, outbox-relay, order-events, payment, dlq-reprocessor, dlq-redrive, dlq-admin',
      ),
    );
  });
});
