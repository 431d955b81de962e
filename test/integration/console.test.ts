/**
 * The local console's server side (local/console/, docs/console.md) on the real
 * system: startLocalSystem on the test broker and DynamoDB Local, an order placed
 * over HTTP, and what `/_console/api/*` and its event stream say about it.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { get as httpGet } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  afterAll,
  beforeAll,
  beforeEach,
  describe,
  expect,
  inject,
  it,
  onTestFailed,
} from 'vitest';
import { pollUntil } from '#platform/wait.ts';
import type { MappingFlow } from '../../local/console/flow.ts';
import { RuntimeObserver } from '../../local/console/observer.ts';
import type { IndexedEvent } from '../../local/console/order-index.ts';
import { createConsole } from '../../local/console/server.ts';
import type { InvocationEntry } from '../../local/console/timeline.ts';
import { startHttpApi } from '../../local/runtime/http/server.ts';
import {
  type LocalSystem,
  startLocalSystem,
} from '../../local/runtime/system.ts';
import { PIPELINE_MS, SETTLES_MS } from './deadlines.ts';
import { orderRequest } from './order-request.ts';

const platform = () => ({
  kafka: { brokers: inject('kafkaBrokers') },
  dynamodb: { endpoint: inject('dynamodbEndpoint') },
});

let system: LocalSystem;
let stopped = false;
const logs: string[] = [];
const run = randomUUID().slice(0, 8);

beforeAll(async () => {
  system = await startLocalSystem(platform(), {
    port: 0,
    log: (line) => logs.push(line),
  });
});

afterAll(async () => {
  if (!stopped) await system?.stop();
});

beforeEach(() => {
  const from = logs.length;
  onTestFailed(() => {
    console.error(
      `the system's log during this test:\n${logs.slice(from).join('\n')}`,
    );
  });
});

interface ServerSentEvent {
  readonly event: string;
  readonly data: string;
}

/** Reads a server-sent event stream into `events` until aborted or ended. */
async function readStream(
  url: string,
  signal: AbortSignal,
): Promise<{ events: ServerSentEvent[]; ended: Promise<void> }> {
  const response = await fetch(url, { signal });
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
  const events: ServerSentEvent[] = [];
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  let buffered = '';
  const ended = (async () => {
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return;
        buffered += decoder.decode(value, { stream: true });
        let end = buffered.indexOf('\n\n');
        while (end >= 0) {
          const frame = buffered.slice(0, end);
          buffered = buffered.slice(end + 2);
          const event = /^event: (.*)$/m.exec(frame)?.[1];
          const data = /^data: (.*)$/m.exec(frame)?.[1];
          if (event !== undefined && data !== undefined) {
            events.push({ event, data });
          }
          end = buffered.indexOf('\n\n');
        }
      }
    } catch {
      // Aborted by the test.
    }
  })();
  return { events, ended };
}

/** Parsed JSON of any shape: the assertions check it. */
// biome-ignore lint/suspicious/noExplicitAny: the assertions check the shape
type Json = any;

/** A console API answer. */
async function getJson(path: string): Promise<{ status: number; body: Json }> {
  const response = await fetch(`${system.url}${path}`);
  return { status: response.status, body: await response.json() };
}

describe('the console API on the running system', () => {
  it('follows an order to PAID: list, timeline with events and invocations, flow with lag 0, and the stream', async () => {
    // Prepare: a stream open before the order.
    const aborter = new AbortController();
    const stream = await readStream(
      `${system.url}/_console/api/stream`,
      aborter.signal,
    );
    const orderId = `console-${run}`;

    try {
      // Act
      const placed = await fetch(`${system.url}/orders`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(orderRequest(orderId)),
      });
      expect([201, 202]).toContain(placed.status);

      // Assess: the list shows it PAID.
      const listed = await pollUntil(async () => {
        const { body } = await getJson('/_console/api/orders?status=PAID');
        return body.orders.find(
          (o: { orderId: string }) => o.orderId === orderId,
        );
      }, PIPELINE_MS);
      expect(listed).toMatchObject({
        orderId,
        status: 'PAID',
        customerId: 'cust-42',
        total: { amount: 3998, currency: 'EUR' },
      });

      // Assess: its timeline has both events and the invocations that handled them.
      const detail = await pollUntil(async () => {
        const { body } = await getJson(`/_console/api/orders/${orderId}`);
        const types = body.timeline.map((e: IndexedEvent | InvocationEntry) =>
          e.kind === 'event' ? e.eventType : e.function,
        );
        return [
          'OrderPlaced',
          'PaymentProcessed',
          'payment',
          'order-events',
        ].every((t) => types.includes(t))
          ? body
          : undefined;
      }, PIPELINE_MS);
      expect(detail?.order).toMatchObject({ orderId, status: 'PAID' });
      const timeline: (IndexedEvent | InvocationEntry)[] = detail.timeline;
      const placedEvent = timeline.find(
        (e): e is IndexedEvent =>
          e.kind === 'event' && e.eventType === 'OrderPlaced',
      );
      expect(placedEvent).toMatchObject({
        topic: 'order.placed.v1',
        key: orderId,
        valid: true,
        causationId: null,
      });
      expect(placedEvent?.offset).toMatch(/^\d+$/);
      const processed = timeline.find(
        (e): e is IndexedEvent =>
          e.kind === 'event' && e.eventType === 'PaymentProcessed',
      );
      expect(processed?.causationId).toBe(placedEvent?.eventId);
      expect(processed?.correlationId).toBe(placedEvent?.correlationId);
      const payment = timeline.find(
        (e): e is InvocationEntry =>
          e.kind === 'invocation' && e.function === 'payment',
      );
      expect(payment).toMatchObject({
        mapping: 'order.placed.v1 -> payment',
        result: 'ok',
        attempt: 1,
        error: null,
      });
      expect(payment?.requestId).toMatch(/^[0-9a-f-]{36}$/);
      expect(payment?.records).toContainEqual({
        topic: 'order.placed.v1',
        partition: placedEvent?.partition,
        offset: placedEvent?.offset,
      });
      // The HTTP invocation that placed it names it in its Location.
      expect(timeline).toContainEqual(
        expect.objectContaining({
          kind: 'invocation',
          function: 'order-api',
          route: 'POST /orders',
        }),
      );
      const times = timeline.map((e) => e.at);
      expect(times).toEqual([...times].sort());

      // Assess: every mapping is listed, and drains to lag 0.
      const mappingCount = system.model.mappings.filter(
        (m) => m.enabled,
      ).length;
      const flow = await pollUntil(async () => {
        const { body } = await getJson('/_console/api/flow');
        return body.mappings.length === mappingCount &&
          body.mappings.every((m: MappingFlow) => m.lag === 0)
          ? body
          : undefined;
      }, PIPELINE_MS);
      expect(flow).toBeDefined();
      const placedMapping = flow.mappings.find(
        (m: MappingFlow) => m.topic === 'order.placed.v1',
      );
      expect(placedMapping).toMatchObject({
        name: 'order.placed.v1 -> payment',
        function: 'payment',
        lag: 0,
      });
      expect(placedMapping.invocations).toBeGreaterThanOrEqual(1);
      expect(placedMapping.partitions.length).toBeGreaterThan(0);
      // Drained: committed up to the end (a partition never written may have
      // no commit at all).
      for (const p of placedMapping.partitions) {
        expect(p.committed ?? '0').toBe(p.end);
      }
      expect(flow.functions).toContainEqual(
        expect.objectContaining({ name: 'payment', errors: 0 }),
      );
      const paymentStats = flow.functions.find(
        (f: { name: string }) => f.name === 'payment',
      );
      expect(paymentStats.invocations).toBeGreaterThanOrEqual(1);
      expect(paymentStats.coldStarts).toBeGreaterThanOrEqual(1);
      expect(paymentStats.p50Ms).toBeGreaterThan(0);

      // Assess: the stream delivered a flow event and an orders event naming it.
      const seen = await pollUntil(
        () =>
          stream.events.some((e) => e.event === 'flow') &&
          stream.events.some(
            (e) =>
              e.event === 'orders' &&
              (JSON.parse(e.data) as { changed: string[] }).changed.includes(
                orderId,
              ),
          )
            ? true
            : undefined,
        SETTLES_MS,
      );
      expect(seen, JSON.stringify(stream.events.map((e) => e.event))).toBe(
        true,
      );
      const flowEvent = stream.events.find((e) => e.event === 'flow');
      expect(JSON.parse(flowEvent?.data ?? '{}').mappings).toHaveLength(
        mappingCount,
      );
    } finally {
      aborter.abort();
      await stream.ended;
    }
  });

  it('is printed at start, after the API docs', () => {
    // Act
    const lines = system.describe().split('\n');

    // Assess
    const docs = lines.findIndex((line) => line.startsWith('API docs'));
    expect(lines[docs + 1]).toBe(`Console   ${system.url}/_console`);
  });

  it('refuses what it does not serve, without a 5xx', async () => {
    // Act and assess
    const traversal = await fetch(`${system.url}/_console/..%2Fserver.ts`);
    expect(traversal.status).toBe(404);
    const badStatus = await getJson('/_console/api/orders?status=LOST');
    expect(badStatus.status).toBe(400);
    const badId = await getJson('/_console/api/orders/not%20an%20id');
    expect(badId.status).toBe(400);
    const unknown = await getJson('/_console/api/nothing');
    expect(unknown.status).toBe(404);
    const post = await fetch(`${system.url}/_console/api/orders`, {
      method: 'POST',
    });
    expect(post.status).toBe(405);
    await post.body?.cancel();
  });

  it('stops with a stream open, and the stream ends', async () => {
    // Prepare
    const aborter = new AbortController();
    const stream = await readStream(
      `${system.url}/_console/api/stream`,
      aborter.signal,
    );

    let ended = false;
    void stream.ended.then(() => {
      ended = true;
    });

    // Act
    stopped = true;
    await system.stop();

    // Assess: the stream ended by itself (never aborted).
    expect(await pollUntil(() => ended || undefined, SETTLES_MS)).toBe(true);
    expect(aborter.signal.aborted).toBe(false);
  });
});

describe('the console page files', () => {
  it('serves the page folder by exact name, with the admin token in index.html', async () => {
    // Prepare: a console over a page folder of this test's own.
    const pageDir = await mkdtemp(join(tmpdir(), 'console-page-'));
    await writeFile(
      join(pageDir, 'index.html'),
      '<meta name="admin-token" content="%ADMIN_TOKEN%"><script type="module" src="app.js"></script>',
    );
    await writeFile(join(pageDir, 'app.js'), 'export const ok = 1;\n');
    await writeFile(join(pageDir, 'app.css'), 'body { margin: 0 }\n');
    const app = createConsole({
      model: {
        functions: [],
        mappings: [],
        streamMappings: [],
        routes: [],
        tables: [],
        topics: [],
        schedules: [],
      },
      brokers: inject('kafkaBrokers'),
      dynamodbEndpoint: inject('dynamodbEndpoint'),
      adminToken: 'token-"<&>-0123456789',
      observer: new RuntimeObserver(),
      mappings: () => [],
      log: () => {},
      pageDir,
    });
    const api = await startHttpApi({
      routes: [],
      functions: new Map(),
      adminToken: 'token-"<&>-0123456789',
      mounts: [app.mount],
    });
    try {
      // Act
      const index = await fetch(`${api.url}/_console`);
      const script = await fetch(`${api.url}/_console/app.js`);
      const style = await fetch(`${api.url}/_console/app.css`);
      const missing = await fetch(`${api.url}/_console/other.js`);
      const nested = await fetch(`${api.url}/_console/sub%2Fapp.js`);
      // fetch sets Host itself: node:http sends the one given.
      const foreign = await new Promise<number | undefined>(
        (resolve, reject) => {
          httpGet(
            `${api.url}/_console`,
            { headers: { host: 'rebound.example' } },
            (response) => {
              response.resume();
              resolve(response.statusCode);
            },
          ).on('error', reject);
        },
      );

      // Assess
      expect(index.status).toBe(200);
      expect(index.headers.get('content-type')).toBe(
        'text/html; charset=utf-8',
      );
      expect(await index.text()).toContain(
        'content="token-&quot;&lt;&amp;&gt;-0123456789"',
      );
      expect(script.headers.get('content-type')).toBe(
        'text/javascript; charset=utf-8',
      );
      expect(await script.text()).toBe('export const ok = 1;\n');
      expect(style.headers.get('content-type')).toBe('text/css; charset=utf-8');
      await style.body?.cancel();
      expect(missing.status).toBe(404);
      expect(nested.status).toBe(404);
      expect(foreign).toBe(403);
      await Promise.all([missing, nested].map((r) => r.body?.cancel()));
    } finally {
      await app.stop();
      await api.stop();
      await rm(pageDir, { recursive: true, force: true });
    }
  });
});
