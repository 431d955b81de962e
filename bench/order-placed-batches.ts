/**
 * The benchmark's ESM events: batches of OrderPlaced records of distinct orders,
 * spread over the partitions, as Amazon MSK hands them to a function.
 */
import { randomUUID } from 'node:crypto';
import type { MskEvent, MskRecord } from '#commons/msk-event.ts';
import { type Clock, TOPICS } from '#domain/events.ts';
import { placeOrder } from '#domain/order.ts';

/** The wall clock, with random UUIDs. */
export const clock: Clock = { now: () => new Date(), uuid: randomUUID };

function orderPlaced(orderId: string) {
  return placeOrder(
    {
      orderId,
      customerId: 'cust-42',
      currency: 'EUR',
      items: [{ productId: 'sku-1', quantity: 2, unitPrice: 1999 }],
      shippingAddress: {
        street: 'Hauptstr. 1',
        city: 'Berlin',
        postalCode: '10115',
        country: 'DE',
      },
    },
    { correlationId: randomUUID(), causationId: null },
    clock,
  ).event;
}

/** One ESM event: `count` OrderPlaced of distinct orders over the partitions. */
export function batchOf(
  orderIds: readonly string[],
  partitions: number,
): MskEvent {
  const records: Record<string, MskRecord[]> = {};
  orderIds.forEach((orderId, index) => {
    const event = orderPlaced(orderId);
    const partition = index % partitions;
    const id = `${TOPICS.orderPlaced}-${partition}`;
    const list = records[id] ?? [];
    records[id] = list;
    list.push({
      topic: TOPICS.orderPlaced,
      partition,
      offset: list.length,
      timestamp: Date.now(),
      timestampType: 'CREATE_TIME',
      key: Buffer.from(orderId).toString('base64'),
      value: Buffer.from(JSON.stringify(event)).toString('base64'),
      headers: [
        {
          'correlation-id': [...Buffer.from(event.correlationId)],
        },
      ],
    });
  });
  return {
    eventSource: 'aws:kafka',
    eventSourceArn: 'arn:aws:kafka:us-east-1:111122223333:cluster/c/1',
    bootstrapServers: 'b-1:9092',
    records,
  };
}

/** `count` order ids of their own. */
export const ids = (count: number) =>
  Array.from({ length: count }, () => `bench-${randomUUID()}`);
