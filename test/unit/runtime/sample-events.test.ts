/**
 * The events `npm run event` prints (local/runtime/sample-events.ts): that they have
 * the shapes Powertools' schemas parse, that they are the runtime's own events
 * (kafkaEvent, buildHttpEvent), and what a mistake says.
 */
import { APIGatewayProxyEventV2Schema } from '@aws-lambda-powertools/parser/schemas/api-gatewayv2';
import { EventBridgeSchema } from '@aws-lambda-powertools/parser/schemas/eventbridge';
import { KafkaMskEventSchema } from '@aws-lambda-powertools/parser/schemas/kafka';
import { describe, expect, it } from 'vitest';
import { OrderPlaced, PaymentInput } from '#domain/events.ts';
import { PlaceOrderRequest } from '#domain/order.ts';
import { kafkaEvent } from '../../../local/runtime/esm/records/kafka-event.ts';
import { packRecords } from '../../../local/runtime/esm/records/packed-records.ts';
import {
  newOrderId,
  parseCount,
  parseHeader,
  SampleEventError,
  sampleHttpEvent,
  sampleMskEvent,
  sampleOrderPlaced,
  sampleOrderRequest,
} from '../../../local/runtime/sample-events.ts';
import { scheduledEvent } from '../../../local/runtime/scheduled-event.ts';
import type { LocalRoute } from '../../../local/runtime/template.ts';

const BROKERS = ['127.0.0.1:9092', '127.0.0.1:9093'];

const ROUTES: LocalRoute[] = [
  {
    routeKey: 'POST /orders',
    functionLogicalId: 'OrderApi',
    authorizationType: 'NONE',
    payloadFormatVersion: '2.0',
  },
  {
    routeKey: 'GET /orders/{orderId}',
    functionLogicalId: 'OrderApi',
    authorizationType: 'NONE',
    payloadFormatVersion: '2.0',
  },
  {
    routeKey: 'GET /dead-letters/{id}',
    functionLogicalId: 'DlqAdmin',
    authorizationType: 'AWS_IAM',
    payloadFormatVersion: '2.0',
  },
];

describe('sampleMskEvent', () => {
  it('is the event kafkaEvent builds for the same records', () => {
    // Prepare
    const timestamp = 1_767_225_600_000;

    // Act
    const event = sampleMskEvent({
      topic: 'orders.v1',
      partition: 3,
      offset: 41,
      records: [
        { key: 'k', value: '{"a":1}', headers: [['source', 'api']] },
        { value: 'café', headers: [] },
      ],
      brokers: BROKERS,
      timestamp,
    });

    // Assess
    const expected = kafkaEvent(
      {
        eventSourceArn: event.eventSourceArn,
        bootstrapServers: BROKERS.join(','),
      },
      packRecords('orders.v1', 'CREATE_TIME', [
        {
          partition: 3,
          offset: 41,
          timestamp,
          key: Buffer.from('k'),
          value: Buffer.from('{"a":1}'),
          headers: { source: 'api' },
        },
        {
          partition: 3,
          offset: 42,
          timestamp,
          key: null,
          value: Buffer.from('café'),
        },
      ]),
    );
    expect(JSON.stringify(event)).toBe(JSON.stringify(expected));
    expect(event.eventSourceArn).toMatch(
      /^arn:aws:kafka:[^:]+:\d{12}:cluster\//,
    );
  });

  it('keeps a repeated header name as separate elements, in order', () => {
    // Act
    const event = sampleMskEvent({
      topic: 't',
      records: [
        {
          value: 'v',
          headers: [
            ['a', '1'],
            ['b', '2'],
            ['a', '3'],
          ],
        },
      ],
      brokers: BROKERS,
    });

    // Assess: kafkajs groups a repeated name, and so does the event (AWS keeps
    // each as an element of its own).
    expect(event.records['t-0']?.[0]?.headers).toEqual([
      { a: [49] },
      { a: [51] },
      { b: [50] },
    ]);
  });

  it('with a sample order, parses with Powertools and the payment function accepts the value', () => {
    // Prepare
    const record = sampleOrderPlaced(
      'order-1',
      new Date('2026-01-01T00:00:00Z'),
    );

    // Act
    const event = sampleMskEvent({
      topic: 'order.placed.v1',
      records: [record],
      brokers: BROKERS,
    });
    const parsed = KafkaMskEventSchema.parse(event);

    // Assess
    const [first] = parsed.records['order.placed.v1-0'] ?? [];
    expect(first?.key).toBe('order-1');
    expect(first?.offset).toBe(0);
    expect(first?.headers).toEqual([
      { 'event-type': 'OrderPlaced' },
      { 'correlation-id': 'event-order-1' },
      { 'content-type': 'application/json' },
    ]);
    const value = JSON.parse(first?.value ?? 'null') as unknown;
    const placed = OrderPlaced.parse(value);
    expect(placed.data.orderId).toBe('order-1');
    expect(placed.data.total).toEqual({ amount: 3998, currency: 'EUR' });
    expect(placed.occurredAt).toBe('2026-01-01T00:00:00.000Z');
    expect(PaymentInput.safeParse(value).success).toBe(true);
  });

  it('gives each sample order a fresh event id', () => {
    // Act
    const a = JSON.parse(sampleOrderPlaced('o').value) as OrderPlaced;
    const b = JSON.parse(sampleOrderPlaced('o').value) as OrderPlaced;

    // Assess
    expect(a.eventId).not.toBe(b.eventId);
  });
});

describe('sampleHttpEvent', () => {
  it('builds the payload 2.0 event of the matching route, which Powertools parses', () => {
    // Act
    const { event, route } = sampleHttpEvent(
      {
        method: 'get',
        path: '/orders/o%2D1?verbose=1&x=a%20b',
        headers: [['X-Correlation-Id', 'c-1']],
      },
      ROUTES,
    );

    // Assess
    expect(route.routeKey).toBe('GET /orders/{orderId}');
    expect(event.routeKey).toBe('GET /orders/{orderId}');
    expect(event.rawPath).toBe('/orders/o-1');
    expect(event.rawQueryString).toBe('verbose=1&x=a%20b');
    expect(event.queryStringParameters).toEqual({ verbose: '1', x: 'a b' });
    expect(event.pathParameters).toEqual({ orderId: 'o-1' });
    expect(event.headers['x-correlation-id']).toBe('c-1');
    expect(event.headers.host).toBe('127.0.0.1:3000');
    expect(event.body).toBeUndefined();
    expect(event.requestContext.authorizer).toBeUndefined();
    expect(() => APIGatewayProxyEventV2Schema.parse(event)).not.toThrow();
  });

  it('carries a JSON body with its content type and length; a given header wins', () => {
    // Prepare
    const body = JSON.stringify(sampleOrderRequest('o-2'));

    // Act
    const { event } = sampleHttpEvent(
      {
        method: 'POST',
        path: '/orders',
        headers: [['Content-Type', 'application/json; charset=utf-8']],
        body,
      },
      ROUTES,
    );

    // Assess
    expect(event.body).toBe(body);
    expect(event.isBase64Encoded).toBe(false);
    expect(event.headers['content-type']).toBe(
      'application/json; charset=utf-8',
    );
    expect(event.headers['content-length']).toBe(
      String(Buffer.byteLength(body)),
    );
    expect(PlaceOrderRequest.safeParse(JSON.parse(body)).success).toBe(true);
  });

  it('gives an admin (AWS_IAM) route the local operator, as the local API does', () => {
    // Act
    const { event, route } = sampleHttpEvent(
      { method: 'GET', path: '/dead-letters/dl-1', headers: [] },
      ROUTES,
    );

    // Assess
    expect(route.functionLogicalId).toBe('DlqAdmin');
    expect(event.requestContext.authorizer).toEqual({
      iam: expect.objectContaining({
        userArn: 'arn:aws:iam::000000000000:user/local-operator',
      }),
    });
  });

  it('refuses a request no route takes, naming the routes', () => {
    // Act
    const build = () =>
      sampleHttpEvent(
        { method: 'DELETE', path: '/orders', headers: [] },
        ROUTES,
      );

    // Assess
    expect(build).toThrow(SampleEventError);
    expect(build).toThrow(
      'no route matches DELETE /orders; the routes are POST /orders, GET /orders/{orderId}, GET /dead-letters/{id}',
    );
  });
});

describe('scheduledEvent', () => {
  it('parses with Powertools as an EventBridge event, time without milliseconds', () => {
    // Act
    const event = scheduledEvent(new Date('2026-01-01T10:20:30.456Z'));

    // Assess
    const parsed = EventBridgeSchema.parse(event);
    expect(parsed['detail-type']).toBe('Scheduled Event');
    expect(event.time).toBe('2026-01-01T10:20:30Z');
  });
});

describe('command-line values', () => {
  it.each([
    ['correlation-id=c-1', ['correlation-id', 'c-1']],
    ['Authorization: Bearer a=b', ['Authorization', 'Bearer a=b']],
    ['x-url=http://h:1/', ['x-url', 'http://h:1/']],
    ['empty=', ['empty', '']],
  ])('reads the header %s', (text, expected) => {
    expect(parseHeader(text)).toEqual(expected);
  });

  it.each(['novalue', '=v', 'a b=c', ': v'])(
    'refuses the header %s',
    (text) => {
      expect(() => parseHeader(text)).toThrow(
        /expected NAME=VALUE or 'NAME: VALUE'/,
      );
    },
  );

  it('reads counts, and refuses what is not a whole number from 0', () => {
    expect(parseCount('0', '--offset')).toBe(0);
    expect(parseCount('12', '--offset')).toBe(12);
    for (const text of ['-1', '1.5', '', 'x', '99999999999999999999']) {
      expect(() => parseCount(text, '--offset')).toThrow(
        `--offset ${text}: expected a whole number from 0`,
      );
    }
  });

  it('makes order ids the API accepts', () => {
    expect(newOrderId()).toMatch(/^order-[0-9a-f]{8}$/);
  });
});
