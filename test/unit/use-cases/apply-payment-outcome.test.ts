/**
 * The order function's fold as a use case on its own, over in-memory ports
 * (test/unit/memory-stores.ts): what it writes and publishes for an outcome, a
 * redelivery, and an order that keeps changing under it. Before the use case was
 * its own module, this was reachable only through the Kafka handler and a real
 * store (test/integration/handlers.test.ts).
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { describe, expect, it } from 'vitest';
import { OrderVersionConflictError } from '#commons/order-repository.ts';
import type { OrphanPaymentRepository } from '#commons/orphan-payment-repository.ts';
import { newEvent, type PaymentProcessed } from '#domain/events.ts';
import { placeOrder } from '#domain/order.ts';
import { applyPaymentOutcome } from '../../../functions/use-cases/apply-payment-outcome.ts';
import type { RecordOutlet } from '../../../functions/use-cases/record-outlet.ts';
import { validOrderRequest } from '../../http-arbitraries.ts';
import { fixedClock } from '../domain/fixtures.ts';
import { MemoryOrders, MemoryPublisher } from '../memory-stores.ts';

/** Orphans are not reached here: every order below exists. */
const noOrphans = new Proxy({} as OrphanPaymentRepository, {
  get: (_, name) => () => {
    throw new Error(`orphans.${String(name)} called for an existing order`);
  },
});

/** The record's outlet: silent logs; the fold publishes through its publisher. */
const record: RecordOutlet = {
  debug: () => {},
  logger: new Logger({ logLevel: 'SILENT' }),
  publishWithBatch: () => {
    throw new Error('the fold publishes through its publisher');
  },
};

/** An order stored as the API leaves it once published: PENDING, outbox empty. */
async function storedOrder(orders: MemoryOrders) {
  const { order, event } = placeOrder(
    validOrderRequest('o-1') as never,
    { correlationId: 'c-1', causationId: null },
    fixedClock(),
  );
  await orders.create(order, event);
  await orders.clearOutbox(order.orderId);
  orders.writes = 0;
  return order;
}

/** The payment's outcome, with an event id of its own (not the order's). */
function processed(order: {
  orderId: string;
  total: PaymentProcessed['data']['amount'];
}): PaymentProcessed {
  const clock = {
    ...fixedClock(),
    uuid: () => '00000000-0000-4000-8000-0000000000aa',
  };
  return newEvent(
    'PaymentProcessed',
    {
      orderId: order.orderId,
      paymentId: 'p-1',
      transactionId: 't-1',
      amount: order.total,
    },
    { correlationId: 'c-1', causationId: null },
    clock,
  );
}

function setup(orders = new MemoryOrders()) {
  const publisher = new MemoryPublisher();
  const ports = {
    orders,
    orphans: noOrphans,
    publisher,
    clock: fixedClock('2025-01-01T00:01:00.000Z'),
  };
  return { orders, publisher, ports };
}

describe('applyPaymentOutcome', () => {
  it('makes a PENDING order PAID, publishes its ShippingRequested and clears the outbox', async () => {
    // Prepare
    const { orders, publisher, ports } = setup();
    const order = await storedOrder(orders);

    // Act
    await applyPaymentOutcome(ports, { outcome: processed(order), record });

    // Assess
    const found = await orders.get('o-1');
    expect(found?.order).toMatchObject({ status: 'PAID', version: 2 });
    expect(publisher.published.map((e) => e.eventType)).toEqual([
      'ShippingRequested',
    ]);
    expect(found?.outbox).toEqual([]);
  });

  it('writes nothing and publishes nothing again for a redelivered outcome', async () => {
    // Prepare: the outcome was folded and its ShippingRequested published.
    const { orders, publisher, ports } = setup();
    const outcome = processed(await storedOrder(orders));
    await applyPaymentOutcome(ports, { outcome, record });
    const writes = orders.writes;

    // Act
    await applyPaymentOutcome(ports, { outcome, record });

    // Assess
    expect(orders.writes).toBe(writes);
    expect(publisher.published).toHaveLength(1);
  });

  it('reads again on a version conflict, and gives up as transient after 5', async () => {
    // Prepare: every write loses the race.
    class ConflictingOrders extends MemoryOrders {
      reads = 0;
      override async get(orderId: string) {
        this.reads += 1;
        return super.get(orderId);
      }
      override async append(): Promise<never> {
        throw new OrderVersionConflictError('someone else wrote first');
      }
    }
    const { orders, publisher, ports } = setup(new ConflictingOrders());
    const order = await storedOrder(orders);

    // Act
    const folding = applyPaymentOutcome(ports, {
      outcome: processed(order),
      record,
    });

    // Assess
    await expect(folding).rejects.toThrow(
      'order o-1 kept changing under 5 attempts',
    );
    expect((orders as ConflictingOrders).reads).toBe(5);
    expect(publisher.published).toEqual([]);
  });
});
