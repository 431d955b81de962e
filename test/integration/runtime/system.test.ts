/**
 * End to end through `npm run dev`'s own code path (startLocalSystem): the functions,
 * mappings, HTTP API and schedule read from the synthesized template, on a broker and
 * DynamoDB Local of its own (so the other tests' records on the same topics do not
 * mix with these).
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { Kafka, logLevel } from 'kafkajs';
import {
  afterAll,
  beforeAll,
  beforeEach,
  describe,
  expect,
  it,
  onTestFailed,
} from 'vitest';
import { TOPICS } from '#domain/events.ts';
import { type LocalPlatform, startPlatform } from '#platform/platform.ts';
import { pollUntil } from '#platform/wait.ts';
import {
  type LocalSystem,
  startLocalSystem,
} from '../../../local/runtime/system.ts';
import { PIPELINE_MS } from '../deadlines.ts';
import { type ReadRecord, readRecords } from '../msk.ts';
import { orderRequest as order } from '../order-request.ts';

let platform: LocalPlatform;
let system: LocalSystem;
const logs: string[] = [];
const run = randomUUID().slice(0, 8);

async function start() {
  system = await startLocalSystem(platform, {
    port: 0,
    log: (line) => logs.push(line),
  });
}

beforeAll(async () => {
  const env = { ...process.env };
  delete env.KAFKA_BROKERS;
  delete env.DYNAMODB_ENDPOINT;
  platform = await startPlatform({ env, kafkaPort: 0, dynamodbPort: 0 });
  await start();
}, 120_000);

// A failed test shows what the system logged meanwhile (functions and mappings):
// the one place that says where a record stopped.
beforeEach(() => {
  const from = logs.length;
  onTestFailed(() => {
    console.error(
      `the system's log during this test:\n${logs.slice(from).join('\n')}`,
    );
  });
});

afterAll(async () => {
  await system?.stop();
  await platform?.stop();
}, 60_000);

/**
 * Sends a request as a careful client does: a 503 is sent again after its Retry-After,
 * until the deadline. On a loaded machine the broker can answer later than a
 * publisher's timeout (the API answers 503, and a circuit breaker then fails fast for
 * a while), or a function later than the gateway's 30 s (the gateway answers 503 while
 * the function goes on). So after a 503, a 409 whose type is `doneType` means the first
 * attempt did it, and counts as `doneStatus`.
 */
async function sendRetrying(
  send: () => Promise<Response>,
  done: { type: string; status: number },
): Promise<number | undefined> {
  let refused = 0;
  return pollUntil(async () => {
    const answer = await send();
    const body = (await answer.json()) as { type?: string };
    if (answer.status === 409 && refused > 0 && body.type === done.type) {
      return done.status;
    }
    if (answer.status !== 503) return answer.status;
    refused += 1;
    await delay(Number(answer.headers.get('retry-after') ?? 1) * 1000);
    return undefined;
  }, PIPELINE_MS);
}

/** POST /orders with the client's own order id, so that a retry is safe. */
async function place(orderId: string, unitPrice?: number) {
  const status = await sendRetrying(
    () =>
      fetch(`${system.url}/orders`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(order(orderId, unitPrice)),
      }),
    { type: '/problems/order-exists', status: 201 },
  );
  // 201, or 202 when the publish was slow and left to the outbox relay.
  expect([201, 202]).toContain(status);
}

/** Polls GET /orders/{id} until its status is `status`, within the deadline. */
async function statusBecomes(orderId: string, status: string) {
  const reached = await pollUntil(
    async () => {
      const response = await fetch(`${system.url}/orders/${orderId}`);
      const body = (await response.json()) as { status?: string };
      return body.status === status ? body : undefined;
    },
    PIPELINE_MS,
    200,
  );
  return reached;
}

const admin = (path: string, init: RequestInit = {}) =>
  fetch(`${system.url}${path}`, {
    ...init,
    headers: {
      ...(init.headers as Record<string, string>),
      authorization: `Bearer ${system.adminToken}`,
    },
  });

/**
 * The PARKED dead letters, newest first; none while the admin API answers 503 (a
 * store that is slow to answer makes the gateway give up after 30 s), so that a poll
 * asks again.
 */
async function parkedLetters(): Promise<
  { id: string; original: { topic: string; keyText: string | null } }[]
> {
  const response = await admin('/dead-letters?status=PARKED&limit=100');
  if (response.status === 503) {
    await response.body?.cancel();
    return [];
  }
  expect(response.status).toBe(200);
  return ((await response.json()) as { items: [] }).items;
}

describe('the local system (npm run dev)', () => {
  it('takes an order over HTTP to PAID', async () => {
    const orderId = `paid-${run}`;
    await place(orderId);
    expect(await statusBecomes(orderId, 'PAID')).toMatchObject({
      orderId,
      version: 2,
    });
  });

  it.each([
    ['decline', 'GATEWAY_DECLINED', 1999],
    ['suspicious', 'FRAUD_SUSPECTED', 1999],
  ])('ends a %s order PAYMENT_FAILED', async (prefix, reason, price) => {
    const orderId = `${prefix}-${run}`;
    await place(orderId, price);
    expect(await statusBecomes(orderId, 'PAYMENT_FAILED')).toMatchObject({
      statusReason: reason,
    });
  });

  it('refunds a cancelled paid order', async () => {
    const orderId = `refund-${run}`;
    await place(orderId);
    await statusBecomes(orderId, 'PAID');
    const cancel = await sendRetrying(
      () =>
        fetch(`${system.url}/orders/${orderId}/cancel`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ reason: 'changed my mind' }),
        }),
      { type: '/problems/invalid-state', status: 200 },
    );
    expect([200, 202]).toContain(cancel);
    expect(await statusBecomes(orderId, 'REFUNDED')).toBeDefined();
  });

  it('puts a poison record in the dead-letter API, and redrives it corrected', async () => {
    // Prepare: a record on order.placed.v1 that is not an event.
    const orderId = `poison-${run}`;
    const producer = new Kafka({
      clientId: 'e2e',
      brokers: [...platform.kafka.brokers],
      logLevel: logLevel.NOTHING,
    }).producer();
    await producer.connect();
    await producer.send({
      topic: TOPICS.orderPlaced,
      messages: [{ key: orderId, value: '{"not":"an event"}' }],
    });
    await producer.disconnect();

    // Act 1: it travels consumer -> dead-letter topic -> reprocessor -> store.
    const letter = await pollUntil(
      async () =>
        (await parkedLetters()).find(
          (item) => item.original.keyText === orderId,
        ),
      PIPELINE_MS,
      200,
    );

    // Assess 1
    expect(letter).toBeDefined();
    expect((await fetch(`${system.url}/dead-letters`)).status).toBe(403);

    // Act 2: redrive it as a proper OrderPlaced for a new order.
    await place(`template-${run}`);
    const history = (await pollUntil(async () => {
      const response = await fetch(
        `${system.url}/orders/template-${run}/events`,
      );
      return response.ok ? response.json() : undefined;
    }, PIPELINE_MS)) as { events: { data: { orderId: string } }[] };
    const corrected = structuredClone(history.events[0]) as {
      eventId: string;
      data: { orderId: string; total: unknown };
    };
    corrected.eventId = randomUUID();
    corrected.data.orderId = orderId;
    const redrive = await sendRetrying(
      () =>
        admin(`/dead-letters/${encodeURIComponent(letter?.id ?? '')}/redrive`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ value: corrected }),
        }),
      { type: '/problems/invalid-state', status: 200 },
    );

    // Assess 2: the payment function charged it; its order does not exist, so the
    // order function asked for the refund (PaymentOrphaned) and the payment function
    // refunded the charge (docs/domain.md section 6). No money without an order.
    expect(redrive).toBe(200);
    const mine = (r: ReadRecord) => r.message.key?.toString() === orderId;
    const refunds = await readRecords(
      platform.kafka.brokers,
      TOPICS.paymentRefunded,
      (records) => records.some(mine),
      PIPELINE_MS,
    );
    const refund = JSON.parse(
      refunds.find(mine)?.message.value?.toString() ?? '{}',
    );
    expect(refund).toMatchObject({
      eventType: 'PaymentRefunded',
      data: { orderId, amount: corrected.data.total },
    });
    // A 503 (a store slowed by a busy machine) says nothing: ask again.
    const read = await pollUntil(async () => {
      const response = await fetch(`${system.url}/orders/${orderId}`);
      await response.body?.cancel();
      return response.status === 503 ? undefined : response.status;
    }, PIPELINE_MS);
    expect(read).toBe(404);
  });

  it('loses nothing when stopped mid-stream and started again', async () => {
    // Prepare: 10 orders in quick succession.
    const ids = Array.from({ length: 10 }, (_, i) => `restart-${run}-${i}`);
    await Promise.all(ids.map((id) => place(id)));

    // Act: stop at once (in-flight batches finish and commit), then start again.
    await system.stop();
    await start();

    // Assess: every order gets paid, none twice.
    for (const id of ids) {
      expect(await statusBecomes(id, 'PAID')).toMatchObject({ version: 2 });
    }
  });
});
