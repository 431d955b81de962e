import { describe, expect, it } from 'vitest';
import { isLocalHost } from '../../../local/console/http-answers.ts';
import {
  percentile,
  RateWindow,
  RingBuffer,
  RuntimeObserver,
} from '../../../local/console/observer.ts';
import type { IndexedEvent } from '../../../local/console/order-index.ts';
import { orderIdOfPath, timelineOf } from '../../../local/console/timeline.ts';
import { offsetRuns } from '../../../local/runtime/esm/observability.ts';
import type {
  InvokeResult,
  LocalLambda,
} from '../../../local/runtime/lambda.ts';

describe('RingBuffer', () => {
  it('keeps the last items, oldest first, and says what it pushed out', () => {
    // Prepare
    const ring = new RingBuffer<number>(3);

    // Act
    const evicted = [1, 2, 3, 4, 5].map((n) => ring.push(n));

    // Assess
    expect(ring.toArray()).toEqual([3, 4, 5]);
    expect(evicted).toEqual([undefined, undefined, undefined, 1, 2]);
  });
});

describe('percentile', () => {
  it('takes the nearest rank', () => {
    const values = Array.from({ length: 100 }, (_, i) => 100 - i);
    expect(percentile(values, 50)).toBe(50);
    expect(percentile(values, 99)).toBe(99);
    expect(percentile([7], 99)).toBe(7);
    expect(percentile([], 50)).toBeNull();
  });
});

describe('RateWindow', () => {
  it('counts per second over the window, forgetting what fell out of it', () => {
    // Prepare
    const rate = new RateWindow(10_000);

    // Act
    rate.add(1_000, 50);
    rate.add(6_000, 30);

    // Assess
    expect(rate.perSecond(9_000)).toBe(8);
    expect(rate.perSecond(12_000)).toBe(3);
    expect(rate.perSecond(20_000)).toBe(0);
  });
});

describe('offsetRuns', () => {
  it('packs consecutive offsets per partition, partitions ascending', () => {
    expect(
      offsetRuns([
        { partition: 2, offset: 7 },
        { partition: 2, offset: 8 },
        { partition: 0, offset: 3 },
        { partition: 0, offset: 5 },
      ]),
    ).toEqual([
      { partition: 0, from: 3, to: 3 },
      { partition: 0, from: 5, to: 5 },
      { partition: 2, from: 7, to: 8 },
    ]);
    expect(offsetRuns([])).toEqual([]);
  });
});

function fakeLambda(result: InvokeResult): LocalLambda {
  return {
    name: 'order-api',
    invoke: async () => result,
    invokeKafka: async () => result,
    reload: async () => {},
    stop: async () => {},
  };
}

const ok: InvokeResult = {
  ok: true,
  result: null,
  durationMs: 12,
  initDurationMs: 300,
  requestId: 'r-1',
};

describe('RuntimeObserver', () => {
  it('records a Kafka invocation with its attempt, records and a partial outcome', () => {
    // Prepare
    const observer = new RuntimeObserver({ now: () => 5_000 });
    const observe = observer.kafkaObserver({
      logicalId: 'Esm1',
      topic: 'order.placed.v1',
      functionName: 'payment',
    });

    // Act
    observe({
      attempt: 2,
      startedAt: 4_000,
      records: [{ partition: 1, from: 10, to: 14 }],
      result: { ...ok, initDurationMs: undefined },
      outcome: 'partial',
    });

    // Assess
    const [invocation] = observer.invocations();
    expect(invocation).toMatchObject({
      function: 'payment',
      mapping: 'order.placed.v1 -> payment',
      topic: 'order.placed.v1',
      attempt: 2,
      result: 'partial',
      requestId: 'r-1',
      coldStart: false,
      records: [{ partition: 1, from: 10, to: 14 }],
    });
    expect(observer.mappingStats('Esm1')).toEqual({
      invocations: 1,
      recordsPerSecond: 0.5,
    });
  });

  it('counts errors, timeouts and cold starts per function', async () => {
    // Prepare
    const observer = new RuntimeObserver();
    const timeout: InvokeResult = {
      ok: false,
      errorType: 'Sandbox.Timedout',
      errorMessage: 'Task timed out after 3.00 seconds',
      timedOut: true,
      durationMs: 3000,
    };
    const failing: InvokeResult = {
      ...timeout,
      errorType: 'Error',
      timedOut: false,
    };

    // Act
    await observer.wrap(fakeLambda(ok)).invoke({});
    await observer.wrap(fakeLambda(timeout)).invoke({});
    await observer.wrap(fakeLambda(failing)).invoke({});

    // Assess
    expect(observer.functionStats(['order-api', 'payment'])).toEqual([
      {
        name: 'order-api',
        invocations: 3,
        errors: 1,
        timeouts: 1,
        coldStarts: 1,
        p50Ms: 3000,
        p99Ms: 3000,
      },
      {
        name: 'payment',
        invocations: 0,
        errors: 0,
        timeouts: 0,
        coldStarts: 0,
        p50Ms: null,
        p99Ms: null,
      },
    ]);
  });

  it('keeps the route, path and answered Location of an HTTP invocation, and tells subscribers', async () => {
    // Prepare
    const observer = new RuntimeObserver();
    const told: string[] = [];
    const unsubscribe = observer.subscribe((i) => told.push(i.function));
    const lambda = observer.wrap(
      fakeLambda({
        ok: true,
        result: { statusCode: 201, headers: { Location: '/orders/o-1' } },
        durationMs: 4,
      }),
    );

    // Act
    await lambda.invoke({
      version: '2.0',
      routeKey: 'POST /orders',
      rawPath: '/orders',
    });
    unsubscribe();
    await lambda.invoke({ source: 'aws.events' });

    // Assess
    const [http, scheduled] = observer.invocations();
    expect(http?.http).toEqual({
      routeKey: 'POST /orders',
      path: '/orders',
      location: '/orders/o-1',
    });
    expect(scheduled?.http).toBeNull();
    expect(told).toEqual(['order-api']);
  });

  it('forgets the oldest invocations past its capacity', async () => {
    // Prepare
    const observer = new RuntimeObserver({ capacity: 2 });
    const lambda = observer.wrap(fakeLambda(ok));

    // Act
    for (let i = 0; i < 3; i += 1) await lambda.invoke({});

    // Assess
    expect(observer.invocations().map((i) => i.seq)).toEqual([2, 3]);
    expect(observer.functionStats(['order-api'])[0]?.invocations).toBe(3);
  });
});

describe('timelineOf', () => {
  const event = (topic: string, offset: string, at: string): IndexedEvent => ({
    kind: 'event',
    at,
    topic,
    partition: 0,
    offset,
    key: 'o-1',
    eventType: 'OrderPlaced',
    eventId: null,
    correlationId: null,
    causationId: null,
    headers: {},
    valid: true,
  });

  it('puts the invocations that carried the order records, or named it, among its events, by time', async () => {
    // Prepare
    const observer = new RuntimeObserver();
    const observe = observer.kafkaObserver({
      logicalId: 'Esm1',
      topic: 'order.placed.v1',
      functionName: 'payment',
    });
    const result: InvokeResult = { ok: true, result: null, durationMs: 5 };
    observe({
      attempt: 1,
      startedAt: Date.parse('2026-01-01T00:00:02.000Z'),
      records: [{ partition: 0, from: 3, to: 6 }],
      result,
      outcome: 'success',
    });
    observe({
      attempt: 1,
      startedAt: Date.parse('2026-01-01T00:00:03.000Z'),
      records: [{ partition: 0, from: 7, to: 9 }],
      result,
      outcome: 'success',
    });
    await observer.wrap({ ...fakeLambda(result), name: 'order-api' }).invoke({
      version: '2.0',
      routeKey: 'GET /orders/{orderId}',
      rawPath: '/orders/o-1',
    });
    const events = [event('order.placed.v1', '5', '2026-01-01T00:00:01.000Z')];

    // Act
    const timeline = timelineOf('o-1', events, observer.invocations());

    // Assess
    expect(
      timeline.map((e) => (e.kind === 'event' ? e.eventType : e.function)),
    ).toEqual(['OrderPlaced', 'payment', 'order-api']);
    expect(timeline[1]).toMatchObject({
      mapping: 'order.placed.v1 -> payment',
      records: [
        { topic: 'order.placed.v1', partition: 0, offset: '3' },
        { topic: 'order.placed.v1', partition: 0, offset: '4' },
        { topic: 'order.placed.v1', partition: 0, offset: '5' },
        { topic: 'order.placed.v1', partition: 0, offset: '6' },
      ],
    });
    expect(timeline[2]).toMatchObject({ route: 'GET /orders/{orderId}' });
  });

  it('reads the order id of an order path', () => {
    expect(orderIdOfPath('/orders/o-1/cancel')).toBe('o-1');
    expect(orderIdOfPath('/orders')).toBeUndefined();
    expect(orderIdOfPath('/dead-letters/x')).toBeUndefined();
    expect(orderIdOfPath(null)).toBeUndefined();
  });
});

describe('isLocalHost', () => {
  it('accepts this machine by name, nothing else', () => {
    expect(isLocalHost('127.0.0.1:3000')).toBe(true);
    expect(isLocalHost('localhost:3000')).toBe(true);
    expect(isLocalHost('[::1]:3000')).toBe(true);
    expect(isLocalHost('rebound.example:3000')).toBe(false);
    expect(isLocalHost(undefined)).toBe(false);
  });
});
