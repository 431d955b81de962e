/**
 * Bad input on every route of the order API answers 4xx problem+json and writes
 * nothing: not to DynamoDB, not to Kafka.
 */
import { randomUUID } from 'node:crypto';
import { DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import { Kafka, logLevel } from 'kafkajs';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { TOPICS } from '#domain/events.ts';
import { createTableInput, TABLES } from '#infra/tables.ts';
import { LOCAL_AWS } from '#platform/dynamodb.ts';
import { createTables, createTopics } from '#platform/platform.ts';
import { bodyOf, httpEvent } from './http.ts';
import { lambdaContext } from './msk.ts';
import { orderRequest } from './order-request.ts';

const brokers = inject('kafkaBrokers');
const endpoint = inject('dynamodbEndpoint');
const run = randomUUID().slice(0, 8);

Object.assign(process.env, {
  KAFKA_BROKERS: brokers.join(','),
  DYNAMODB_ENDPOINT: endpoint,
  AWS_REGION: 'us-east-1',
  AWS_ACCESS_KEY_ID: 'local',
  AWS_SECRET_ACCESS_KEY: 'local',
  ORDERS_TABLE: `api-orders-${run}`,
  IDEMPOTENCY_TABLE: `api-idempotency-${run}`,
  POWERTOOLS_LOG_LEVEL: 'ERROR',
});

type Result = {
  statusCode: number;
  headers?: Record<string, string>;
  body?: string;
};
let api: (event: unknown, context: unknown) => Promise<Result>;
const context = lambdaContext('order-api-test');

/** A valid order request, without an orderId (the server picks one). */
const { orderId: _none, ...valid } = orderRequest('unused');

async function itemCount(table: string): Promise<number> {
  const client = new DynamoDBClient({ endpoint, ...LOCAL_AWS });
  try {
    const result = await client.send(
      new ScanCommand({ TableName: table, Select: 'COUNT' }),
    );
    return result.Count ?? 0;
  } finally {
    client.destroy();
  }
}

async function orderPlacedOffsets(): Promise<number> {
  const admin = new Kafka({
    clientId: 'api-test',
    brokers,
    logLevel: logLevel.NOTHING,
  }).admin();
  await admin.connect();
  try {
    const offsets = await admin.fetchTopicOffsets(TOPICS.orderPlaced);
    return offsets.reduce((sum, p) => sum + Number(p.high), 0);
  } finally {
    await admin.disconnect();
  }
}

beforeAll(async () => {
  await createTopics(brokers, [{ name: TOPICS.orderPlaced, partitions: 3 }]);
  await createTables(endpoint, [
    createTableInput(TABLES.orders, `api-orders-${run}`),
    createTableInput(TABLES.idempotency, `api-idempotency-${run}`),
  ]);
  api = (await import('../../functions/order-api.ts')).handler as never;
});

describe('order API: bad input', () => {
  const cases: [string, () => unknown, number, string][] = [
    [
      'not JSON',
      () => httpEvent('POST', '/orders', '{"customerId":'),
      400,
      '/problems/invalid-json',
    ],
    [
      'wrong types',
      () =>
        httpEvent('POST', '/orders', {
          ...valid,
          items: [{ productId: 1, quantity: '2', unitPrice: 19.99 }],
        }),
      400,
      '/problems/validation',
    ],
    [
      'missing fields',
      () => httpEvent('POST', '/orders', { currency: 'EUR' }),
      400,
      '/problems/validation',
    ],
    [
      'unknown fields',
      () => httpEvent('POST', '/orders', { ...valid, total: 1 }),
      400,
      '/problems/validation',
    ],
    [
      'a float price',
      () =>
        httpEvent('POST', '/orders', {
          ...valid,
          items: [{ productId: 'a', quantity: 1, unitPrice: 1.5 }],
        }),
      400,
      '/problems/validation',
    ],
    [
      'an unknown currency',
      () => httpEvent('POST', '/orders', { ...valid, currency: 'XYZ' }),
      400,
      '/problems/validation',
    ],
    [
      'a bad orderId',
      () => httpEvent('POST', '/orders', { ...valid, orderId: 'has spaces' }),
      400,
      '/problems/validation',
    ],
    ...['', 'D', 'DEU', 'A1', 'é', 'ZZ'].map(
      (country): [string, () => unknown, number, string] => [
        `the country ${JSON.stringify(country)}`,
        () =>
          httpEvent('POST', '/orders', {
            ...valid,
            shippingAddress: { ...valid.shippingAddress, country },
          }),
        400,
        '/problems/validation',
      ],
    ),
    [
      'an empty body',
      () => httpEvent('POST', '/orders', ''),
      400,
      '/problems/invalid-json',
    ],
    [
      'no content type',
      () => ({ ...httpEvent('POST', '/orders', valid), headers: {} }),
      415,
      '/problems/unsupported-media-type',
    ],
    [
      'a body over 64 KiB',
      () =>
        httpEvent('POST', '/orders', {
          ...valid,
          customerId: 'x'.repeat(70_000),
        }),
      413,
      '/problems/payload-too-large',
    ],
    [
      'an unknown order',
      () => httpEvent('GET', '/orders/nope'),
      404,
      '/problems/order-not-found',
    ],
    [
      'an invalid order id',
      () => httpEvent('GET', '/orders/%20bad'),
      404,
      '/problems/order-not-found',
    ],
    [
      'the events of an unknown order',
      () => httpEvent('GET', '/orders/nope/events'),
      404,
      '/problems/order-not-found',
    ],
    [
      'a cancel of an unknown order',
      () => httpEvent('POST', '/orders/nope/cancel', { reason: 'x' }),
      404,
      '/problems/order-not-found',
    ],
    [
      'a cancel without reason',
      () => httpEvent('POST', '/orders/nope/cancel', {}),
      400,
      '/problems/validation',
    ],
    [
      'an unknown route',
      () => httpEvent('GET', '/nowhere'),
      404,
      '/problems/route-not-found',
    ],
  ];

  it.each(cases)(
    'refuses %s with %i problem+json and writes nothing',
    async (_, event, status, type) => {
      // Prepare
      const before = {
        orders: await itemCount(`api-orders-${run}`),
        events: await orderPlacedOffsets(),
      };

      // Act
      const response = await api(event(), context);

      // Assess
      expect(response.statusCode).toBe(status);
      expect(response.headers?.['content-type']).toBe(
        'application/problem+json',
      );
      const problem = bodyOf(response as never);
      expect(problem).toMatchObject({ type, status });
      expect(typeof problem.title).toBe('string');
      expect(await itemCount(`api-orders-${run}`)).toBe(before.orders);
      expect(await orderPlacedOffsets()).toBe(before.events);
    },
  );

  it('lists every failing field', async () => {
    // Act
    const response = await api(
      httpEvent('POST', '/orders', {
        ...valid,
        currency: 'EURO',
        items: [{ productId: '', quantity: 0, unitPrice: -1 }],
      }),
      context,
    );

    // Assess
    const fields = (
      bodyOf(response as never).errors as { field: string }[]
    ).map((e) => e.field);
    expect(fields).toEqual(
      expect.arrayContaining([
        'currency',
        'items.0.productId',
        'items.0.quantity',
        'items.0.unitPrice',
      ]),
    );
  });
});

describe('order API: Idempotency-Key', () => {
  it('answers the first response again for the same key and body, and 422 for another body', async () => {
    // Prepare
    const key = randomUUID();
    const body = { ...valid, orderId: `idem-${run}` };
    const before = await orderPlacedOffsets();

    // Act
    const first = await api(
      httpEvent('POST', '/orders', body, { 'idempotency-key': key }),
      context,
    );
    const again = await api(
      httpEvent('POST', '/orders', body, { 'idempotency-key': key }),
      context,
    );
    const other = await api(
      httpEvent(
        'POST',
        '/orders',
        { ...body, customerId: 'someone-else' },
        { 'idempotency-key': key },
      ),
      context,
    );

    // Assess
    expect([201, 202]).toContain(first.statusCode);
    expect(first.headers?.location).toBe(`/orders/idem-${run}`);
    expect(again.statusCode).toBe(first.statusCode);
    expect(again.body).toBe(first.body);
    expect(other.statusCode).toBe(422);
    expect(bodyOf(other as never).type).toBe(
      '/problems/idempotency-key-reused',
    );
    expect(await orderPlacedOffsets()).toBe(before + 1);
  });

  it('answers 409 for an orderId that exists, without a key', async () => {
    // Prepare
    const body = { ...valid, orderId: `dup-${run}` };
    await api(httpEvent('POST', '/orders', body), context);

    // Act
    const second = await api(httpEvent('POST', '/orders', body), context);

    // Assess
    expect(second.statusCode).toBe(409);
    expect(bodyOf(second as never).type).toBe('/problems/order-exists');
  });

  it('places an order again over one the API gave up (fenced) that the relay has not voided yet', async () => {
    // Prepare: a creation that landed after its request was answered 503 and fenced.
    const { createDocumentClient } = await import('#commons/dynamodb.ts');
    const { createOrderRepository } = await import(
      '#commons/order-repository.ts'
    );
    const { placeOrder } = await import('#domain/order.ts');
    const orders = createOrderRepository(
      createDocumentClient(
        { endpoint, region: LOCAL_AWS.region },
        { credentials: LOCAL_AWS.credentials },
      ),
      `api-orders-${run}`,
    );
    const orderId = `given-up-${run}`;
    const body = { ...valid, orderId };
    const earlier = placeOrder(
      body as never,
      { correlationId: 'c-1', causationId: null },
      { now: () => new Date(), uuid: randomUUID },
    );
    await orders.create(earlier.order, earlier.event, { settleBy: Date.now() });
    await orders.fence(orderId, earlier.event.eventId);

    // Act: the client's retry.
    const retry = await api(httpEvent('POST', '/orders', body), context);

    // Assess: placed anew, not 409; the earlier event is gone from its history.
    expect([201, 202]).toContain(retry.statusCode);
    const stored = await orders.get(orderId);
    expect(stored?.appliedEventIds.has(earlier.event.eventId)).toBe(false);
    expect(stored?.settlement?.fenced).toBe(false);
  });
});

describe('order API: health', () => {
  it('reports Kafka and the store up', async () => {
    const response = await api(httpEvent('GET', '/health'), context);
    expect(response.statusCode).toBe(200);
    expect(bodyOf(response as never)).toEqual({
      status: 'ok',
      checks: { kafka: 'up', store: 'up' },
    });
  });
});

describe('order API: Kafka down', () => {
  it('answers 202: the order is stored with its event in the outbox, for the relay', async () => {
    // Prepare: the real store, and a publisher whose broker does not exist.
    const { createOrderApi } = await import('../../functions/order-api.ts');
    const { createKafkaPublisher } = await import(
      '#commons/kafka-publisher.ts'
    );
    const { createPublishBreaker } = await import(
      '#commons/circuit-breaker.ts'
    );
    const { createDocumentClient } = await import('#commons/dynamodb.ts');
    const { createOrderRepository } = await import(
      '#commons/order-repository.ts'
    );
    const { createLogger } = await import('#commons/observability.ts');
    const { freePort } = await import('#platform/ports.ts');
    const deadBroker = `127.0.0.1:${await freePort()}`;
    const publisher = createPublishBreaker(
      createKafkaPublisher(
        {
          brokers: [deadBroker],
          clusterArn: undefined,
          auth: 'none',
          clientId: 'down-test',
          region: 'us-east-1',
        },
        { connectionTimeout: 200, retry: { retries: 0 } },
      ),
      { failureThreshold: 2, resetTimeoutMs: 60_000 },
    );
    const orders = createOrderRepository(
      createDocumentClient(
        { endpoint, region: LOCAL_AWS.region },
        { credentials: LOCAL_AWS.credentials },
      ),
      `api-orders-${run}`,
    );
    const down = createOrderApi({
      orders,
      publisher,
      clock: { now: () => new Date(), uuid: randomUUID },
      logger: createLogger('order'),
      ready: async () => ({ kafka: publisher.state() !== 'open', store: true }),
    });
    const call = (orderId: string) =>
      down(
        httpEvent('POST', '/orders', { ...valid, orderId }),
        context,
      ) as Promise<Result>;

    // Act
    const first = await call(`down-1-${run}`);
    const second = await call(`down-2-${run}`);
    const third = await call(`down-3-${run}`);
    const cancel = (await down(
      httpEvent('POST', `/orders/down-3-${run}/cancel`, { reason: 'test' }),
      context,
    )) as Result;
    const health = (await down(httpEvent('GET', '/health'), context)) as Result;

    // Assess: 202 each time; each order stored, not given up, its events waiting.
    for (const response of [first, second, third]) {
      expect(response.statusCode).toBe(202);
      expect(bodyOf(response as never).status).toBe('PENDING');
    }
    for (const orderId of ['down-1', 'down-2']) {
      const stored = await orders.get(`${orderId}-${run}`);
      expect(stored?.outbox.map((e) => e.eventType)).toEqual(['OrderPlaced']);
      expect(stored?.settlement?.fenced).toBe(false);
    }
    expect(cancel.statusCode).toBe(202);
    const cancelled = await orders.get(`down-3-${run}`);
    expect(cancelled?.order.status).toBe('CANCELLED');
    expect(cancelled?.outbox.map((e) => e.eventType)).toEqual([
      'OrderPlaced',
      'OrderCancelled',
    ]);
    expect(cancelled?.settlement?.fenced).toBe(false);
    // After two failures the breaker is open: later publishes fail at once.
    expect(publisher.state()).toBe('open');
    expect(health.statusCode).toBe(503);
  });
});
