import { Logger } from '@aws-lambda-powertools/logger';
import { marshall } from '@aws-sdk/util-dynamodb';
import type { Context, DynamoDBRecord } from 'aws-lambda';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import type { EventPublisher } from '#commons/kafka-publisher.ts';
import type {
  OrderRepository,
  StoredOrder,
} from '#commons/order-repository.ts';
import {
  FENCE_ARRIVAL_GRACE_MS,
  SETTLE_GRACE_MS,
} from '#commons/settled-write.ts';
import { placeOrder } from '#domain/order.ts';
import { outboxWrite } from '../../functions/use-cases/relay-outbox.ts';
import { validOrderRequest } from '../http-arbitraries.ts';
import { fixedClock } from './domain/fixtures.ts';

let relayModule: typeof import('../../functions/outbox-relay.ts');

beforeAll(async () => {
  vi.stubEnv('KAFKA_BROKERS', '127.0.0.1:1');
  vi.stubEnv('ORDERS_TABLE', 'orders-unit');
  vi.stubEnv('POWERTOOLS_METRICS_DISABLED', 'true');
  relayModule = await import('../../functions/outbox-relay.ts');
});

const { order, event: placed } = placeOrder(
  validOrderRequest('o-1') as never,
  { correlationId: 'c-1', causationId: null },
  fixedClock(),
);

function streamRecord(
  eventName: 'INSERT' | 'MODIFY' | 'REMOVE',
  image: Record<string, unknown> | undefined,
  sequence = '100',
  appliedAtSeconds?: number,
): DynamoDBRecord {
  return {
    eventName,
    dynamodb: {
      SequenceNumber: sequence,
      ...(appliedAtSeconds === undefined
        ? {}
        : { ApproximateCreationDateTime: appliedAtSeconds }),
      ...(image
        ? {
            NewImage: marshall(image, {
              removeUndefinedValues: true,
            }) as never,
          }
        : {}),
    },
  };
}

const snapshot = (extra: Record<string, unknown> = {}) => ({
  pk: 'ORDER#o-1',
  sk: 'SNAPSHOT',
  ...order,
  outbox: [placed],
  ...extra,
});

/** A store that answers `get` with `stored` and records every write. */
function fakes(stored: StoredOrder | undefined, voided = 'voided') {
  const calls: string[] = [];
  const published: unknown[] = [];
  const orders = {
    get: async () => {
      calls.push('get');
      return stored;
    },
    clearOutbox: async () => {
      calls.push('clearOutbox');
      return true;
    },
    voidWrite: async () => {
      calls.push('voidWrite');
      return voided;
    },
  } as unknown as OrderRepository;
  const publisher = {
    publish: async (events: readonly unknown[]) => {
      calls.push('publish');
      published.push(...events);
    },
  } as unknown as EventPublisher;
  return { orders, publisher, calls, published };
}

const logger = new Logger({ logLevel: 'SILENT' });
const context = { getRemainingTimeInMillis: () => 60_000 } as Context;

function relay(deps: ReturnType<typeof fakes>, now = 5_000) {
  return relayModule.createOutboxRelay({
    orders: deps.orders,
    publisher: deps.publisher,
    logger,
    now: () => now,
  }) as unknown as (
    event: { Records: DynamoDBRecord[] },
    context: Context,
  ) => Promise<{ batchItemFailures: { itemIdentifier: string }[] }>;
}

describe('outboxWrite', () => {
  it('names the order and version of a snapshot that left events to publish', () => {
    expect(outboxWrite(streamRecord('INSERT', snapshot()))).toEqual({
      orderId: 'o-1',
      version: 1,
    });
  });

  it.each([
    ['a removal', streamRecord('REMOVE', snapshot())],
    [
      'a snapshot with an empty outbox',
      streamRecord('MODIFY', snapshot({ outbox: [] })),
    ],
    [
      'a snapshot without outbox',
      streamRecord('MODIFY', snapshot({ outbox: undefined })),
    ],
    [
      'an event item',
      streamRecord('INSERT', { ...snapshot(), sk: 'EVENT#0000000001' }),
    ],
    ['a record without image', streamRecord('INSERT', undefined)],
  ])('ignores %s', (_, record) => {
    expect(outboxWrite(record)).toBeUndefined();
  });
});

describe('the outbox relay', () => {
  const stored = (extra: Partial<StoredOrder> = {}): StoredOrder => ({
    order,
    appliedEventIds: new Set([placed.eventId]),
    outbox: [placed],
    ...extra,
  });

  it('publishes what is still in the outbox, then clears it', async () => {
    // Prepare
    const deps = fakes(stored());

    // Act
    const response = await relay(deps)(
      { Records: [streamRecord('INSERT', snapshot())] },
      context,
    );

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(deps.calls).toEqual(['get', 'publish', 'clearOutbox']);
    expect(deps.published).toEqual([placed]);
  });

  it('publishes nothing when the API has published already', async () => {
    // Prepare
    const deps = fakes(stored({ outbox: [] }));

    // Act
    await relay(deps)(
      { Records: [streamRecord('INSERT', snapshot())] },
      context,
    );

    // Assess
    expect(deps.calls).toEqual(['get']);
  });

  it('leaves a record that is not the latest write to the later record', async () => {
    // Prepare: the order moved on to version 2 since this record.
    const deps = fakes(stored({ order: { ...order, version: 2 } }));

    // Act
    await relay(deps)(
      { Records: [streamRecord('INSERT', snapshot())] },
      context,
    );

    // Assess
    expect(deps.calls).toEqual(['get']);
  });

  it('waits (retries the record) while the API may still give its write up', async () => {
    // Prepare
    const settleBy = 5_000;
    const deps = fakes(
      stored({
        settlement: { settleBy, eventId: placed.eventId, fenced: false },
      }),
    );

    // Act: the relay's clock within the grace period.
    const response = await relay(deps, settleBy + SETTLE_GRACE_MS)(
      { Records: [streamRecord('INSERT', snapshot(), '7')] },
      context,
    );

    // Assess: nothing published, nothing voided; the mapping retries from '7'.
    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: '7' }] });
    expect(deps.calls).toEqual(['get']);
  });

  it('publishes an API write nobody gave up, once its grace period is over', async () => {
    // Prepare
    const settleBy = 5_000;
    const deps = fakes(
      stored({
        settlement: { settleBy, eventId: placed.eventId, fenced: false },
      }),
    );

    // Act
    await relay(deps, settleBy + SETTLE_GRACE_MS + 1)(
      { Records: [streamRecord('INSERT', snapshot())] },
      context,
    );

    // Assess
    expect(deps.calls).toEqual(['get', 'publish', 'clearOutbox']);
  });

  it('waits for a fence that a frozen store applies just after the write it fences', async () => {
    // Prepare: the store applied the write long after settleBy (it was frozen); the
    // API's fence, buffered with it, has not landed yet.
    const settleBy = 5_000;
    const appliedAt = 60_000;
    const deps = fakes(
      stored({
        settlement: { settleBy, eventId: placed.eventId, fenced: false },
      }),
    );
    const record = streamRecord('INSERT', snapshot(), '7', appliedAt / 1000);

    // Act: right after the write was applied, then once its fence had time to land.
    const early = await relay(deps, appliedAt + 500)(
      { Records: [record] },
      context,
    );
    const callsEarly = [...deps.calls];
    await relay(deps, appliedAt + FENCE_ARRIVAL_GRACE_MS + 1)(
      { Records: [record] },
      context,
    );

    // Assess: nothing published while the fence may still come; published after.
    expect(early).toEqual({ batchItemFailures: [{ itemIdentifier: '7' }] });
    expect(callsEarly).toEqual(['get']);
    expect(deps.calls).toEqual(['get', 'get', 'publish', 'clearOutbox']);
  });

  it('voids an API write the API gave up (fenced) at once, publishing nothing', async () => {
    // Prepare: well within the grace period.
    const deps = fakes(
      stored({
        settlement: { settleBy: 5_000, eventId: placed.eventId, fenced: true },
      }),
    );

    // Act
    const response = await relay(deps, 1_000)(
      { Records: [streamRecord('INSERT', snapshot())] },
      context,
    );

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(deps.calls).toEqual(['get', 'voidWrite']);
    expect(deps.published).toEqual([]);
  });

  it('stops at the first record that fails, so that the rest come again in order', async () => {
    // Prepare
    const deps = fakes(stored());
    deps.publisher.publish = async () => {
      throw new Error('broker down');
    };

    // Act
    const response = await relay(deps)(
      {
        Records: [
          streamRecord('INSERT', snapshot(), '1'),
          streamRecord('MODIFY', snapshot(), '2'),
        ],
      },
      context,
    );

    // Assess
    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: '1' }] });
    expect(deps.calls).toEqual(['get']);
  });
});

describe('the outbox relay, on a batch of several orders', () => {
  it('publishes every outbox up to a write that is not settled, in one publish, and retries from there', async () => {
    // Prepare: orders a, b and d past their grace period, c within its own.
    const event = (orderId: string) => ({
      ...placed,
      eventId: `e-${orderId}`,
      data: { ...placed.data, orderId },
    });
    const stored = (orderId: string, settleBy = 0): StoredOrder => ({
      order: { ...order, orderId },
      appliedEventIds: new Set(),
      outbox: [event(orderId)],
      settlement: { settleBy, eventId: `e-${orderId}`, fenced: false },
    });
    const state = new Map([
      ['a', stored('a')],
      ['b', stored('b')],
      ['c', stored('c', 5_000)],
      ['d', stored('d')],
    ]);
    const publishes: string[][] = [];
    const cleared: string[] = [];
    const orders = {
      get: async (id: string) => state.get(id),
      clearOutbox: async (id: string) => {
        cleared.push(id);
        return true;
      },
    } as unknown as OrderRepository;
    const publisher = {
      publish: async (events: readonly { eventId: string }[]) => {
        publishes.push(events.map((e) => e.eventId));
      },
    } as unknown as EventPublisher;
    const handler = relayModule.createOutboxRelay({
      orders,
      publisher,
      logger,
      now: () => 5_000,
    }) as unknown as (
      event: { Records: DynamoDBRecord[] },
      context: Context,
    ) => Promise<unknown>;
    const record = (orderId: string, sequence: string) =>
      streamRecord(
        'INSERT',
        { ...snapshot(), pk: `ORDER#${orderId}`, orderId },
        sequence,
      );

    // Act
    const response = await handler(
      {
        Records: [
          record('a', '1'),
          record('b', '2'),
          record('c', '3'),
          record('d', '4'),
        ],
      },
      context,
    );

    // Assess
    expect(publishes).toEqual([['e-a', 'e-b']]);
    expect(cleared.sort()).toEqual(['a', 'b']);
    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: '3' }] });
  });
});

describe('the outbox relay while Kafka is down', () => {
  it('publishes again inside the invocation, and succeeds once Kafka is back', async () => {
    // Prepare: Kafka refuses the first publish.
    const { KafkaUnavailableError } = await import(
      '#commons/kafka-publisher.ts'
    );
    const deps = fakes({
      order,
      appliedEventIds: new Set([placed.eventId]),
      outbox: [placed],
    });
    let tries = 0;
    deps.publisher.publish = async () => {
      tries += 1;
      if (tries === 1) throw new KafkaUnavailableError('broker not connected');
    };

    // Act
    const response = await relay(deps)(
      { Records: [streamRecord('INSERT', snapshot())] },
      context,
    );

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(tries).toBe(2);
  });

  it('hands the record back to the mapping when the invocation has no time to wait', async () => {
    // Prepare
    const { KafkaUnavailableError } = await import(
      '#commons/kafka-publisher.ts'
    );
    const deps = fakes({
      order,
      appliedEventIds: new Set([placed.eventId]),
      outbox: [placed],
    });
    let tries = 0;
    deps.publisher.publish = async () => {
      tries += 1;
      throw new KafkaUnavailableError('broker not connected');
    };

    // Act
    const response = await relay(deps)(
      { Records: [streamRecord('INSERT', snapshot(), '9')] },
      { getRemainingTimeInMillis: () => 3_000 } as Context,
    );

    // Assess
    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: '9' }] });
    expect(tries).toBe(1);
  });
});
