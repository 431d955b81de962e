/**
 * The handlers, invoked as Lambda would invoke them, against the real broker and
 * DynamoDB Local: HTTP events for the API, and MSK events built from records actually
 * read from Kafka for the consumers.
 */
import { createHash, randomUUID } from 'node:crypto';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { CONSUMED_TOPICS, deadLetterTopic, TOPICS } from '#domain/events.ts';
import { createTableInput, TABLES } from '#infra/tables.ts';
import { createTables, createTopics } from '#platform/platform.ts';
import { pollUntil } from '#platform/wait.ts';
import { bodyOf, httpEvent } from './http.ts';
import {
  lambdaContext,
  mskEvent,
  type ReadRecord,
  recordTopics,
  type TopicRecorder,
} from './msk.ts';
import { orderRequest as order } from './order-request.ts';

const brokers = inject('kafkaBrokers');
const endpoint = inject('dynamodbEndpoint');
const run = randomUUID().slice(0, 8);

// Configuration as the stack sets it, pointed at the local broker and DynamoDB Local.
Object.assign(process.env, {
  KAFKA_BROKERS: brokers.join(','),
  DYNAMODB_ENDPOINT: endpoint,
  AWS_REGION: 'us-east-1',
  AWS_ACCESS_KEY_ID: 'local',
  AWS_SECRET_ACCESS_KEY: 'local',
  ORDERS_TABLE: `orders-${run}`,
  PAYMENTS_TABLE: `payments-${run}`,
  DEAD_LETTERS_TABLE: `dead-letters-${run}`,
  IDEMPOTENCY_TABLE: `idempotency-${run}`,
  POWERTOOLS_LOG_LEVEL: 'WARN',
  POWERTOOLS_METRICS_DISABLED: 'true',
  GATEWAY_TRANSIENT_FAILURES: '3',
  PAYMENT_RETRY_ATTEMPTS: '2',
  PAYMENT_RETRY_BASE_MS: '10',
  REDRIVE_BASE_DELAY_MS: '200',
  REDRIVE_MAX_DELAY_MS: '1000',
});

type Handler = (event: unknown, context: unknown) => Promise<unknown>;
let api: Handler;
let orderEvents: Handler;
let payment: Handler;
let reprocessor: Handler;
let scheduled: Handler;
let admin: Handler;

/** A fresh Lambda context per invocation, as Lambda gives. */
const ctx = () => lambdaContext('test');

const keyIs = (orderId: string) => (r: ReadRecord) =>
  r.message.key?.toString() === orderId;

let recorder: TopicRecorder;

/** Waits until `topic` holds `count` records keyed by `orderId`, and returns them. */
async function recordsOf(topic: string, orderId: string, count = 1) {
  const records = await recorder.waitFor(
    topic,
    (all) => all.filter(keyIs(orderId)).length >= count,
  );
  return records.filter(keyIs(orderId));
}

async function placeOrder(orderId: string, unitPrice?: number) {
  const response = (await api(
    httpEvent('POST', '/orders', order(orderId, unitPrice)),
    ctx(),
  )) as { statusCode: number };
  expect([201, 202]).toContain(response.statusCode);
  return recordsOf(TOPICS.orderPlaced, orderId);
}

async function getOrder(orderId: string) {
  return bodyOf(
    (await api(httpEvent('GET', `/orders/${orderId}`), ctx())) as never,
  );
}

/** The id the reprocessor gives the dead letter read from this record. */
function letterId(record: ReadRecord): string {
  return `${record.topic}:${record.partition}:${record.message.offset}`;
}

interface ShownLetter {
  status: string;
  original: Record<string, unknown>;
  history: Record<string, unknown>[];
}

async function getLetter(id: string): Promise<ShownLetter> {
  const response = (await admin(
    httpEvent('GET', `/dead-letters/${encodeURIComponent(id)}`),
    ctx(),
  )) as { statusCode: number };
  expect(response.statusCode).toBe(200);
  return bodyOf(response as never) as unknown as ShownLetter;
}

beforeAll(async () => {
  await createTopics(brokers, [
    ...Object.values(TOPICS).map((name) => ({ name, partitions: 3 })),
    ...CONSUMED_TOPICS.map((t) => ({
      name: deadLetterTopic(t),
      partitions: 3,
    })),
  ]);
  await createTables(
    endpoint,
    Object.values(TABLES).map((spec) =>
      createTableInput(spec, process.env[spec.envVar] as string),
    ),
  );
  recorder = await recordTopics(brokers, [
    ...Object.values(TOPICS),
    deadLetterTopic(TOPICS.orderPlaced),
    deadLetterTopic(TOPICS.paymentProcessed),
    deadLetterTopic(TOPICS.paymentRefunded),
  ]);
  api = (await import('../../functions/order-api.ts')).handler as Handler;
  orderEvents = (await import('../../functions/order-events.ts'))
    .handler as Handler;
  payment = (await import('../../functions/payment.ts')).handler as Handler;
  const dlq = await import('../../functions/dlq-reprocessor.ts');
  reprocessor = dlq.handler as Handler;
  scheduled = dlq.scheduledHandler as Handler;
  admin = dlq.adminHandler as Handler;
});

afterAll(async () => {
  await recorder.stop();
});

describe('order, payment and order-events handlers', () => {
  it('places an order that becomes PAID, charged once though delivered three times', async () => {
    // Prepare
    const orderId = `ok-${run}`;
    const placed = await placeOrder(orderId);

    // Act: the same OrderPlaced, three times.
    for (let i = 0; i < 3; i += 1) {
      expect(await payment(mskEvent(brokers, placed), ctx())).toEqual({
        batchItemFailures: [],
      });
    }
    const processed = await recordsOf(TOPICS.paymentProcessed, orderId);
    const foldTwice = mskEvent(brokers, [...processed, ...processed]);
    expect(await orderEvents(foldTwice, ctx())).toEqual({
      batchItemFailures: [],
    });

    // Assess
    const header = (r: ReadRecord, name: string) =>
      r.message.headers?.[name]?.toString();
    expect(header(placed[0] as ReadRecord, 'event-type')).toBe('OrderPlaced');
    const again = await recorder.all(TOPICS.paymentProcessed);
    expect(again.filter(keyIs(orderId))).toHaveLength(1);
    expect(await getOrder(orderId)).toMatchObject({
      status: 'PAID',
      version: 2,
      total: { amount: 3998, currency: 'EUR' },
    });
    const shipping = await recorder.all(TOPICS.shippingRequested);
    expect(shipping.filter(keyIs(orderId))).toHaveLength(1);
  });

  it.each([
    ['decline', 'GATEWAY_DECLINED', 1999],
    ['suspicious', 'FRAUD_SUSPECTED', 1999],
    ['big', 'AMOUNT_LIMIT_EXCEEDED', 60_000],
  ])('ends a %s order PAYMENT_FAILED (%s)', async (prefix, reason, price) => {
    // Prepare
    const orderId = `${prefix}-${run}`;
    const placed = await placeOrder(orderId, price);

    // Act
    await payment(mskEvent(brokers, placed), ctx());
    const failed = await recordsOf(TOPICS.paymentFailed, orderId);
    await orderEvents(mskEvent(brokers, failed), ctx());

    // Assess
    expect(await getOrder(orderId)).toMatchObject({
      status: 'PAYMENT_FAILED',
      statusReason: reason,
    });
  });

  it('refunds a cancelled paid order once', async () => {
    // Prepare: a PAID order.
    const orderId = `refund-${run}`;
    const placed = await placeOrder(orderId);
    await payment(mskEvent(brokers, placed), ctx());
    await orderEvents(
      mskEvent(brokers, await recordsOf(TOPICS.paymentProcessed, orderId)),
      ctx(),
    );

    // Act
    const cancel = (await api(
      httpEvent('POST', `/orders/${orderId}/cancel`, {
        reason: 'changed my mind',
      }),
      ctx(),
    )) as { statusCode: number };
    const cancelled = await recordsOf(TOPICS.orderCancelled, orderId);
    await payment(mskEvent(brokers, [...cancelled, ...cancelled]), ctx());
    await payment(mskEvent(brokers, cancelled), ctx());
    const refunded = await recordsOf(TOPICS.paymentRefunded, orderId);
    await orderEvents(mskEvent(brokers, refunded), ctx());

    // Assess
    expect([200, 202]).toContain(cancel.statusCode);
    const all = await recorder.all(TOPICS.paymentRefunded);
    expect(all.filter(keyIs(orderId))).toHaveLength(1);
    expect(await getOrder(orderId)).toMatchObject({ status: 'REFUNDED' });
  });
});

describe('dead letters', () => {
  const producer = new Kafka({
    clientId: 'dead-letter-test',
    brokers,
    logLevel: logLevel.NOTHING,
  }).producer({ idempotent: true }); // a retried send appends nothing twice

  it('parks a poison record in <topic>.dead-letter, stores it, and redrives it corrected', async () => {
    // Prepare: a record on order.placed.v1 that is not an event.
    const orderId = `poison-${run}`;
    await producer.connect();
    await producer.send({
      topic: TOPICS.orderPlaced,
      messages: [
        {
          key: orderId,
          value: '{"eventType":"OrderPlaced","broken":true}',
          headers: { 'correlation-id': `corr-${orderId}` },
        },
      ],
    });
    await producer.disconnect();
    const poison = await recordsOf(TOPICS.orderPlaced, orderId);

    // Act 1: the payment consumer meets it.
    const response = await payment(mskEvent(brokers, poison), ctx());
    const letters = await recordsOf(
      deadLetterTopic(TOPICS.orderPlaced),
      orderId,
    );
    await reprocessor(mskEvent(brokers, letters), ctx());

    // Assess 1: dead-lettered with its metadata, the batch went on, stored PARKED.
    expect(response).toEqual({ batchItemFailures: [] });
    const letter = letters[0] as ReadRecord;
    const id = `${letter.topic}:${letter.partition}:${letter.message.offset}`;
    const shown = bodyOf(
      (await admin(
        httpEvent('GET', `/dead-letters/${encodeURIComponent(id)}`),
        ctx(),
      )) as never,
    );
    expect(shown).toMatchObject({
      id,
      status: 'PARKED',
      source: 'consumer',
      consumer: 'payment',
      correlationId: `corr-${orderId}`,
      error: { class: 'poison' },
      original: {
        topic: TOPICS.orderPlaced,
        partition: poison[0]?.partition,
        offset: poison[0]?.message.offset,
        keyText: orderId,
      },
    });
    const parked = bodyOf(
      (await admin(
        httpEvent('GET', '/dead-letters?status=PARKED'),
        ctx(),
      )) as never,
    );
    expect((parked.items as { id: string }[]).map((i) => i.id)).toContain(id);

    // Act 2: an operator first sends a correction that breaks the contract.
    const refused = (await admin(
      httpEvent('POST', `/dead-letters/${encodeURIComponent(id)}/redrive`, {
        value: { eventType: 'OrderPlaced' },
      }),
      ctx(),
    )) as { statusCode: number; headers: Record<string, string> };
    expect(refused.statusCode).toBe(400);
    expect(refused.headers['content-type']).toBe('application/problem+json');
    expect(
      bodyOf(
        (await admin(
          httpEvent('GET', `/dead-letters/${encodeURIComponent(id)}`),
          ctx(),
        )) as never,
      ).status,
    ).toBe('PARKED');

    // Act 3: then redrives it with a proper corrected value.
    const corrected = JSON.parse(
      (
        await recordsOf(TOPICS.orderPlaced, `ok-${run}`)
      )[0]?.message.value?.toString() ?? '{}',
    );
    corrected.data.orderId = orderId;
    const redriven = (await admin(
      httpEvent('POST', `/dead-letters/${encodeURIComponent(id)}/redrive`, {
        value: corrected,
        note: 'fixed the payload',
      }),
      ctx(),
    )) as { statusCode: number };

    // Assess 3: the corrected event is back on its topic, with the attempt counted.
    expect(redriven.statusCode).toBe(200);
    const back = await recordsOf(TOPICS.orderPlaced, orderId, 2);
    const last = back.at(-1) as ReadRecord;
    expect(
      JSON.parse(last.message.value?.toString() ?? '{}').data.orderId,
    ).toBe(orderId);
    expect(last.message.headers?.['redrive-attempt']?.toString()).toBe('1');
    expect(last.message.headers?.['correlation-id']?.toString()).toBe(
      `corr-${orderId}`,
    );

    // Act 4: a second redrive of a letter already REDRIVEN.
    const twice = (await admin(
      httpEvent('POST', `/dead-letters/${encodeURIComponent(id)}/redrive`, {}),
      ctx(),
    )) as { statusCode: number };

    // Assess 4: refused, and nothing more was sent.
    expect(twice.statusCode).toBe(409);
    const onTopic = await recorder.all(TOPICS.orderPlaced);
    expect(onTopic.filter(keyIs(orderId))).toHaveLength(2);
  });

  it('keeps the original of a corrected redrive, and links the letter it comes back as', async () => {
    // Prepare: a PaymentRefunded that is not an event, which the order function
    // dead-letters, and the reprocessor stores PARKED as letter A.
    const orderId = `relapse-${run}`;
    const broken = '{"eventType":"PaymentRefunded","broken":true}';
    await producer.connect();
    await producer.send({
      topic: TOPICS.paymentRefunded,
      messages: [
        {
          key: orderId,
          value: broken,
          headers: { 'correlation-id': `corr-${orderId}` },
        },
      ],
    });
    await producer.disconnect();
    const poison = await recordsOf(TOPICS.paymentRefunded, orderId);
    await orderEvents(mskEvent(brokers, poison), ctx());
    const deadLetters = deadLetterTopic(TOPICS.paymentRefunded);
    const [first] = await recordsOf(deadLetters, orderId);
    await reprocessor(mskEvent(brokers, [first as ReadRecord]), ctx());
    const idA = letterId(first as ReadRecord);
    const before = await getLetter(idA);
    // A corrected value that keeps the contract, a refund for an order that does not
    // exist and was never charged: the order function dead-letters it again.
    const corrected = {
      eventId: randomUUID(),
      eventType: 'PaymentRefunded',
      version: 1,
      occurredAt: new Date().toISOString(),
      correlationId: `corr-${orderId}`,
      causationId: null,
      data: {
        orderId,
        paymentId: randomUUID(),
        refundId: randomUUID(),
        amount: { amount: 3998, currency: 'EUR' },
      },
    };
    const correctedText = JSON.stringify(corrected);

    // Act 1: the operator redrives A corrected; it fails again and comes back as B.
    const redriven = (await admin(
      httpEvent('POST', `/dead-letters/${encodeURIComponent(idA)}/redrive`, {
        value: corrected,
        note: 'fixed the payload',
      }),
      ctx(),
    )) as { statusCode: number };
    const sent = (await recordsOf(TOPICS.paymentRefunded, orderId, 2)).at(
      -1,
    ) as ReadRecord;
    await orderEvents(mskEvent(brokers, [sent]), ctx());
    const second = (await recordsOf(deadLetters, orderId, 2)).at(
      -1,
    ) as ReadRecord;
    await reprocessor(mskEvent(brokers, [second]), ctx());
    const idB = letterId(second);

    // Assess 1: A's original is as received; its history holds the correction and
    // the outcome; the record sent carried the link; B links back to A.
    expect(redriven.statusCode).toBe(200);
    const header = (name: string) => sent.message.headers?.[name]?.toString();
    expect(header('redriven-from')).toBe(idA);
    expect(header('redrive-lineage')).toBe(idA);
    expect(header('redrive-attempt')).toBe('1');
    expect(header('correlation-id')).toBe(`corr-${orderId}`);
    const a = await getLetter(idA);
    expect(before.status).toBe('PARKED');
    expect(a.original).toEqual(before.original);
    expect(a.original).toMatchObject({ valueText: broken });
    expect(a).toMatchObject({
      status: 'REDRIVEN',
      redrivenFrom: null,
      lineageId: idA,
      redrivenTo: [idB],
    });
    expect(a.history.at(-1)).toMatchObject({
      action: 'REDRIVEN',
      note: 'fixed the payload',
      correction: {
        valueText: correctedText,
        sha256: createHash('sha256').update(correctedText).digest('hex'),
      },
      outcome: { result: 'SENT', topic: TOPICS.paymentRefunded, attempt: 1 },
    });
    const b = await getLetter(idB);
    expect(b).toMatchObject({
      status: 'PARKED',
      error: { class: 'poison' },
      attempt: 1,
      redrivenFrom: idA,
      lineageId: idA,
      redrivenTo: [],
      original: {
        topic: TOPICS.paymentRefunded,
        offset: sent.message.offset,
        valueText: correctedText,
      },
    });

    // Act 2: B redriven as it is: the chain goes on from B, still A's lineage.
    const again = (await admin(
      httpEvent('POST', `/dead-letters/${encodeURIComponent(idB)}/redrive`),
      ctx(),
    )) as { statusCode: number };
    const third = (await recordsOf(TOPICS.paymentRefunded, orderId, 3)).at(
      -1,
    ) as ReadRecord;

    // Assess 2
    expect(again.statusCode).toBe(200);
    expect(third.message.value?.toString()).toBe(correctedText);
    expect(third.message.headers?.['redriven-from']?.toString()).toBe(idB);
    expect(third.message.headers?.['redrive-lineage']?.toString()).toBe(idA);
    expect(third.message.headers?.['redrive-attempt']?.toString()).toBe('2');
    expect((await getLetter(idB)).history.at(-1)).toMatchObject({
      action: 'REDRIVEN',
      correction: null,
    });
  });

  it('stores a letter redriven from one that is not stored, with its link', async () => {
    // Prepare: a poison record that says it was redriven from an unknown letter.
    const orderId = `orphan-${run}`;
    const unknown = `${deadLetterTopic(TOPICS.paymentProcessed)}:0:${Date.now()}`;
    await producer.connect();
    await producer.send({
      topic: TOPICS.paymentProcessed,
      messages: [
        {
          key: orderId,
          value: '{"not":"an event"}',
          headers: { 'redriven-from': unknown },
        },
      ],
    });
    await producer.disconnect();
    const poison = await recordsOf(TOPICS.paymentProcessed, orderId);
    await orderEvents(mskEvent(brokers, poison), ctx());
    const [dead] = await recordsOf(
      deadLetterTopic(TOPICS.paymentProcessed),
      orderId,
    );

    // Act
    const response = await reprocessor(
      mskEvent(brokers, [dead as ReadRecord]),
      ctx(),
    );

    // Assess: stored and linked back all the same; the batch went on.
    expect(response).toEqual({ batchItemFailures: [] });
    expect(await getLetter(letterId(dead as ReadRecord))).toMatchObject({
      status: 'PARKED',
      redrivenFrom: unknown,
      lineageId: unknown,
    });
  });

  it('redrives a transient failure after its backoff, and then it succeeds', async () => {
    // Prepare: a 'flaky' order whose charge fails 3 times; 2 tries per invocation.
    const orderId = `flaky-${run}`;
    const placed = await placeOrder(orderId);
    const first = await payment(mskEvent(brokers, placed), ctx());
    const record = placed[0] as ReadRecord;
    expect(first).toEqual({
      batchItemFailures: [
        {
          itemIdentifier: {
            partition: `${TOPICS.orderPlaced}-${record.partition}`,
            offset: Number(record.message.offset),
          },
        },
      ],
    });
    // The ESM gives up and writes its on-failure record (docs/aws-kafka-esm.md,
    // On-failure destinations).
    const failedEvent = mskEvent(brokers, placed);
    await producer.connect();
    await producer.send({
      topic: deadLetterTopic(TOPICS.orderPlaced),
      messages: [
        {
          key: orderId,
          value: JSON.stringify({
            requestContext: {
              requestId: randomUUID(),
              functionArn:
                'arn:aws:lambda:us-east-1:111122223333:function:payment:$LATEST',
              condition: 'RetriesExhausted',
              approximateInvokeCount: 3,
            },
            responseContext: {
              statusCode: 200,
              executedVersion: '$LATEST',
              functionError: 'Unhandled',
            },
            version: '1.0',
            timestamp: new Date().toISOString(),
            KafkaBatchInfo: {
              batchSize: 1,
              eventSourceArn: failedEvent.eventSourceArn,
              bootstrapServers: failedEvent.bootstrapServers,
              payloadSize: 1162,
              recordInfo: {
                offset: record.message.offset,
                timestamp: new Date(
                  Number(record.message.timestamp),
                ).toISOString(),
              },
            },
            payload: failedEvent,
          }),
        },
      ],
    });
    await producer.disconnect();
    const letters = await recordsOf(
      deadLetterTopic(TOPICS.orderPlaced),
      orderId,
    );

    // Act
    await reprocessor(mskEvent(brokers, letters), ctx());
    const letter = letters[0] as ReadRecord;
    const id = `${letter.topic}:${letter.partition}:${letter.message.offset}`;
    const stored = bodyOf(
      (await admin(
        httpEvent('GET', `/dead-letters/${encodeURIComponent(id)}`),
        ctx(),
      )) as never,
    );
    const redriveAt = Date.parse(String(stored.redriveAt));
    const early = (await scheduled({}, ctx())) as { redriven: number };
    await pollUntil(() => (Date.now() >= redriveAt ? true : undefined), 5_000);
    const due = (await scheduled({}, ctx())) as { redriven: number };
    const back = await recordsOf(TOPICS.orderPlaced, orderId, 2);
    const second = await payment(
      mskEvent(brokers, [back.at(-1) as ReadRecord]),
      ctx(),
    );

    // Assess
    expect(stored).toMatchObject({
      status: 'SCHEDULED',
      source: 'event-source-mapping',
      error: { class: 'transient' },
    });
    expect(early.redriven).toBe(0);
    expect(due.redriven).toBeGreaterThanOrEqual(1);
    expect(second).toEqual({ batchItemFailures: [] });
    expect(back.at(-1)?.message.headers?.['redriven-from']?.toString()).toBe(
      id,
    );
    const processed = await recordsOf(TOPICS.paymentProcessed, orderId);
    expect(processed).toHaveLength(1);
  });
});

describe('dead-letter admin routes: bad input', () => {
  const cases: [string, () => unknown, number, string][] = [
    [
      'an unknown status',
      () => httpEvent('GET', '/dead-letters?status=LOST'),
      400,
      '/problems/validation',
    ],
    [
      'a zero limit',
      () => httpEvent('GET', '/dead-letters?limit=0'),
      400,
      '/problems/validation',
    ],
    [
      'a forged cursor',
      () => httpEvent('GET', '/dead-letters?status=PARKED&cursor=bm9wZQ'),
      400,
      '/problems/invalid-cursor',
    ],
    [
      'an unknown id',
      () => httpEvent('GET', '/dead-letters/nope'),
      404,
      '/problems/dead-letter-not-found',
    ],
    [
      'a redrive of an unknown id',
      () => httpEvent('POST', '/dead-letters/nope/redrive', {}),
      404,
      '/problems/dead-letter-not-found',
    ],
    [
      'a discard without reason',
      () => httpEvent('POST', '/dead-letters/nope/discard', {}),
      400,
      '/problems/validation',
    ],
    [
      'a discard of an unknown id',
      () => httpEvent('POST', '/dead-letters/nope/discard', { reason: 'x' }),
      404,
      '/problems/dead-letter-not-found',
    ],
    [
      'a bulk redrive without ids',
      () => httpEvent('POST', '/dead-letters/redrive', { ids: [] }),
      400,
      '/problems/validation',
    ],
    [
      'bad JSON',
      () => httpEvent('POST', '/dead-letters/redrive', '{"ids":'),
      400,
      '/problems/invalid-json',
    ],
    [
      'a body over 64 KiB',
      () =>
        httpEvent('POST', '/dead-letters/redrive', {
          ids: ['x'.repeat(70_000)],
        }),
      413,
      '/problems/payload-too-large',
    ],
  ];

  it.each(cases)(
    'refuses %s with %i problem+json',
    async (_, event, status, type) => {
      // Act
      const response = (await admin(event(), ctx())) as {
        statusCode: number;
        headers: Record<string, string>;
      };

      // Assess
      expect(response.statusCode).toBe(status);
      expect(response.headers['content-type']).toBe('application/problem+json');
      expect(bodyOf(response as never)).toMatchObject({ type, status });
    },
  );
});
